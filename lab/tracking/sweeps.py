"""Record a sweep in MLflow: a parent run for the sweep, child runs for its best rows.

What is written (names are the contract a reader can rely on):

* experiment ``{project}.sweeps`` (project from ``$LAB_PROJECT``, default ``"lab"``);
* parent run ``sweep <sweep_id>`` with tags ``lab.kind=sweep``, ``lab.sweep_id``,
  ``strategies``, ``symbols`` (``SYM@tf`` comma separated), ``engine``, ``source``,
  ``git_commit``, ``spec_json`` (exact JSON of the spec, when short enough for a tag);
  params: the spec (``strategies``, ``symbols``, ``sl``, ``tp``, ``leverage``,
  ``start``, ``end``, ``engine``, ``min_trades``, ``grid.<strategy>.<param>``, and the
  base config as ``x.<field>``); metrics ``trials``, ``ranked``,
  ``excluded_min_trades``, ``best_sharpe``, ``best_dsr``, ``best_total_return``;
  artifacts ``leaderboard.parquet``, ``leaderboard.csv``, ``results.parquet`` (every
  row of the sweep), ``spec.json`` and ``trials_summary.csv`` (when given);
* one child run per top row, recorded by ``track_backtest`` (its usual experiment
  ``{project}.{asset_class}.{family}.{strategy}``, source ``sweep``) with tag
  ``mlflow.parentRunId`` = the parent's id, tags ``lab.sweep_id`` and
  ``lab.sweep_rank``, and metrics ``dsr`` and ``stability`` from the board.

The top rows are recomputed in full (equity and trades) by the ``recompute`` function
the caller passes (``lab.research.sweep.recompute``): ``lab.tracking`` sits below
``lab.research`` and does not import it.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from lab.core.ids import dataset_id
from lab.core.paths import data_root
from lab.tracking import store
from lab.tracking.backtests import track_backtest
from lab.tracking.runs import (PARAM_MAX, TrackingOutcome, common_tags, flatten, log_batches,
                               metric_value, open_run, project_name)



def _spec_params(spec: Mapping[str, Any]) -> dict[str, str]:
    def levels(values) -> str:
        return ",".join("off" if v is None else f"{v:g}" for v in values)

    out = {"strategies": ",".join(spec["strategies"]),
           "symbols": ",".join(dataset_id(s, tf) for s, tf in spec["symbols"]),
           "sl": levels(spec.get("sl", [None])), "tp": levels(spec.get("tp", [None])),
           "leverage": levels(spec.get("leverage", [1.0])),
           "start": str(spec.get("start")), "end": str(spec.get("end")),
           "engine": str(spec.get("engine")), "min_trades": str(spec.get("min_trades"))}
    for strategy, grid in (spec.get("grids") or {}).items():
        for name, values in grid.items():
            out[f"grid.{strategy}.{name}"] = ",".join(f"{v:g}" for v in values)
    out.update({f"x.{k}": str(v) for k, v in flatten(spec.get("config") or {}).items()})
    return {k: v[:PARAM_MAX] for k, v in out.items()}


def _asset_class(symbol: str, given: Mapping[str, str] | None) -> str:
    if given and symbol in given:
        return str(given[symbol])
    try:
        from lab.data import Catalog

        ac = Catalog(data_root()).asset_class(symbol)
        return str(getattr(ac, "value", ac))
    except Exception:               # noqa: BLE001 - only names the experiment
        return "unknown"


def _family(strategy: str) -> str:
    try:
        from lab.core import registry

        return registry.get(strategy).family
    except Exception:               # noqa: BLE001
        return "unknown"


def track_sweep(sweep_result, board: pd.DataFrame, *, top_n: int = 5,
                tracking_uri: str | None = None,
                recompute: Callable[[Any, Mapping[str, Any]], Any] | None = None,
                asset_classes: Mapping[str, str] | None = None,
                trials: pd.DataFrame | None = None, project: str | None = None,
                source: str = "app",
                write_tables: Callable[[Path], None] | None = None) -> TrackingOutcome:
    """Record a sweep as a parent MLflow run and its ``top_n`` best rows as children.
    Never raises.

    Parameters
    ----------
    sweep_result : lab.research.sweep.SweepResult
        Uses ``id``, ``spec`` (``to_dict()``) and ``results``.
    board : DataFrame
        ``lab.research.sweep.leaderboard.leaderboard(sweep_result.results, ...)``, best first.
    top_n : int
        Child runs to record (0 = the parent only).
    tracking_uri : str, optional
        Store URI (default ``lab.tracking.tracking_uri()``).
    recompute : callable, optional
        ``recompute(sweep_result, row) -> BacktestResult``
        (``lab.research.sweep.recompute``). Without it no child is recorded.
    asset_classes : mapping of symbol to asset class, optional
        For the children's experiment names; default read from the catalog of
        ``$LAB_DATA_DIR``.
    trials : DataFrame, optional
        ``lab.research.sweep.leaderboard.trials_summary(results)``, stored as
        ``trials_summary.csv``.
    project : str, optional
        First part of the experiment names (default ``$LAB_PROJECT`` or ``"lab"``).
    source : str
        ``"app"``, ``"cli"``...
    write_tables : callable, optional
        ``write_tables(folder)`` writes ``leaderboard.parquet``, ``leaderboard.csv``
        (every ranked row) and ``results.parquet`` (every row) into the run's artifact
        folder, e.g. batch by batch from the stored chunks
        (``lab.research.sweep.streamed.write_artifacts``); then ``board`` may hold only
        the top rows, with the ``attrs`` of a leaderboard (``trials``,
        ``excluded_min_trades``). Default: ``board`` and ``sweep_result.results`` are
        written as they are.

    Returns
    -------
    TrackingOutcome
        ``recorded=False`` with ``error`` when the store is unreachable or the parent
        failed (a parent created before the failure is marked FAILED).
    """
    uri = store.adopt_credentials(tracking_uri or store.tracking_uri())
    exp_name = f"{project_name(project)}.sweeps"
    run_id = None
    try:
        spec = sweep_result.spec.to_dict()
        c, exp_id = store.open_experiment(uri, exp_name)
        spec_json = json.dumps(spec, sort_keys=True)
        tags = {"lab.kind": "sweep", "lab.sweep_id": str(sweep_result.id),
                "strategies": ",".join(spec["strategies"]),
                "symbols": ",".join(dataset_id(s, tf) for s, tf in spec["symbols"]),
                "engine": str(spec.get("engine")), **common_tags(source, project)}
        if len(spec_json) < 5000:
            tags["spec_json"] = spec_json
        with open_run(c, exp_id, tags, f"sweep {sweep_result.id}") as (run_id, folder):
            _log_parent(c, run_id, sweep_result, board, spec, trials, folder,
                        write_tables)
    except Exception as exc:        # noqa: BLE001 - tracking never breaks research
        return TrackingOutcome(False, run_id, exp_name, uri,
                                    f"{type(exc).__name__}: {exc}".strip())
    children, errors = [], []
    if recompute is None and top_n > 0:
        errors.append("children skipped: no recompute function given")
    elif top_n > 0:
        for rank, row in enumerate(board.head(int(top_n)).to_dict("records"), start=1):
            outcome = _track_child(c, sweep_result, row, rank, recompute, uri, run_id,
                                   asset_classes, project, source)
            children.append(outcome)
            if outcome.error:
                errors.append(f"row {rank}: {outcome.error}")
    return TrackingOutcome(True, run_id, exp_name, uri,
                                "; ".join(errors) or None, tuple(children))


def _track_child(c, sweep_result, row, rank, recompute, uri, parent_id, asset_classes,
                 project, source) -> TrackingOutcome:
    try:
        result = recompute(sweep_result, row)
    except Exception as exc:        # noqa: BLE001
        return TrackingOutcome(False, error=f"recompute failed: {type(exc).__name__}: {exc}")
    outcome = track_backtest(result, asset_class=_asset_class(str(row["symbol"]),
                                                              asset_classes),
                             family=_family(str(row["strategy"])), source="sweep",
                             project=project, tracking_uri=uri, parent_run_id=parent_id)
    if outcome.run_id:
        try:
            from mlflow.entities import Metric, RunTag

            now = int(time.time() * 1000)
            metrics = [Metric(k, v, now, 0) for k in ("dsr", "stability", "psr")
                       if (v := metric_value(row.get(k))) is not None]
            c.log_batch(outcome.run_id, metrics=metrics,
                        tags=[RunTag("lab.sweep_id", str(sweep_result.id)),
                              RunTag("lab.sweep_rank", str(row.get("rank", rank)))])
        except Exception as exc:    # noqa: BLE001
            return TrackingOutcome(outcome.recorded, outcome.run_id, outcome.experiment,
                                   outcome.uri, f"sweep tags not written: {exc}")
    return outcome


def _log_parent(c, run_id: str, sweep_result, board: pd.DataFrame, spec: dict,
                trials: pd.DataFrame | None, folder: Path, write_tables=None) -> None:
    from mlflow.entities import Metric, Param

    if "trials" in board.attrs:
        n_trials = int(board.attrs["trials"])
        excluded = int(board.attrs.get("excluded_min_trades", 0))
    else:
        n_trials = len(sweep_result.results)
        excluded = n_trials - len(board)
    now = int(time.time() * 1000)
    values = {"trials": n_trials, "ranked": n_trials - excluded,
              "excluded_min_trades": excluded,
              "best_sharpe": board["sharpe"].max() if len(board) else math.nan,
              "best_dsr": board["dsr"].max() if "dsr" in board and len(board) else math.nan,
              "best_total_return": board["total_return"].max() if len(board) else math.nan}
    metrics = [Metric(k, v, now, 0) for k, raw in values.items()
               if (v := metric_value(raw)) is not None]
    params = [Param(k, v) for k, v in sorted(_spec_params(spec).items())]
    log_batches(c, run_id, metrics, params)
    if write_tables is not None:
        write_tables(folder)
    else:
        board.to_parquet(folder / "leaderboard.parquet", index=False)
        board.to_csv(folder / "leaderboard.csv", index=False)
        sweep_result.results.to_parquet(folder / "results.parquet", index=False)
    if trials is not None:
        trials.to_csv(folder / "trials_summary.csv", index=False)
    (folder / "spec.json").write_text(json.dumps(spec, indent=2, sort_keys=True))
