"""Technical indicators as numba kernels: ndarray in, ndarray out.

Conventions shared by every kernel here
---------------------------------------
* Inputs are 1-D ``float64`` arrays of shape ``(n,)`` (one value per bar, oldest
  first); outputs are new ``float64`` arrays of the same shape (bool for crosses).
* Bars whose value cannot be computed yet (the warm-up) are ``NaN``.
* A windowed value at bar ``i`` uses bars ``i - period + 1 .. i`` only, so no kernel
  looks ahead: the value at ``i`` is the same whether or not later bars exist.
* Rolling windows (SMA, std, max, min) are ``NaN`` while any value in the window is
  ``NaN``. Recursive averages (EMA, Wilder) skip leading ``NaN`` values (so an EMA of
  an EMA works); a ``NaN`` after their seed propagates, as in TA-Lib.
* Periods are counts of bars and must be >= 1 (``ValueError`` otherwise).

Composite indicators (MACD, Bollinger, Keltner, Supertrend, Stochastic, Ichimoku,
ATR trailing stop) are in ``lab.kernels.composite``; the cross helpers live in
``lab.kernels.crosses`` and are re-exported here.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lab.kernels.crosses import cross_above_nb, cross_below_nb  # noqa: F401  (re-export)


@njit(cache=True)
def _check_period(period):
    if period < 1:
        raise ValueError("period must be a whole number of bars >= 1")


@njit(cache=True)
def _first_valid(x):
    i = 0
    while i < x.shape[0] and np.isnan(x[i]):
        i += 1
    return i


# --------------------------------------------------------------------------- averages
@njit(cache=True)
def sma_nb(x, period):
    """Simple moving average.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Input series (e.g. close prices).
    period : int
        Window length in bars, >= 1.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``mean(x[i-period+1 : i+1])``; ``NaN`` for ``i < period - 1`` and while the
        window holds a ``NaN``. Same as ``pandas.Series.rolling(period).mean()``.

    Notes
    -----
    Running sum with Kahan compensation (as pandas does), O(n).
    """
    _check_period(period)
    if period == 1:
        return x.astype(np.float64)
    n = x.shape[0]
    out = np.full(n, np.nan)
    s = 0.0
    c = 0.0
    valid = 0
    for i in range(n):
        v = x[i]
        if not np.isnan(v):
            y = v - c
            t = s + y
            c = (t - s) - y
            s = t
            valid += 1
        if i >= period:
            w = x[i - period]
            if not np.isnan(w):
                y = -w - c
                t = s + y
                c = (t - s) - y
                s = t
                valid -= 1
        if valid == 0:
            s = 0.0
            c = 0.0
        if valid == period:
            out[i] = s / period
    return out


@njit(cache=True)
def ewm_seeded_nb(x, period, alpha):
    """Exponential average seeded with the SMA of its first ``period`` values.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Input series; leading ``NaN`` values are skipped.
    period : int
        Seed window in bars, >= 1.
    alpha : float
        Smoothing factor in (0, 1].

    Returns
    -------
    ndarray of float64, shape (n,)
        With ``s`` the first non-NaN index: ``NaN`` before ``s + period - 1``;
        ``y[s+period-1] = mean(x[s : s+period])``; then
        ``y[i] = alpha * x[i] + (1 - alpha) * y[i-1]``.

    Notes
    -----
    This is TA-Lib's seeding for EMA and for Wilder's averages (TA-Lib ``ta_EMA.c``
    with the default ``TA_COMPATIBILITY_DEFAULT``). In pandas: set the first
    ``period - 1`` values to NaN and the next to the SMA, then
    ``ewm(alpha=alpha, adjust=False).mean()``.
    """
    _check_period(period)
    n = x.shape[0]
    out = np.full(n, np.nan)
    start = _first_valid(x)
    if start + period > n:
        return out
    s = 0.0
    for j in range(start, start + period):
        s += x[j]
    prev = s / period
    out[start + period - 1] = prev
    for i in range(start + period, n):
        prev = alpha * x[i] + (1.0 - alpha) * prev
        out[i] = prev
    return out


@njit(cache=True)
def ema_nb(x, period):
    """Exponential moving average, alpha = 2 / (period + 1), SMA-seeded.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Input series.
    period : int
        Span in bars, >= 1.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``NaN`` for the first ``period - 1`` valid bars, then the EMA seeded with the
        SMA of the first ``period`` values (TA-Lib convention, see ``ewm_seeded_nb``).
        Differs from ``pandas.ewm(span=period, adjust=False)``, which seeds with
        ``x[0]``, only in the first few dozen bars.
    """
    return ewm_seeded_nb(x, period, 2.0 / (period + 1.0))


@njit(cache=True)
def rma_nb(x, period):
    """Wilder's moving average (RMA / SMMA), alpha = 1 / period, SMA-seeded.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Input series.
    period : int
        Length in bars, >= 1.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``y[i] = (y[i-1] * (period - 1) + x[i]) / period`` seeded with the SMA of the
        first ``period`` valid values. Source: J. Welles Wilder, *New Concepts in
        Technical Trading Systems* (1978); TA-Lib ``RSI``/``ATR`` smoothing.
    """
    return ewm_seeded_nb(x, period, 1.0 / period)


# ------------------------------------------------------------------ rolling statistics
@njit(cache=True)
def rolling_std_nb(x, period, ddof):
    """Rolling standard deviation.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Input series.
    period : int
        Window length in bars, >= 1 (and > ``ddof``).
    ddof : int
        0 for the population std (Bollinger's definition, TA-Lib ``STDDEV``),
        1 for the sample std (``pandas.Series.rolling(period).std()``, ddof=1).

    Returns
    -------
    ndarray of float64, shape (n,)
        ``sqrt(sum((x - mean)^2) / (period - ddof))`` over ``x[i-period+1 : i+1]``;
        ``NaN`` during warm-up and while the window holds a ``NaN``.

    Notes
    -----
    Two passes per window (mean, then squared deviations), O(n * period); exact to
    rounding, with no cancellation from a running sum of squares.
    """
    _check_period(period)
    if period <= ddof:
        raise ValueError("period must be larger than ddof")
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(period - 1, n):
        s = 0.0
        for j in range(i - period + 1, i + 1):
            s += x[j]
        if np.isnan(s):
            continue
        m = s / period
        ss = 0.0
        for j in range(i - period + 1, i + 1):
            d = x[j] - m
            ss += d * d
        out[i] = np.sqrt(ss / (period - ddof))
    return out


@njit(cache=True)
def rolling_max_nb(x, period):
    """Highest value of the last ``period`` bars, bar ``i`` included (Donchian upper).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Input series (usually highs).
    period : int
        Window length in bars, >= 1.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``max(x[i-period+1 : i+1])``; ``NaN`` during warm-up and while the window holds
        a ``NaN``. Same as ``pandas.Series.rolling(period).max()``. For a breakout rule
        against the *previous* N bars, shift the result with ``shift_nb(.., 1)``.
    """
    _check_period(period)
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(period - 1, n):
        m = -np.inf
        bad = False
        for j in range(i - period + 1, i + 1):
            v = x[j]
            if np.isnan(v):
                bad = True
                break
            if v > m:
                m = v
        if not bad:
            out[i] = m
    return out


@njit(cache=True)
def rolling_min_nb(x, period):
    """Lowest value of the last ``period`` bars, bar ``i`` included (Donchian lower).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Input series (usually lows).
    period : int
        Window length in bars, >= 1.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``min(x[i-period+1 : i+1])``; ``NaN`` as in ``rolling_max_nb``. Same as
        ``pandas.Series.rolling(period).min()``.
    """
    _check_period(period)
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(period - 1, n):
        m = np.inf
        bad = False
        for j in range(i - period + 1, i + 1):
            v = x[j]
            if np.isnan(v):
                bad = True
                break
            if v < m:
                m = v
        if not bad:
            out[i] = m
    return out


@njit(cache=True)
def shift_nb(x, k):
    """Values ``k`` bars earlier: ``out[i] = x[i - k]`` (``NaN`` for ``i < k``).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
    k : int
        Lag in bars, >= 0 (``pandas.Series.shift(k)``).

    Returns
    -------
    ndarray of float64, shape (n,)
    """
    if k < 0:
        raise ValueError("shift_nb only lags (k >= 0); a negative shift looks ahead")
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(k, n):
        out[i] = x[i - k]
    return out


@njit(cache=True)
def zscore_nb(x, period, ddof):
    """Rolling z-score of ``x`` against its own ``period``-bar mean and std.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Input series.
    period : int
        Window length in bars, >= 2.
    ddof : int
        0 (population std) or 1 (sample std), as in ``rolling_std_nb``.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``(x[i] - mean) / std`` over ``x[i-period+1 : i+1]`` (bar ``i`` included),
        dimensionless; ``NaN`` during warm-up and where the std is 0.
        Same as ``(s - s.rolling(p).mean()) / s.rolling(p).std(ddof=ddof)``.
    """
    _check_period(period)
    std = rolling_std_nb(x, period, ddof)
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(period - 1, n):
        sd = std[i]
        if np.isnan(sd) or sd == 0.0:
            continue
        s = 0.0
        for j in range(i - period + 1, i + 1):
            s += x[j]
        out[i] = (x[i] - s / period) / sd
    return out


@njit(cache=True)
def roc_nb(x, period):
    """Rate of change over ``period`` bars, as a fraction.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Prices (positive).
    period : int
        Lookback in bars, >= 1.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``x[i] / x[i - period] - 1`` (0.05 = +5 %); ``NaN`` for ``i < period``.
        Same as ``pandas.Series.pct_change(period)``; TA-Lib ``ROCR - 1``.
    """
    _check_period(period)
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(period, n):
        out[i] = x[i] / x[i - period] - 1.0
    return out


# ----------------------------------------------------------------- oscillators, ranges
@njit(cache=True)
def rsi_nb(x, period):
    """Relative Strength Index with Wilder's smoothing, 0..100.

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Prices (usually closes).
    period : int
        Length in bars, >= 1 (Wilder used 14).

    Returns
    -------
    ndarray of float64, shape (n,)
        ``100 * G / (G + L)`` where ``G`` and ``L`` are ``rma_nb`` of the up moves
        ``max(dx, 0)`` and down moves ``max(-dx, 0)`` of ``dx[i] = x[i] - x[i-1]``
        (equivalently ``100 - 100 / (1 + G / L)``). First value at ``i = period``
        (the seed averages the first ``period`` changes), as in TA-Lib ``RSI``.
        50 where ``G + L == 0`` (no movement in the window).

    Notes
    -----
    Source: J. Welles Wilder, *New Concepts in Technical Trading Systems* (1978).
    """
    _check_period(period)
    n = x.shape[0]
    up = np.full(n, np.nan)
    dn = np.full(n, np.nan)
    for i in range(1, n):
        d = x[i] - x[i - 1]
        if np.isnan(d):
            continue
        up[i] = d if d > 0.0 else 0.0
        dn[i] = -d if d < 0.0 else 0.0
    g = rma_nb(up, period)
    l = rma_nb(dn, period)
    out = np.full(n, np.nan)
    for i in range(n):
        if np.isnan(g[i]) or np.isnan(l[i]):
            continue
        tot = g[i] + l[i]
        out[i] = 50.0 if tot == 0.0 else 100.0 * g[i] / tot
    return out


@njit(cache=True)
def true_range_nb(high, low, close):
    """Wilder's true range.

    Parameters
    ----------
    high, low, close : ndarray of float64, shape (n,)
        Bar highs, lows and closes (price units).

    Returns
    -------
    ndarray of float64, shape (n,)
        ``max(high - low, |high - close[i-1]|, |low - close[i-1]|)`` in price units;
        ``NaN`` at bar 0, which has no previous close (TA-Lib ``TRANGE`` convention).
    """
    n = close.shape[0]
    out = np.full(n, np.nan)
    for i in range(1, n):
        pc = close[i - 1]
        a = high[i] - low[i]
        b = abs(high[i] - pc)
        c = abs(low[i] - pc)
        m = a
        if b > m:
            m = b
        if c > m:
            m = c
        if np.isnan(a) or np.isnan(b) or np.isnan(c):
            m = np.nan
        out[i] = m
    return out


@njit(cache=True)
def atr_nb(high, low, close, period):
    """Average true range, Wilder-smoothed.

    Parameters
    ----------
    high, low, close : ndarray of float64, shape (n,)
        Bar highs, lows and closes (price units).
    period : int
        Length in bars, >= 1 (Wilder used 14).

    Returns
    -------
    ndarray of float64, shape (n,)
        ``rma_nb(true_range_nb(high, low, close), period)`` in price units: the first
        value, at ``i = period``, is the mean of ``TR[1..period]``, as in TA-Lib ``ATR``.
    """
    return rma_nb(true_range_nb(high, low, close), period)
