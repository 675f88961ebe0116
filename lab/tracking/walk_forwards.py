"""Record a walk-forward in MLflow: a parent run per walk-forward, a child run per strategy.

What is written (names are the contract a reader can rely on):

* experiment ``{project}.walkforward`` (project from ``$LAB_PROJECT``, default ``"lab"``);
* parent run ``walk-forward <wf_id>`` with tags ``lab.kind=walkforward``,
  ``lab.wf_id``, ``symbol``, ``timeframe``, ``strategies`` (comma separated, best
  first), ``best_strategy``, ``mode`` (``rolling`` / ``anchored``), ``select``
  (``grid`` / ``optuna``), ``objective``, ``source``, ``project``, ``git_commit``,
  ``git_dirty``;
  params: ``mode``, ``select``, ``objective``, ``min_trades``, ``compound``,
  ``asset_class``, ``timeframe``, ``symbol``, ``periods_per_year``, ``n_windows``,
  ``train_bars`` / ``test_bars`` (of the first window, bars), ``start`` (first train
  bar), ``oos_start`` / ``oos_end`` (first and last test bar; ISO 8601 UTC), the
  requested layout as ``window.<key>`` (``window.train_fraction``...) when given, the
  grids as ``grid.<strategy>.<param>``, the execution levels chosen from as
  ``levels.sl`` / ``levels.tp`` (fractions of the entry price, ``none`` = off) and
  ``levels.leverage`` (comma separated), any ``extra_params`` as given, and the base
  execution config as ``x.<field>``;
  metrics: ``strategies``, ``n_windows``, the summary of the best strategy (rank 1)
  under plain names and every strategy's under ``<strategy>.<metric>`` (with
  ``<strategy>.rank``);
  artifacts ``summary.csv`` and ``summary.parquet`` (the leaderboard), ``windows.csv``
  and ``windows.parquet`` (one row per strategy and window), ``oos_equity.parquet``
  (stitched OOS equity, one column per strategy), ``in_sample_equity.parquet`` (the
  in-sample reference) and ``meta.json`` (the inputs). The equity is not called
  ``equity.parquet``: that name holds one backtest's curve (``load_equity``);
* one child run per strategy ``<strategy>`` (tag ``mlflow.parentRunId``, ``lab.kind=
  walkforward_strategy``, ``lab.wf_id``, ``strategy``, ``lab.rank``) with that
  strategy's summary as metrics, its per-window figures as metric histories
  ``window.<metric>`` (step = window number), params: the set chosen on its last window
  as ``p.<name>`` (and as JSON in ``last_window_params``) with its levels ``p.sl``,
  ``p.tp`` (fractions, ``none`` = off) and ``p.leverage`` (absent when the last window
  chose nothing), ``windows_chosen`` (windows with an eligible candidate) and its grid
  as ``grid.<param>``; artifacts ``windows.csv`` (its rows), ``params.csv`` (the chosen
  parameters and levels per window) and ``equity.parquet``
  (``equity``: its stitched OOS equity, account currency; ``drawdown``: fraction <= 0;
  as a backtest's, so the Runs page can compare it).

Units (as in ``WalkForwardResult.summary``): ``oos_sharpe`` / ``is_sharpe`` are means of
annualized Sharpe ratios; ``consistency`` is the share of profitable test windows
(fraction 0..1); ``sharpe_decay`` is ``1 - OOS / IS`` Sharpe (fraction); ``wfe`` is the
ratio of mean OOS to mean IS CAGR; ``oos_return``, ``oos_cagr``, ``is_cagr`` and
``oos_max_drawdown`` (<= 0) are fractions; ``oos_trades``, ``windows`` and
``windows_traded`` are counts. NaN (e.g. ``wfe`` when the IS CAGR is not positive) is
not logged; +/-inf is logged as +/-``INF_SENTINEL``.

The result is duck-typed (``lab.research.walk_forward.WalkForwardResult``: ``summary``,
``windows``, ``equity``, ``in_sample``, ``meta``): ``lab.tracking`` sits below
``lab.research`` and does not import it.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Mapping

from lab.tracking import store
from lab.tracking.runs import (PARAM_MAX, TrackingOutcome, common_tags, flatten, log_batches,
                               metric_value, open_run,
                               project_name)

#: Summary columns logged as metrics (all but ``rank`` and ``strategy``).
SUMMARY_METRICS = ("oos_sharpe", "consistency", "oos_return", "is_sharpe", "sharpe_decay",
                   "wfe", "oos_cagr", "is_cagr", "oos_max_drawdown", "oos_trades",
                   "windows", "windows_traded")
#: Per-window columns logged on a child run as ``window.<name>`` histories.
WINDOW_HISTORY = ("is_sharpe", "oos_sharpe", "oos_total_return", "oos_max_drawdown",
                  "oos_trades")
#: Execution levels a walk-forward chooses (``meta["levels"]``, ``param_<name>``).
LEVELS = ("sl", "tp", "leverage")
#: Keys of a requested window layout (``walk_forward_windows`` arguments).
WINDOW_KEYS = ("n_windows", "train_fraction", "train_bars", "test_bars", "anchored")


def window_mode(windows: list[Mapping[str, int]], anchored: bool | None = None) -> str:
    """``"anchored"`` or ``"rolling"``: ``anchored`` when given, else read from the
    window positions (``meta["windows"]``: anchored when every train window starts at
    the same bar and there are at least two)."""
    if anchored is not None:
        return "anchored" if anchored else "rolling"
    starts = {int(w["train_start"]) for w in windows}
    return "anchored" if len(windows) > 1 and len(starts) == 1 else "rolling"


def _level(v: Any) -> str:
    """A level as logged: ``"none"`` for off (None / NaN), else ``f"{v:g}"``."""
    return "none" if v is None or v != v else f"{float(v):g}"


def _iso(v: Any) -> str:
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _metric_name(name: str) -> str:
    """MLflow allows letters, digits, ``_ - . / `` and space in metric names."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", str(name))


def _parent_params(r, spec: Mapping[str, Any], extra: Mapping[str, Any],
                   mode: str) -> dict[str, Any]:
    m = r.meta
    ws = list(m.get("windows") or [])
    params: dict[str, Any] = {
        "mode": mode, "select": m.get("select"), "objective": m.get("objective"),
        "min_trades": m.get("min_trades"), "compound": m.get("compound"),
        "asset_class": m.get("asset_class"), "timeframe": m.get("timeframe"),
        "symbol": m.get("symbol"), "periods_per_year": m.get("periods_per_year"),
        "n_windows": len(ws)}
    if ws:
        params["train_bars"] = ws[0]["train_stop"] - ws[0]["train_start"]
        params["test_bars"] = ws[0]["test_stop"] - ws[0]["test_start"]
    w = r.windows
    if len(w):
        params.update(start=_iso(w["train_start"].min()), oos_start=_iso(w["test_start"].min()),
                      oos_end=_iso(w["test_end"].max()))
    params.update({f"window.{k}": v for k, v in spec.items()
                   if k in WINDOW_KEYS and v is not None})
    for strategy, grid in (m.get("grids") or {}).items():
        for name, values in grid.items():
            params[f"grid.{strategy}.{name}"] = ",".join(f"{v:g}" for v in values)
    for name, values in (m.get("levels") or {}).items():
        params[f"levels.{name}"] = ",".join(_level(v) for v in values)
    params.update({k: v for k, v in extra.items() if v is not None})
    params.update({f"x.{k}": v for k, v in flatten(m.get("config") or {}).items()})
    return params


def _parent_metrics(r) -> dict[str, Any]:
    s = r.summary
    values: dict[str, Any] = {"strategies": len(s), "n_windows": len(r.meta.get("windows")
                                                                      or [])}
    if len(s):
        best = s.iloc[0]
        values.update({k: best[k] for k in SUMMARY_METRICS if k in s})
    for row in s.to_dict("records"):
        prefix = _metric_name(row["strategy"])
        values[f"{prefix}.rank"] = row.get("rank")
        values.update({f"{prefix}.{k}": row[k] for k in SUMMARY_METRICS if k in row})
    return values


def track_walk_forward(wf_result, *, wf_id: str | None = None,
                       window_spec: Mapping[str, Any] | None = None,
                       extra_params: Mapping[str, Any] | None = None,
                       tracking_uri: str | None = None, project: str | None = None,
                       source: str = "app",
                       max_children: int = 100) -> TrackingOutcome:
    """Record a walk-forward as a parent MLflow run with one child run per strategy.
    Never raises.

    Parameters
    ----------
    wf_result : lab.research.walk_forward.WalkForwardResult
        Uses ``summary`` (one row per strategy, best first), ``windows`` (one row per
        strategy and window), ``equity`` (stitched OOS equity, account currency, one
        column per strategy), ``in_sample`` and ``meta``.
    wf_id : str, optional
        Name of the walk-forward (``wf-YYYYmmdd-HHMMSS-xxxxxx``, the folder under
        ``<data>/walkforward/``); default ``wf-<UTC time>``.
    window_spec : mapping, optional
        The requested layout (``walk_forward_windows`` keywords: ``n_windows``,
        ``train_fraction`` (fraction 0..1), ``train_bars``, ``test_bars``,
        ``anchored``), logged as ``window.<key>``; ``anchored`` sets the ``mode``
        (otherwise read from the window positions).
    extra_params : mapping, optional
        More inputs to log as params under their own names (``n_trials``, ``seed``).
    tracking_uri : str, optional
        Store URI (default ``lab.tracking.tracking_uri()``).
    project : str, optional
        First part of the experiment name (default ``$LAB_PROJECT`` or ``"lab"``).
    source : str
        ``"app"``, ``"cli"``, ``"job"``...
    max_children : int
        At most this many child runs (the best strategies first).

    Returns
    -------
    TrackingOutcome
        ``recorded=False`` with ``error`` when the store is unreachable or the parent
        failed (a parent created before the failure is marked FAILED).
    """
    uri = store.adopt_credentials(tracking_uri or store.tracking_uri())
    exp_name = f"{project_name(project)}.walkforward"
    run_id = None
    try:
        from mlflow.entities import Metric, Param

        r = wf_result
        m = dict(r.meta or {})
        spec = dict(window_spec or {})
        wf_id = str(wf_id or m.get("wf_id") or
                    f"wf-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}")
        anchored = spec.get("anchored")
        mode = window_mode(list(m.get("windows") or []),
                           None if anchored is None else bool(anchored))
        strategies = [str(s) for s in r.summary["strategy"]]
        c, exp_id = store.open_experiment(uri, exp_name)
        tags = {"lab.kind": "walkforward", "lab.wf_id": wf_id,
                "symbol": str(m.get("symbol")), "timeframe": str(m.get("timeframe")),
                "strategies": ",".join(strategies)[:PARAM_MAX],
                "best_strategy": strategies[0] if strategies else "",
                "mode": mode, "select": str(m.get("select")),
                "objective": str(m.get("objective")), **common_tags(source, project)}
        with open_run(c, exp_id, tags, f"walk-forward {wf_id}") as (run_id, folder):
            now = int(time.time() * 1000)
            metrics = [Metric(k, v, now, 0) for k, raw in _parent_metrics(r).items()
                       if (v := metric_value(raw)) is not None]
            params = [Param(k, str(v)[:PARAM_MAX]) for k, v in
                      sorted(_parent_params(r, spec, dict(extra_params or {}), mode).items())]
            log_batches(c, run_id, metrics, params)
            r.summary.to_csv(folder / "summary.csv", index=False)
            r.windows.to_csv(folder / "windows.csv", index=False)
            r.summary.to_parquet(folder / "summary.parquet")
            r.windows.to_parquet(folder / "windows.parquet")
            r.equity.to_parquet(folder / "oos_equity.parquet")
            r.in_sample.to_parquet(folder / "in_sample_equity.parquet")
            (folder / "meta.json").write_text(json.dumps(m, indent=1, default=str))
    except Exception as exc:        # noqa: BLE001 - tracking never breaks research
        return TrackingOutcome(False, run_id, exp_name, uri,
                               error=f"{type(exc).__name__}: {exc}".strip())
    children, errors = [], []
    for row in r.summary.head(int(max_children)).to_dict("records"):
        try:
            children.append(_track_child(c, exp_id, run_id, r, row, wf_id, source))
        except Exception as exc:    # noqa: BLE001
            errors.append(f"{row.get('strategy')}: {type(exc).__name__}: {exc}")
    return TrackingOutcome(True, run_id, exp_name, uri, error="; ".join(errors[:5]) or None,
                           children=tuple(children))


def _track_child(c, exp_id: str, parent_id: str, r, row: Mapping[str, Any], wf_id: str,
                 source: str) -> str:
    """One strategy's child run; returns its id (raises on failure)."""
    from mlflow.entities import Metric, Param

    strategy = str(row["strategy"])
    m = r.meta
    tags = {"mlflow.parentRunId": parent_id, "lab.kind": "walkforward_strategy",
            "lab.wf_id": wf_id, "lab.rank": str(row.get("rank")), "strategy": strategy,
            "symbol": str(m.get("symbol")), "timeframe": str(m.get("timeframe")),
            "select": str(m.get("select")), "source": source}
    with open_run(c, exp_id, tags, strategy) as (cid, folder):
        g = r.windows[r.windows["strategy"] == strategy]
        levels = {f"param_{n}" for n in LEVELS}
        g = g.drop(columns=[k for k in g.columns          # other strategies' parameters
                            if k.startswith("param_") and k not in levels
                            and g[k].isna().all()])
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, 0) for k in ("rank", *SUMMARY_METRICS)
                   if (v := metric_value(row.get(k))) is not None]
        for w in g.to_dict("records"):
            metrics += [Metric(f"window.{k}", v, now, int(w["window"])) for k in WINDOW_HISTORY
                        if (v := metric_value(w.get(k))) is not None]
        chosen = g["params"].dropna()
        last = g["params"].iloc[-1] if len(g) else None
        params: dict[str, Any] = {f"p.{k}": v for k, v in
                                  (json.loads(last) if isinstance(last, str) else {}).items()}
        if isinstance(last, str):                      # the last window's levels
            params.update({f"p.{n}": _level(g[f"param_{n}"].iloc[-1]) for n in LEVELS
                           if f"param_{n}" in g})
        params["last_window_params"] = last
        params["windows_chosen"] = len(chosen)
        for name, values in ((m.get("grids") or {}).get(strategy) or {}).items():
            params[f"grid.{name}"] = ",".join(f"{v:g}" for v in values)
        log_batches(c, cid, metrics, [Param(k, str(v)[:PARAM_MAX])
                                       for k, v in sorted(params.items())])
        g.to_csv(folder / "windows.csv", index=False)
        cols = ["window", "train_start", "train_end", "test_start", "test_end",
                "eligible", "params"] + [k for k in g.columns if k.startswith("param_")]
        g[[k for k in cols if k in g]].to_csv(folder / "params.csv", index=False)
        if strategy in r.equity:
            eq = r.equity[strategy].rename("equity")
            eq.to_frame().assign(drawdown=eq / eq.cummax() - 1.0).to_parquet(
                folder / "equity.parquet")
    return cid
