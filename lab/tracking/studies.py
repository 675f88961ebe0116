"""Record an Optuna study in MLflow: a parent run per study, a child run per trial.

What is written:

* experiment ``{project}.studies`` (project from ``$LAB_PROJECT``, default ``"lab"``);
* parent run ``study <name>`` with tags ``lab.kind=study``, ``lab.study_name``,
  ``strategy``, ``symbol``, ``timeframe``, ``objectives``, ``directions``, ``source``,
  ``git_commit``, ``storage``; params ``sampler``, ``min_trades``, ``start``, ``end``,
  ``levels`` and the base config as ``x.<field>``; metrics ``trials``, ``complete``,
  ``pruned``, ``feasible``, ``best_<objective>``; artifacts ``trials.csv``,
  ``trials.parquet`` and ``best.csv``;
* one child run per trial ``trial <number>`` (tag ``mlflow.parentRunId``, ``lab.kind=
  trial``, ``lab.study_name``, ``lab.trial``, ``state``, ``feasible``) with the sampled
  values as params (``p.<name>``), the objective values as ``value_<objective>`` and the
  full-period metrics (``sharpe``, ``trades``, ...) as metrics.

The study is duck-typed (``lab.research.optimize.StudyResult``: ``study_name``,
``storage``, ``objectives``, ``directions``, ``trials``, ``best``, ``attrs``):
``lab.tracking`` sits below ``lab.research`` and does not import it.
"""

from __future__ import annotations

import json
import math
import time

from lab.core.urls import redact
from lab.tracking import store
from lab.tracking.runs import (PARAM_MAX, TrackingOutcome, common_tags, flatten, log_batches,
                               metric_value, open_run,
                               project_name)

#: Metrics copied from a trial row to its child run, when present.
TRIAL_METRICS = ("total_return", "cagr", "volatility", "sharpe", "sortino", "calmar",
                 "max_drawdown", "exposure", "trades", "win_rate", "profit_factor",
                 "fees", "liquidations", "duration_s")


def track_study(study_result, *, tracking_uri: str | None = None,
                project: str | None = None, source: str = "app",
                max_children: int = 1000) -> TrackingOutcome:
    """Record a study as a parent MLflow run with one child run per trial. Never raises.

    Parameters
    ----------
    study_result : lab.research.optimize.StudyResult
    tracking_uri : str, optional
        Store URI (default ``lab.tracking.tracking_uri()``).
    project : str, optional
        First part of the experiment name.
    source : str
        ``"app"``, ``"cli"``, ``"job"``...
    max_children : int
        At most this many child runs (the first trials by number).

    Returns
    -------
    TrackingOutcome
        ``recorded=False`` with ``error`` when the store cannot be written.
    """
    uri = store.adopt_credentials(tracking_uri or store.tracking_uri())
    exp_name = f"{project_name(project)}.studies"
    run_id = None
    try:
        from mlflow.entities import Metric, Param, RunTag

        r = study_result
        a = dict(r.attrs or {})
        c, exp_id = store.open_experiment(uri, exp_name)
        tags = {"lab.kind": "study", "lab.study_name": str(r.study_name),
                "strategy": str(a.get("strategy")), "symbol": str(a.get("symbol")),
                "timeframe": str(a.get("timeframe")),
                "objectives": ",".join(r.objectives), "directions": ",".join(r.directions),
                "storage": redact(r.storage)[:PARAM_MAX], **common_tags(source, project)}
        with open_run(c, exp_id, tags, f"study {r.study_name}") as (run_id, folder):
            trials = r.trials
            now = int(time.time() * 1000)
            state = trials["state"] if len(trials) else trials.get("state", [])
            values = {"trials": len(trials),
                      "complete": int((state == "COMPLETE").sum()) if len(trials) else 0,
                      "pruned": int((state == "PRUNED").sum()) if len(trials) else 0,
                      "feasible": int(trials["feasible"].astype(bool).sum())
                      if len(trials) else 0}
            for o in r.objectives:
                if len(r.best) and f"value_{o}" in r.best:
                    values[f"best_{o}"] = r.best[f"value_{o}"].iloc[0]
            params = {"sampler": a.get("sampler"), "min_trades": a.get("min_trades"),
                      "start": a.get("start"), "end": a.get("end"),
                      "levels": json.dumps(a.get("levels", {}), sort_keys=True),
                      "asset_class": a.get("asset_class")}
            params.update({f"x.{k}": v for k, v in flatten(a.get("config") or {}).items()})
            log_batches(c, run_id, [Metric(k, v, now, 0) for k, raw in values.items()
                                    if (v := metric_value(raw)) is not None],
                        [Param(k, str(v)[:PARAM_MAX]) for k, v in sorted(params.items())])
            trials.to_csv(folder / "trials.csv", index=False)
            trials.to_parquet(folder / "trials.parquet", index=False)
            r.best.to_csv(folder / "best.csv", index=False)
    except Exception as exc:        # noqa: BLE001 - tracking never breaks research
        return TrackingOutcome(False, run_id, exp_name, uri,
                               error=f"{type(exc).__name__}: {exc}".strip())
    children, errors = [], []
    for row in r.trials.head(int(max_children)).to_dict("records"):
        try:
            ctags = {"mlflow.parentRunId": run_id, "lab.kind": "trial",
                     "lab.study_name": str(r.study_name), "lab.trial": str(row["number"]),
                     "state": str(row["state"]), "feasible": str(bool(row.get("feasible"))),
                     "strategy": str(a.get("strategy")), "symbol": str(a.get("symbol")),
                     "timeframe": str(a.get("timeframe")), "source": source}
            child = c.create_run(exp_id, tags=ctags, run_name=f"trial {row['number']}")
            cid = child.info.run_id
            now = int(time.time() * 1000)
            ps = [Param(f"p.{k[6:]}", str(v)[:PARAM_MAX]) for k, v in row.items()
                  if k.startswith("param_") and not _missing(v)]
            ps.append(Param("params", str(row.get("params", "{}"))[:PARAM_MAX]))
            ms = [Metric(k, v, now, 0) for k in
                  [f"value_{o}" for o in r.objectives] + list(TRIAL_METRICS)
                  if (v := metric_value(row.get(k))) is not None]
            c.log_batch(cid, metrics=ms, params=ps, tags=[RunTag("lab.parent_study", run_id)])
            c.set_terminated(cid, status="FINISHED")
            children.append(cid)
        except Exception as exc:    # noqa: BLE001
            errors.append(f"trial {row.get('number')}: {type(exc).__name__}: {exc}")
    return TrackingOutcome(True, run_id, exp_name, uri, error="; ".join(errors[:5]) or None,
                           children=tuple(children))


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
