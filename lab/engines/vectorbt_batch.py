"""The vectorbt batch path (the "vectorbt" sweep engine): one ``Portfolio.from_signals``
over many columns.

Each column is one result row (a signal set with one (sl, tp) level). The bar layout,
the signal rule and the stop adjustments are those of ``lab.engines.vectorbt_engine``
(11 rows per bar; see its module docstring): the functions below only pick each
column's signal set and stop levels and call that module's numba functions, and each
column is converted with that module's ``portfolio_result`` (the same checks and metrics as
``run_backtest(engine="vectorbt")``). Columns are simulated in batches so that
vectorbt's order records (``4 n + 4`` per column) stay within ``MAX_RECORDS``.

Supported: what ``vectorbt_engine.check_config`` accepts (leverage 1, percent
commission without minimum or cap, or a per-unit commission with a fixed quantity).
Anything else is refused with ``ConfigError`` before any work starts.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from numba import njit

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.core.strategy import Signals
from lab.core.types import CommissionModel, SizeType
from lab.costs.kernel_params import BOTH_HIT_CODE, DIRECTION_CODE
from lab.engines import vectorbt_engine as ve
from lab.kernels.sweep import N_STATS, STAT_NAMES

#: Most vectorbt order records allocated by one ``from_signals`` call.
MAX_RECORDS = 2_000_000


def check_configs(configs: Sequence[ExecutionConfig], what: str = "this sweep") -> None:
    """Raise ``ConfigError`` unless vectorbt can run every one of ``configs`` (the levels
    of a sweep), naming ``what`` and the reason."""
    for cfg in configs:
        try:
            ve.check_config(cfg)
        except ConfigError as exc:
            raise ConfigError(f"engine='vectorbt' cannot run {what}: {exc}") from None


@njit(cache=True)
def signal_many_nb(c, el, xl, es, xs, sig_col, direction, n_bars, state):
    """``vectorbt_engine.signal_func_nb`` on column ``c.col``'s signal set
    (``el`` .. ``xs`` of shape (n, k), ``sig_col`` of shape (m,), ``state`` (m,))."""
    j = sig_col[c.col]
    return ve.signal_func_nb(c, el[:, j], xl[:, j], es[:, j], xs[:, j], direction, n_bars,
                             state[c.col:c.col + 1])


@njit(cache=True)
def adjust_sl_many_nb(c, n_bars, sl, liq, open_, slip, mm):
    """``vectorbt_engine.adjust_sl_func_nb`` with column ``c.col``'s stop (``sl`` (m,))."""
    return ve.adjust_sl_func_nb(c, n_bars, sl[c.col], liq, open_, slip, mm)


@njit(cache=True)
def adjust_tp_many_nb(c, n_bars, tp, sl, rule, open_, slip, mm):
    """``vectorbt_engine.adjust_tp_func_nb`` with column ``c.col``'s levels."""
    return ve.adjust_tp_func_nb(c, n_bars, tp[c.col], sl[c.col], rule, open_, slip, mm)


def vectorbt_stats(bars: pd.DataFrame, signals: Sequence[Signals],
                   configs: Sequence[ExecutionConfig], periods_per_year: float) -> np.ndarray:
    """Statistics of signal sets x configs (configs fastest) through vectorbt.

    Parameters
    ----------
    bars : DataFrame, shape (n, 5)
    signals : sequence of Signals, length k
    configs : sequence of ExecutionConfig
        Levels of one base config (they differ only in ``sl`` and ``tp``).
    periods_per_year : float

    Returns
    -------
    ndarray, float64, shape (k x len(configs), N_STATS)
        ``lab.kernels.sweep.STAT_NAMES`` columns.

    Raises
    ------
    ConfigError
        A configuration vectorbt cannot reproduce, found before or after the run
        (``vectorbt_engine``), naming the row.
    """
    for cfg in configs:
        ve.check_config(cfg)
    n = len(bars)
    m = len(signals) * len(configs)
    sig_col = np.repeat(np.arange(len(signals), dtype=np.int64), len(configs))
    cfg_of = [configs[j % len(configs)] for j in range(m)]
    el, xl, es, xs = (np.asfortranarray(np.column_stack([getattr(s, name) for s in signals]))
                      for name in ("entries_long", "exits_long", "entries_short",
                               "exits_short"))
    out = np.empty((m, N_STATS))
    per_batch = max(1, MAX_RECORDS // (4 * n + 4))
    for a in range(0, m, per_batch):
        b = min(m, a + per_batch)
        _batch(bars, (el, xl, es, xs), sig_col[a:b], cfg_of[a:b], periods_per_year,
               out[a:b])
    return out


def _batch(bars, sig, sig_col, cfgs, ppy, out) -> None:
    import vectorbt as vbt
    from vectorbt.portfolio.enums import SizeType as VbtSize
    from vectorbt.portfolio.enums import StopEntryPrice, StopExitPrice

    base = cfgs[0]
    n, m = len(bars), len(cfgs)
    (o, h, l, c), _ = ve.expanded_rows(bars, base.multiplier)
    raw_open = bars["open"].to_numpy(dtype=np.float64)
    rows = len(c)
    kind = np.arange(rows) % ve.ROWS_PER_BAR
    kind[-1] = -1
    slip, mm = base.slippage, base.maintenance_margin
    stop_exit = np.where((kind == ve.GAP_STOP) | (kind == ve.STOP), StopExitPrice.StopMarket,
                         StopExitPrice.StopLimit)
    comm = base.commission
    fees, fixed = (comm.rate, 0.0) if comm.model is CommissionModel.PERCENT else (0.0, 0.0)
    if base.size_type is SizeType.EQUITY_FRACTION:
        size, size_type = np.full(rows, base.size), VbtSize.Percent
    elif base.size_type is SizeType.QUANTITY:
        q = math.floor(base.size + 1e-9) if base.whole_units else base.size
        size, size_type = np.full(rows, float(q)), VbtSize.Amount
        if comm.model is not CommissionModel.PERCENT:
            fixed = comm.rate * q
    else:
        size = np.where(kind == ve.ENTRY_S, base.size / (1.0 - slip), base.size / (1.0 + slip))
        size_type = VbtSize.Value
    sl = np.array([np.nan if cf.sl is None else cf.sl for cf in cfgs])
    tp = np.array([np.nan if cf.tp is None else cf.tp for cf in cfgs])
    liq = (1.0 + 1.0) / (1.0 + mm) - 1.0
    state = np.zeros(m)
    el, xl, es, xs = sig
    try:
        pf = vbt.Portfolio.from_signals(
            c[:, None], open=o[:, None], high=h[:, None], low=l[:, None],
            init_cash=base.cash, size=size[:, None],
            size_type=size_type, fees=fees, fixed_fees=fixed, slippage=slip,
            size_granularity=1.0 if base.whole_units else np.nan,
            signal_func_nb=signal_many_nb,
            signal_args=(el, xl, es, xs, np.ascontiguousarray(sig_col),
                         DIRECTION_CODE[base.direction], n, state),
            sl_stop=sl[None, :], tp_stop=tp[None, :],
            stop_entry_price=StopEntryPrice.FillPrice, stop_exit_price=stop_exit[:, None],
            adjust_sl_func_nb=adjust_sl_many_nb,
            adjust_sl_args=(n, sl, liq, raw_open, slip, mm),
            adjust_tp_func_nb=adjust_tp_many_nb,
            adjust_tp_args=(n, tp, sl, BOTH_HIT_CODE[base.both_hit], raw_open, slip, mm),
            use_stops=True, max_orders=(4 * n + 4) * m, freq=None)
    except ValueError as exc:
        if "cash" in str(exc):
            raise ConfigError("the account went below zero in a vectorbt sweep column (a gap "
                              "beyond a short's liquidation price); use "
                              "engine='vectorized'") from exc
        raise
    for j in range(m):
        try:
            res = ve.portfolio_result(bars, pf[pf.wrapper.columns[j]], cfgs[j], kind, ppy, {})
        except ConfigError as exc:
            raise ConfigError(f"vectorbt cannot reproduce column {j} (sl={cfgs[j].sl}, "
                              f"tp={cfgs[j].tp}): {exc}") from None
        out[j] = stats_of(res)


def stats_of(result) -> np.ndarray:
    """``STAT_NAMES`` of a ``BacktestResult`` (skew and kurtosis from its returns).

    Returns
    -------
    ndarray, float64, shape (N_STATS,)
    """
    row = np.empty(N_STATS)
    m = result.metrics
    r = result.returns.to_numpy(dtype=np.float64)
    d = r - r.mean()
    m2, m3, m4 = (d ** 2).mean(), (d ** 3).mean(), (d ** 4).mean()
    extra = {"periods_per_year": result.periods_per_year,
             "skew": m3 / m2 ** 1.5 if m2 > 0 else np.nan,
             "kurtosis": m4 / m2 ** 2 if m2 > 0 else np.nan}
    for k, name in enumerate(STAT_NAMES):
        row[k] = extra[name] if name in extra else float(m[name])
    return row
