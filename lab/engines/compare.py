"""Compare two results of the same backtest on different engines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lab.engines.result import BacktestResult

#: What must match for two trades to be the same trade.
TRADE_KEYS = ["entry_bar", "exit_bar", "side", "exit_reason"]


def trade_differences(a: BacktestResult, b: BacktestResult, rtol: float = 1e-6) -> pd.DataFrame:
    """Trades that differ between two results.

    Two trades are the same when entry bar, exit bar, side and exit reason are equal
    and the quantities agree within ``rtol`` (relative).

    Parameters
    ----------
    a, b : BacktestResult
        Results of the same bars, signals and config on two engines.
    rtol : float
        Relative tolerance on quantity.

    Returns
    -------
    DataFrame
        One row per differing trade: the keys, each engine's entry time, quantity,
        prices and PnL (suffixed with the engine names), and ``difference``:
        ``"only <engine>"`` or ``"quantity"``. Empty when the engines agree.
    """
    sa, sb = f"_{a.engine}", f"_{b.engine}"
    if sa == sb:
        sa, sb = "_a", "_b"
    cols = TRADE_KEYS + ["entry_time", "qty", "entry_price", "exit_price", "pnl"]
    m = a.trades[cols].merge(b.trades[cols], on=TRADE_KEYS, how="outer",
                             suffixes=(sa, sb), indicator=True)
    both = m["_merge"] == "both"
    qa, qb = m[f"qty{sa}"].to_numpy(float), m[f"qty{sb}"].to_numpy(float)
    qty_differs = both & ~np.isclose(qa, qb, rtol=rtol, atol=0.0)
    difference = np.where(m["_merge"] == "left_only", f"only {a.engine}",
                          np.where(m["_merge"] == "right_only", f"only {b.engine}",
                                   "quantity"))
    out = m.assign(difference=difference)[(~both) | qty_differs].drop(columns="_merge")
    return out.sort_values(["entry_bar", "side"]).reset_index(drop=True)


def final_equity_gap(a: BacktestResult, b: BacktestResult) -> float:
    """Relative difference of final equity, ``|a - b| / |a|``."""
    ea, eb = float(a.equity.iloc[-1]), float(b.equity.iloc[-1])
    return abs(ea - eb) / abs(ea) if ea else abs(eb)
