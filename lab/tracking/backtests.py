"""Record one backtest as an MLflow run; never raises.

What a run holds (names are the contract the Runs page and ``lab.tracking.reader`` read):

* experiment ``{project}.{asset_class}.{family}.{strategy}``, project from
  ``$LAB_PROJECT`` (default ``"lab"``);
* params: strategy parameters as ``p.<name>`` and the flattened ``ExecutionConfig`` as
  ``x.<field>`` (``x.commission.rate``);
* tags: ``strategy``, ``family``, ``asset_class``, ``project``, ``symbol``,
  ``timeframe``, ``start``, ``end`` (ISO 8601 UTC), ``bars``, ``engine``,
  ``data_fingerprint``, ``periods_per_year``, ``git_commit``, ``git_dirty``,
  ``lab_version``, ``source``, ``config_json`` and ``params_json`` (exact JSON, so a
  run can be reopened as it ran), ``lab.pid`` / ``lab.host`` / ``lab.pid_start``;
* metrics: every finite number of ``result.metrics``. NaN (undefined ratios, e.g. a
  Sharpe without variance) is not logged; +/-inf (a profit factor without a losing
  trade) is logged as +/-``INF_SENTINEL`` (1e300), which the reader maps back to inf;
* artifacts: ``equity.parquet`` (equity, drawdown, position per bar),
  ``trades.parquet``, ``summary.json``, ``tearsheet.html`` when given, and
  ``figures/<name>.html`` per plotly figure (plotly.js from the CDN).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from lab.engines.result import BacktestResult
from lab.tracking import store
from lab.tracking.runs import (TrackingOutcome, common_tags, flatten, log_batches,
                               metric_value, open_run, plain_value, project_name)

#: Metrics the run listing shows as columns, in order.
MAIN_METRICS = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar",
                "trades", "win_rate", "profit_factor", "exposure", "final_equity")

def experiment_name(result: BacktestResult, asset_class: str, family: str,
                    project: str | None = None) -> str:
    """``{project}.{asset_class}.{family}.{strategy}`` (enum values as their value)."""
    parts = [project_name(project), plain_value(asset_class), plain_value(family),
             result.strategy or "unnamed"]
    return ".".join(str(p) for p in parts)


def run_tags(result: BacktestResult, *, asset_class: str, family: str, source: str,
             project: str) -> dict[str, str]:
    """Tags of a run (see the module docstring)."""
    import lab

    s = result.summary()
    tags = {
        "strategy": result.strategy or "unnamed", "family": plain_value(family),
        "asset_class": plain_value(asset_class),
        "symbol": result.symbol or "", "timeframe": result.timeframe or "",
        "start": s["start"] or "", "end": s["end"] or "", "bars": str(s["bars"]),
        "engine": result.engine, "data_fingerprint": result.fingerprint or "",
        "periods_per_year": f"{result.periods_per_year:g}",
        "lab_version": lab.__version__,
        "config_json": json.dumps(s["config"], sort_keys=True),
        "params_json": json.dumps(result.params, default=str),
    }
    tags.update(common_tags(source, project))
    return tags


def write_artifacts(folder: Path, result: BacktestResult,
                    figures: Mapping[str, Any] | None = None,
                    tearsheet_html: str | None = None) -> list[str]:
    """Write the run's artifact files into ``folder``; returns their relative paths.

    Figures are objects with ``to_html`` (plotly) or ready HTML strings.
    """
    written = []
    equity = pd.DataFrame({"equity": result.equity, "drawdown": result.drawdown,
                           "position": result.position})
    equity.to_parquet(folder / "equity.parquet")
    result.trades.to_parquet(folder / "trades.parquet", index=False)
    (folder / "summary.json").write_text(result.to_json(trades=False))
    written += ["equity.parquet", "trades.parquet", "summary.json"]
    if tearsheet_html:
        (folder / "tearsheet.html").write_text(tearsheet_html, encoding="utf-8")
        written.append("tearsheet.html")
    if figures:
        (folder / "figures").mkdir()
        for name, fig in figures.items():
            html = fig if isinstance(fig, str) else fig.to_html(include_plotlyjs="cdn",
                                                                  full_html=True)
            fname = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "figure"
            (folder / "figures" / f"{fname}.html").write_text(html, encoding="utf-8")
            written.append(f"figures/{fname}.html")
    return written


def track_backtest(result: BacktestResult, *, asset_class: str, family: str,
                   source: str = "cli", figures: Mapping[str, Any] | None = None,
                   tearsheet_html: str | None = None, project: str | None = None,
                   tracking_uri: str | None = None,
                   parent_run_id: str | None = None) -> TrackingOutcome:
    """Record ``result`` as one MLflow run. Never raises.

    Parameters
    ----------
    result : BacktestResult
        The backtest to record.
    asset_class : str or AssetClass
        ``equity``, ``index``, ``fx``, ``crypto`` or ``future``.
    family : str
        Strategy family (``StrategySpec.family``: ``trend``, ``mean_reversion``...).
    source : str
        Who recorded it: ``"cli"``, ``"app"``, ``"sweep"``...
    figures : mapping of str to plotly Figure (or HTML str), optional
        Stored as ``figures/<name>.html``.
    tearsheet_html : str, optional
        QuantStats tearsheet (``lab.metrics.tearsheet.tearsheet_html``).
    project : str, optional
        First part of the experiment name (default ``$LAB_PROJECT`` or ``"lab"``).
    tracking_uri : str, optional
        Store URI (default ``lab.tracking.tracking_uri()``).
    parent_run_id : str, optional
        Nest the run under this one (tag ``mlflow.parentRunId``), e.g. a sweep's run.

    Returns
    -------
    TrackingOutcome
        ``recorded=False`` with ``error`` when the store is unreachable or anything
        failed; a run created before the failure is marked FAILED. Before writing,
        RUNNING runs left by dead processes of this host are marked FAILED.
    """
    uri = store.adopt_credentials(tracking_uri or store.tracking_uri())
    exp_name = None
    run_id = None
    try:
        exp_name = experiment_name(result, asset_class, family, project)
        c, exp_id = store.open_experiment(uri, exp_name)
        tags = run_tags(result, asset_class=asset_class, family=family, source=source,
                        project=project_name(project))
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        with open_run(c, exp_id, tags, f"{result.strategy} {result.symbol} "
                      f"{result.timeframe}") as (run_id, folder):
            _log_run(c, run_id, result, figures, tearsheet_html, folder)
        return TrackingOutcome(True, run_id, exp_name, uri)
    except Exception as exc:        # noqa: BLE001 - tracking must never break a backtest
        return TrackingOutcome(False, run_id, exp_name, uri,
                               f"{type(exc).__name__}: {exc}".strip())


def _log_run(c, run_id: str, result: BacktestResult, figures, tearsheet_html,
             folder: Path) -> None:
    from mlflow.entities import Metric, Param

    params = {f"p.{k}": v for k, v in result.params.items()}
    params.update({f"x.{k}": v for k, v in flatten(result.config.to_dict()).items()})
    now = int(time.time() * 1000)
    metrics = [Metric(k, val, now, 0) for k, v in result.metrics.items()
               if (val := metric_value(v)) is not None]
    log_batches(c, run_id, metrics, [Param(k, str(v)) for k, v in sorted(params.items())])
    write_artifacts(folder, result, figures, tearsheet_html)
