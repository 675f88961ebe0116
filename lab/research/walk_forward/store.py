"""Walk-forward results: ``WalkForwardResult`` and its files under
``<data>/walkforward/<wf_id>/`` (``summary``, ``windows``, ``equity``, ``in_sample`` as
Parquet, ``meta.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lab.core.errors import ConfigError
from lab.core.paths import data_path

#: Metrics kept for each window in sample (``is_``) and out of sample (``oos_``).
WINDOW_METRICS = ("sharpe", "total_return", "cagr", "max_drawdown", "trades", "win_rate",
                  "profit_factor")
#: Columns of ``WalkForwardResult.summary`` (the leaderboard), in order.
SUMMARY_COLUMNS = ["rank", "strategy", "oos_sharpe", "consistency", "oos_return",
                   "is_sharpe", "sharpe_decay", "wfe", "oos_cagr", "is_cagr",
                   "oos_max_drawdown", "oos_trades", "windows", "windows_traded"]


@dataclass
class WalkForwardResult:
    """What a walk-forward produced.

    Attributes
    ----------
    summary : DataFrame
        One row per strategy (``SUMMARY_COLUMNS``), ranked by OOS Sharpe, then
        consistency, then OOS return (all descending).
    windows : DataFrame
        One row per strategy and window: ``strategy, window, train_start, train_end,
        test_start, test_end`` (UTC bar open times, inclusive), ``params`` (the
        strategy's parameters as JSON, None when no candidate was eligible),
        ``param_<name>`` (each strategy parameter, then ``param_sl`` / ``param_tp``
        (fractions of the entry price, NaN = off) and ``param_leverage`` of the chosen
        candidate), ``eligible`` (candidates with enough trades; with Optuna, among the
        ones it scored), ``is_<metric>`` and ``oos_<metric>`` for ``WINDOW_METRICS``.
    equity : DataFrame
        Stitched OOS equity, one column per strategy, indexed by the test bars (account
        currency).
    in_sample : DataFrame
        Reference: the equity over the same bars of the candidate (parameter set and
        levels) that is best on the whole data (what an in-sample optimization would
        have shown), one column per strategy, starting at ``config.cash``.
    meta : dict
        Inputs: strategies, windows (positions), select, objective, min_trades, compound,
        config, asset_class, timeframe, symbol, periods_per_year, grids, levels
        (``{"sl": [...], "tp": [...], "leverage": [...]}``, None = off).
    """

    summary: pd.DataFrame
    windows: pd.DataFrame
    equity: pd.DataFrame
    in_sample: pd.DataFrame
    meta: dict = field(default_factory=dict)


def walk_forward_root(root: str | Path | None = None) -> Path:
    """``<data>/walkforward`` (``root`` as in ``lab.core.paths.data_root``)."""
    return data_path("walkforward", root)


def save_walk_forward(result: WalkForwardResult, folder: str | Path) -> Path:
    """Write ``summary/windows/equity/in_sample.parquet`` and ``meta.json`` to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    result.summary.to_parquet(folder / "summary.parquet")
    result.windows.to_parquet(folder / "windows.parquet")
    result.equity.to_parquet(folder / "equity.parquet")
    result.in_sample.to_parquet(folder / "in_sample.parquet")
    (folder / "meta.json").write_text(json.dumps(result.meta, indent=1, default=str))
    return folder


def load_walk_forward(folder: str | Path) -> WalkForwardResult:
    """Inverse of ``save_walk_forward``.

    Raises
    ------
    ConfigError
        ``folder`` holds no walk-forward result.
    """
    folder = Path(folder)
    if not (folder / "meta.json").exists():
        raise ConfigError(f"no walk-forward result in {folder}")
    return WalkForwardResult(
        summary=pd.read_parquet(folder / "summary.parquet"),
        windows=pd.read_parquet(folder / "windows.parquet"),
        equity=pd.read_parquet(folder / "equity.parquet"),
        in_sample=pd.read_parquet(folder / "in_sample.parquet"),
        meta=json.loads((folder / "meta.json").read_text()))
