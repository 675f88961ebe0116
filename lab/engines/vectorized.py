"""The fast engine: numba kernel -> adapter -> ``BacktestResult``.

Semantics are those of ``lab.kernels.engine`` (read its module docstring): a
signal at the close of bar i executes at the open of bar i+1; at each bar the open
(gaps through liquidation / stop / target, then the pending signal), then intrabar
liquidation / stop-loss / take-profit, then mark to market at the close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lab.core.config import ExecutionConfig
from lab.core.errors import DataError
from lab.core.strategy import Signals
from lab.core.types import BAR_COLUMNS
from lab.costs.kernel_params import params_vector
from lab.engines.result import BacktestResult, all_metrics, orders_frame, trades_frame


def check_backtest_bars(bars: pd.DataFrame) -> None:
    """Raise ``DataError`` unless a backtest can run on ``bars``.

    ``lab.data.check_bars`` is the bar contract of the store (it canonicalizes: UTC ns
    index, all of ``BAR_COLUMNS``, float64); bars read from the catalog meet it. A
    backtest checks, without copying, what its kernel relies on: the price columns of
    ``BAR_COLUMNS`` (open, high, low, close; volume is not needed), a sorted unique
    DatetimeIndex, at least 2 rows, and finite positive prices.

    Raises
    ------
    DataError
        Naming the first rule ``bars`` breaks and how to fix it.
    """
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"bars must be a DataFrame, got {type(bars).__name__}")
    missing = [c for c in BAR_COLUMNS[:4] if c not in bars.columns]
    if missing:
        raise DataError(f"bars lack column(s) {missing}; expected {list(BAR_COLUMNS)}")
    if len(bars) < 2:
        raise DataError(f"need at least 2 bars to backtest, got {len(bars)}; widen the date range")
    if not isinstance(bars.index, pd.DatetimeIndex):
        raise DataError("bars must be indexed by a DatetimeIndex (ts_event, UTC)")
    if not bars.index.is_monotonic_increasing or bars.index.has_duplicates:
        raise DataError("bar timestamps must be sorted and unique; re-ingest the data")
    prices = bars[list(BAR_COLUMNS[:4])].to_numpy(dtype=float)
    if not np.isfinite(prices).all() or (prices <= 0).any():
        raise DataError("bars contain NaN, infinite or non-positive prices; re-ingest the data")


def run(bars: pd.DataFrame, signals: Signals, config: ExecutionConfig | None = None, *,
        periods_per_year: float = 252.0, strategy: str | None = None,
        params: dict | None = None, symbol: str | None = None,
        timeframe: str | None = None, fingerprint: str | None = None) -> BacktestResult:
    """Backtest ``signals`` on ``bars`` with the numba kernel.

    Parameters
    ----------
    bars : DataFrame, shape (n, 5)
        OHLCV indexed by UTC ``ts_event`` (bar open time).
    signals : Signals
        Arrays of shape (n,), from ``StrategySpec.signals``.
    config : ExecutionConfig, optional
        Defaults to ``ExecutionConfig()`` (long only, cash account, no costs).
    periods_per_year : float
        Bars per year for annualized metrics (``lab.core.types.periods_per_year``).
    strategy, params, symbol, timeframe, fingerprint
        Recorded in the result.

    Returns
    -------
    BacktestResult

    Raises
    ------
    DataError
        Unusable bars (see ``check_backtest_bars``) or signals of another length.
    """
    from lab.kernels import engine as k
    from lab.kernels import layout as L

    config = config or ExecutionConfig()
    check_backtest_bars(bars)
    n = len(bars)
    if len(signals) != n:
        raise DataError(f"signals cover {len(signals)} bars but there are {n} bars")
    p = params_vector(config)
    trades = np.zeros((2 * n + 2, L.N_TRADE_COLS))
    orders = np.zeros((4 * n + 4, L.N_ORDER_COLS))
    as_f8 = lambda c: np.ascontiguousarray(bars[c].to_numpy(dtype=np.float64))  # noqa: E731
    equity, position, counts = k.simulate_nb(
        as_f8("open"), as_f8("high"), as_f8("low"), as_f8("close"),
        signals.entries_long, signals.exits_long, signals.entries_short,
        signals.exits_short, p, trades, orders)
    index = bars.index
    equity_s = pd.Series(equity, index=index, name="equity")
    position_s = pd.Series(position, index=index, name="position")
    trades_df = trades_frame(trades[: counts[0]], index)
    orders_df = orders_frame(orders[: counts[1]], index)
    metrics = all_metrics(equity_s, position_s, trades_df, orders_df, config.cash,
                          periods_per_year)
    return BacktestResult(equity=equity_s, position=position_s, trades=trades_df,
                          orders=orders_df, metrics=metrics, config=config,
                          engine="vectorized", strategy=strategy, params=dict(params or {}),
                          symbol=symbol, timeframe=timeframe, fingerprint=fingerprint,
                          periods_per_year=periods_per_year)
