"""The sweep kernel: many parameter sets over one bar series, metrics on the fly.

``simulate_many_nb`` runs the single-run engine of ``lab.kernels.engine`` (same step
functions, in the same order as ``simulate_nb``, so semantics cannot drift) once per
row of a parameter matrix, in parallel over rows (``prange``). No equity curve or trade
list is stored: each run keeps running sums and returns one row of statistics whose
definitions are those of ``lab.metrics.performance`` and ``lab.engines.result``:

* per-bar returns r[0] = e[0] / cash - 1, r[i] = e[i] / e[i-1] - 1 (0 where undefined);
* Sharpe = mean(r) / std(r, ddof=1) x sqrt(P); Sortino = mean(r) / sqrt(sum(min(r,0)^2)
  / N) x sqrt(P); CAGR = (final / cash)^(P / N) - 1 (-1 when final <= 0); Calmar =
  CAGR / |max drawdown|; max drawdown below the running peak, the starting cash
  counting as the first peak; exposure = share of bars with a position at the close;
* profit factor = gross profit / gross loss (inf without a losing trade, NaN without
  a trade), win rate = share of trades with pnl > 0, expectancy = mean pnl, average
  trade return = mean(pnl / margin committed at entry);
* skew and kurtosis of r are population moments m3 / m2^1.5 and m4 / m2^2 (Pearson:
  3 for a normal distribution), as ``scipy.stats.skew`` / ``kurtosis(fisher=False)``.

Mean and central moments come from the running sums of r, r^2, r^3, r^4 (one pass, no
division per bar). Their rounding error grows with (mean / std)^2 of the per-bar
returns, which is below 1e-2 for any traded series (a per-bar Sharpe ratio of 0.1 is
an annual one of 9 on hourly bars), so the results match the two-pass definitions to
about 1e-12; the tests check 1e-9 against ``lab.metrics``.

Every setting of ``ExecutionConfig`` (e.g. ``min_notional``, ``P_MIN_NOTIONAL``) reaches
the runs through the parameter rows and the shared step functions; nothing here reads a
parameter slot of its own beyond cash, direction, multiplier and slippage.

Cache: numba's cache of this module embeds the compiled step functions of
``lab.kernels.engine``; ``lab.kernels`` keys the cache folder on every kernel's source,
so an edit of ``engine.py`` alone cannot load a stale copy here.

Arrays in, arrays out; numba and numpy only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from lab.kernels.engine import (close_position_nb, execute_pending_nb, gap_check_nb,
                                intrabar_check_nb, pending_action_nb)
from lab.kernels.layout import (N_ORDER_COLS, N_STATE, N_TRADE_COLS, P_CASH, P_DIRECTION,
                                P_MULT, P_SLIPPAGE, PEND_NONE, R_END, S_CASH, S_ENTRY,
                                S_FEES, S_GROSS_LOSS, S_GROSS_WIN, S_LIQ, S_N_LIQ,
                                S_N_TRADES, S_N_WINS, S_QTY, S_SL, S_SUM_PNL,
                                S_SUM_TRADE_RET, S_TP)

#: Columns of the statistics returned by ``simulate_many_nb`` (names of
#: ``BacktestResult.metrics`` plus ``periods_per_year``, ``skew`` and ``kurtosis``).
STAT_NAMES = ("total_return", "cagr", "volatility", "sharpe", "sortino", "calmar",
              "max_drawdown", "exposure", "trades", "win_rate", "profit_factor",
              "expectancy", "avg_trade_return", "final_equity", "fees", "liquidations",
              "bars", "periods_per_year", "skew", "kurtosis")
(ST_TOTAL_RETURN, ST_CAGR, ST_VOLATILITY, ST_SHARPE, ST_SORTINO, ST_CALMAR,
 ST_MAX_DRAWDOWN, ST_EXPOSURE, ST_TRADES, ST_WIN_RATE, ST_PROFIT_FACTOR, ST_EXPECTANCY,
 ST_AVG_TRADE_RETURN, ST_FINAL_EQUITY, ST_FEES, ST_LIQUIDATIONS, ST_BARS,
 ST_PERIODS_PER_YEAR, ST_SKEW, ST_KURTOSIS) = range(len(STAT_NAMES))
N_STATS = len(STAT_NAMES)
# Relative slack of the drawdown pre-check (a superset of the exact test eq / peak - 1 <
# max_dd, which is then evaluated exactly).
_SLACK = 1e-12


@njit(cache=True)
def _triggers_nb(st):
    """(low, high) prices beyond which ``gap_check_nb`` (low = high = open) or
    ``intrabar_check_nb`` can act on the position in ``st``.

    A long can act when low <= max(liquidation, stop) or high >= target, a short when
    high >= min(liquidation, stop) or low <= target, a flat account never. This is a
    superset of those functions' triggers (a NaN level never triggers), so calling them
    only past these prices changes no result; the kernel tests compare every statistic
    with single runs.
    """
    qty = st[S_QTY]
    sl = st[S_SL]
    tp = st[S_TP]
    liq = st[S_LIQ]
    if qty > 0.0:
        lo = liq if not (sl > liq) else sl          # a NaN stop is ignored
        hi = tp if tp == tp else np.inf
        return lo, hi
    if qty < 0.0:
        hi = liq if not (sl < liq) else sl
        lo = tp if tp == tp else -np.inf
        return lo, hi
    return -np.inf, np.inf


@njit(cache=True)
def run_stats_nb(open_, high, low, close, entries_long, exits_long, entries_short,
                 exits_short, col, p, periods_per_year, out):
    """One backtest of signal column ``col`` with parameters ``p``; statistics into ``out``.

    Parameters
    ----------
    open_, high, low, close : ndarray, float64, shape (n,)
        Bar prices.
    entries_long, exits_long, entries_short, exits_short : ndarray, bool, shape (n, k)
        Signals at each bar's close, one column per signal set.
    col : int
        Signal column of this run, ``0 <= col < k``.
    p : ndarray, float64, shape (N_PARAMS,)
        Parameter vector (``lab.kernels.layout.P_*``).
    periods_per_year : float
        Bars per year for annualization.
    out : ndarray, float64, shape (N_STATS,)
        Receives the statistics (``STAT_NAMES`` order).
    """
    n = close.shape[0]
    trades = np.zeros((0, N_TRADE_COLS))
    orders = np.zeros((0, N_ORDER_COLS))
    cnt = np.zeros(2, dtype=np.int64)
    p = p.copy()        # a view of a shared matrix would make threads contend on its refcount
    st = np.zeros(N_STATE)
    st[S_CASH] = p[P_CASH]
    st[S_SL] = np.nan
    st[S_TP] = np.nan
    direction = int(p[P_DIRECTION])
    mult = p[P_MULT]
    cash0 = p[P_CASH]
    pend = PEND_NONE
    prev = cash0
    peak = cash0
    max_dd = 0.0        # eq / peak - 1 is exactly 0 at a peak
    dd_level = peak * (1.0 + _SLACK)   # no new drawdown minimum unless eq < dd_level
    exposed = 0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    down2 = 0.0
    eq = cash0
    lo_trig, hi_trig = _triggers_nb(st)
    i = -1
    while i < n - 1:
        i += 1
        if pend == PEND_NONE and st[S_QTY] == 0.0:
            # flat, nothing pending: the bars up to the next entry signal change nothing
            while i < n - 1 and not (entries_long[i, col] or entries_short[i, col]):
                i += 1
        o = open_[i]
        # The step functions are called only when they can act: a call passes five
        # arrays, whose reference counting costs more than the step itself.
        if o <= lo_trig or o >= hi_trig:
            gap_check_nb(st, p, o, i, trades, orders, cnt)
            lo_trig, hi_trig = _triggers_nb(st)
        if pend != PEND_NONE:
            execute_pending_nb(st, p, pend, o, i, trades, orders, cnt)
            lo_trig, hi_trig = _triggers_nb(st)
        if low[i] <= lo_trig or high[i] >= hi_trig:
            intrabar_check_nb(st, p, o, high[i], low[i], i, trades, orders, cnt)
            lo_trig, hi_trig = _triggers_nb(st)
        if i == n - 1 and st[S_QTY] != 0.0:
            side = 1.0 if st[S_QTY] > 0 else -1.0
            close_position_nb(st, p, close[i] * (1.0 - side * p[P_SLIPPAGE]), i, R_END,
                              trades, orders, cnt)
        qty = st[S_QTY]
        eq = st[S_CASH] + qty * mult * (close[i] - st[S_ENTRY])
        if qty != 0.0:
            exposed += 1
        # per-bar return, 0 where pandas gives inf / NaN (returns_from_equity); a flat
        # bar (eq == prev) adds exactly 0 to every sum
        if eq != prev:
            if prev != 0.0:
                r = eq / prev - 1.0
                if math.isfinite(r):
                    r2 = r * r
                    s1 += r
                    s2 += r2
                    s3 += r2 * r
                    s4 += r2 * r2
                    rn = min(r, 0.0)           # branch-free: signs are unpredictable
                    down2 += rn * rn
            prev = eq
            # drawdown below the running peak (the starting cash is the first peak)
            if eq > peak:
                peak = eq
                dd_level = peak * (1.0 + max_dd) * (1.0 + _SLACK)
            elif eq < dd_level:
                dd = eq / peak - 1.0
                if dd < max_dd:
                    max_dd = dd
                    dd_level = peak * (1.0 + max_dd) * (1.0 + _SLACK)
        el = entries_long[i, col]
        xl = exits_long[i, col]
        es = entries_short[i, col]
        xs = exits_short[i, col]
        if el or xl or es or xs:
            pend = pending_action_nb(direction, qty, el, xl, es, xs)
        else:
            pend = PEND_NONE
    _finish_nb(out, n, eq, cash0, periods_per_year, s1, s2, s3, s4, down2, max_dd,
               exposed, st)


@njit(cache=True)
def _finish_nb(out, n, final, cash0, ppy, s1, s2, s3, s4, down2, max_dd, exposed, st):
    """Turn the running sums of one run into ``STAT_NAMES`` (see the module docstring).

    ``s1`` .. ``s4`` are the sums of r, r^2, r^3, r^4; the central sums follow from them
    (M2 = S2 - n mu^2, M3 = S3 - 3 mu S2 + 2 n mu^3, M4 = S4 - 4 mu S3 + 6 mu^2 S2 -
    3 n mu^4).
    """
    nan = np.nan
    sq = math.sqrt(ppy)
    mean = s1 / n
    m2 = s2 - s1 * mean
    m3 = s3 - 3.0 * mean * s2 + 2.0 * n * mean ** 3
    m4 = s4 - 4.0 * mean * s3 + 6.0 * mean * mean * s2 - 3.0 * n * mean ** 4
    if m2 < 0.0:
        m2 = 0.0
    out[ST_TOTAL_RETURN] = final / cash0 - 1.0
    years = n / ppy
    cagr = (final / cash0) ** (1.0 / years) - 1.0 if final > 0 else -1.0
    out[ST_CAGR] = cagr
    std = math.sqrt(m2 / (n - 1)) if n > 1 else nan
    out[ST_VOLATILITY] = std * sq if n > 1 else nan
    out[ST_SHARPE] = mean / std * sq if std > 0 else nan
    downside = math.sqrt(down2 / n)
    out[ST_SORTINO] = mean / downside * sq if downside > 0 else nan
    out[ST_MAX_DRAWDOWN] = max_dd
    out[ST_CALMAR] = cagr / abs(max_dd) if max_dd < 0 else nan
    out[ST_EXPOSURE] = exposed / n
    n_tr = st[S_N_TRADES]
    out[ST_TRADES] = n_tr
    if n_tr > 0:
        out[ST_WIN_RATE] = st[S_N_WINS] / n_tr
        gw = st[S_GROSS_WIN]
        gl = st[S_GROSS_LOSS]
        if gl > 0:
            out[ST_PROFIT_FACTOR] = gw / gl
        else:
            out[ST_PROFIT_FACTOR] = np.inf if gw > 0 else nan
        out[ST_EXPECTANCY] = st[S_SUM_PNL] / n_tr
        out[ST_AVG_TRADE_RETURN] = st[S_SUM_TRADE_RET] / n_tr
    else:
        out[ST_WIN_RATE] = nan
        out[ST_PROFIT_FACTOR] = nan
        out[ST_EXPECTANCY] = nan
        out[ST_AVG_TRADE_RETURN] = nan
    out[ST_FINAL_EQUITY] = final
    out[ST_FEES] = st[S_FEES]
    out[ST_LIQUIDATIONS] = st[S_N_LIQ]
    out[ST_BARS] = n
    out[ST_PERIODS_PER_YEAR] = ppy
    if m2 > 0:
        out[ST_SKEW] = math.sqrt(n) * m3 / m2 ** 1.5
        out[ST_KURTOSIS] = n * m4 / (m2 * m2)
    else:
        out[ST_SKEW] = nan
        out[ST_KURTOSIS] = nan


@njit(parallel=True, nogil=True, cache=True)
def simulate_many_nb(open_, high, low, close, entries_long, exits_long, entries_short,
                     exits_short, sig_col, params, periods_per_year):
    """Run ``m`` backtests over one bar series in parallel; statistics only.

    Releases the GIL (``nogil``): a sweep computes the next chunk's signals on another
    thread meanwhile (``lab.research.sweep.executors.run_in_process``).

    Parameters
    ----------
    open_, high, low, close : ndarray, float64, shape (n,)
        Bar prices, n >= 2.
    entries_long, exits_long, entries_short, exits_short : ndarray, bool, shape (n, k)
        Signals of ``k`` signal sets (one column each). Column-major (Fortran) order
        keeps each run's reads contiguous; C order works too.
    sig_col : ndarray, int64, shape (m,)
        Signal column of each run, in ``[0, k)``; runs that differ only in stops or
        leverage share a column.
    params : ndarray, float64, shape (m, N_PARAMS)
        One parameter vector per run (``lab.kernels.layout.P_*``,
        ``lab.engines.vectorized.params_vector``).
    periods_per_year : float
        Bars per year for annualized metrics.

    Returns
    -------
    stats : ndarray, float64, shape (m, N_STATS)
        Row j holds the statistics of run j in ``STAT_NAMES`` order: fractions for
        returns and ratios, account currency for ``expectancy``, ``final_equity`` and
        ``fees``, counts (as floats) for ``trades``, ``liquidations`` and ``bars``.
    """
    m = params.shape[0]
    stats = np.empty((m, N_STATS))
    for j in prange(m):
        run_stats_nb(open_, high, low, close, entries_long, exits_long, entries_short,
                     exits_short, sig_col[j], params[j], periods_per_year, stats[j])
    return stats
