"""Composite indicators built from the primitives in ``lab.kernels.indicators``.

Same conventions as there: 1-D ``float64`` arrays of shape ``(n,)`` in and out,
``NaN`` during warm-up, the value at bar ``i`` computed from bars ``0..i`` only.
Multi-output kernels return a tuple of such arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lab.kernels.indicators import (atr_nb, ema_nb, rolling_max_nb, rolling_min_nb,
                                    rolling_std_nb, shift_nb, sma_nb)


@njit(cache=True)
def macd_nb(x, fast, slow, signal):
    """Moving Average Convergence Divergence (Gerald Appel, 1979).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Prices (usually closes).
    fast, slow, signal : int
        EMA lengths in bars (classic 12, 26, 9).

    Returns
    -------
    line, signal_line, hist : ndarray of float64, shape (n,)
        ``line = ema(x, fast) - ema(x, slow)`` (price units),
        ``signal_line = ema(line, signal)``, ``hist = line - signal_line``.
        Each EMA is ``ema_nb``: SMA-seeded at its own first full window, so ``line``
        starts at ``slow - 1`` and ``signal_line`` at ``slow + signal - 2``. (TA-Lib
        ``MACD`` instead delays the fast EMA's seed to line up with the slow one; the
        two agree after the seeds have decayed.)
    """
    line = ema_nb(x, fast) - ema_nb(x, slow)
    sig = ema_nb(line, signal)
    return line, sig, line - sig


@njit(cache=True)
def bollinger_nb(x, period, k, ddof):
    """Bollinger Bands (John Bollinger, *Bollinger on Bollinger Bands*, 2001).

    Parameters
    ----------
    x : ndarray of float64, shape (n,)
        Prices (usually closes).
    period : int
        SMA and std window in bars (classic 20).
    k : float
        Band width in standard deviations (classic 2.0).
    ddof : int
        0 = population std, Bollinger's own definition and TA-Lib ``BBANDS``.

    Returns
    -------
    mid, upper, lower : ndarray of float64, shape (n,)
        ``mid = sma_nb(x, period)``, ``mid +- k * rolling_std_nb(x, period, ddof)``.
    """
    mid = sma_nb(x, period)
    sd = rolling_std_nb(x, period, ddof)
    return mid, mid + k * sd, mid - k * sd


@njit(cache=True)
def keltner_nb(high, low, close, period, atr_period, k):
    """Keltner Channels, ATR version (Linda Raschke's modern form).

    Parameters
    ----------
    high, low, close : ndarray of float64, shape (n,)
        Bar prices.
    period : int
        EMA length of the middle line, bars (classic 20).
    atr_period : int
        ATR length, bars (classic 10).
    k : float
        Width in ATRs (classic 2.0).

    Returns
    -------
    mid, upper, lower : ndarray of float64, shape (n,)
        ``mid = ema_nb(close, period)``, ``mid +- k * atr_nb(high, low, close, atr_period)``.
    """
    mid = ema_nb(close, period)
    a = atr_nb(high, low, close, atr_period)
    return mid, mid + k * a, mid - k * a


@njit(cache=True)
def supertrend_atr_nb(high, low, close, atr, multiplier):
    """Supertrend line and direction from a precomputed ATR.

    Parameters
    ----------
    high, low, close : ndarray of float64, shape (n,)
        Bar prices.
    atr : ndarray of float64, shape (n,)
        Average true range (``atr_nb``); the line starts where ``atr`` does.
    multiplier : float
        Band distance from the bar's median price, in ATRs (classic 3.0).

    Returns
    -------
    line, direction : ndarray of float64, shape (n,)
        ``direction`` is +1.0 (up trend, line = lower band) or -1.0 (down trend,
        line = upper band); both ``NaN`` during warm-up.

    Notes
    -----
    Band-flip algorithm of the TradingView "SuperTrend" script (KivancOzbilgic,
    after Olivier Seban), with ``hl2 = (high + low) / 2``::

        lower = hl2 - m * atr;  if close[i-1] > lower[i-1]: lower = max(lower, lower[i-1])
        upper = hl2 + m * atr;  if close[i-1] < upper[i-1]: upper = min(upper, upper[i-1])
        dir = +1 if dir[i-1] == -1 and close > upper[i-1]
              -1 if dir[i-1] == +1 and close < lower[i-1]
              dir[i-1] otherwise          (dir = +1 on the first bar with an ATR)
    """
    n = close.shape[0]
    line = np.full(n, np.nan)
    direction = np.full(n, np.nan)
    started = False
    lo_prev = 0.0
    up_prev = 0.0
    dir_prev = 1.0
    for i in range(n):
        a = atr[i]
        if np.isnan(a):
            started = False
            continue
        hl2 = (high[i] + low[i]) / 2.0
        lo = hl2 - multiplier * a
        up = hl2 + multiplier * a
        d = 1.0
        if started:
            if close[i - 1] > lo_prev and lo_prev > lo:
                lo = lo_prev
            if close[i - 1] < up_prev and up_prev < up:
                up = up_prev
            d = dir_prev
            if dir_prev == -1.0 and close[i] > up_prev:
                d = 1.0
            elif dir_prev == 1.0 and close[i] < lo_prev:
                d = -1.0
        line[i] = lo if d == 1.0 else up
        direction[i] = d
        lo_prev = lo
        up_prev = up
        dir_prev = d
        started = True
    return line, direction


@njit(cache=True)
def supertrend_nb(high, low, close, period, multiplier):
    """Supertrend with a Wilder ATR of ``period`` bars.

    Parameters
    ----------
    high, low, close : ndarray of float64, shape (n,)
        Bar prices.
    period : int
        ATR length in bars (classic 10).
    multiplier : float
        Band distance in ATRs (classic 3.0).

    Returns
    -------
    line, direction : ndarray of float64, shape (n,)
        See ``supertrend_atr_nb``; first values at bar ``period``.
    """
    return supertrend_atr_nb(high, low, close, atr_nb(high, low, close, period),
                             multiplier)


@njit(cache=True)
def stochastic_raw_nb(high, low, close, period):
    """Raw (fast) stochastic %K, 0..100 (George Lane, 1950s).

    Parameters
    ----------
    high, low, close : ndarray of float64, shape (n,)
        Bar prices.
    period : int
        Lookback in bars, bar ``i`` included (classic 14).

    Returns
    -------
    ndarray of float64, shape (n,)
        ``100 * (close - LL) / (HH - LL)`` with ``HH``/``LL`` the highest high and
        lowest low of bars ``i-period+1 .. i``; 50 where ``HH == LL``.
    """
    hh = rolling_max_nb(high, period)
    ll = rolling_min_nb(low, period)
    n = close.shape[0]
    out = np.full(n, np.nan)
    for i in range(n):
        rng = hh[i] - ll[i]
        if np.isnan(rng) or np.isnan(close[i]):
            continue
        out[i] = 50.0 if rng == 0.0 else 100.0 * (close[i] - ll[i]) / rng
    return out


@njit(cache=True)
def stochastic_nb(high, low, close, k_period, k_smooth, d_period):
    """Stochastic oscillator %K and %D, 0..100.

    Parameters
    ----------
    high, low, close : ndarray of float64, shape (n,)
        Bar prices.
    k_period : int
        Lookback of the raw %K in bars (classic 14).
    k_smooth : int
        SMA length applied to the raw %K (1 = fast stochastic, 3 = slow stochastic).
    d_period : int
        SMA length of %D over %K (classic 3).

    Returns
    -------
    k, d : ndarray of float64, shape (n,)
        ``k = sma(stochastic_raw_nb(...), k_smooth)``, ``d = sma(k, d_period)``,
        as TA-Lib ``STOCH`` with SMA smoothing.
    """
    k = sma_nb(stochastic_raw_nb(high, low, close, k_period), k_smooth)
    return k, sma_nb(k, d_period)


@njit(cache=True)
def midpoint_nb(high, low, period):
    """Middle of the ``period``-bar range: ``(HH + LL) / 2``, bar ``i`` included.

    Parameters
    ----------
    high, low : ndarray of float64, shape (n,)
    period : int
        Lookback in bars.

    Returns
    -------
    ndarray of float64, shape (n,)
        Price units; ``NaN`` for ``i < period - 1`` (TA-Lib ``MIDPRICE``).
    """
    return (rolling_max_nb(high, period) + rolling_min_nb(low, period)) / 2.0


@njit(cache=True)
def ichimoku_nb(high, low, tenkan, kijun, senkou_b, displacement):
    """Ichimoku Kinko Hyo lines (Goichi Hosoda), without the lagging Chikou span.

    Parameters
    ----------
    high, low : ndarray of float64, shape (n,)
        Bar prices.
    tenkan, kijun, senkou_b : int
        Lookbacks in bars of the conversion, base and leading-B lines (9, 26, 52).
    displacement : int
        Bars the leading spans are plotted ahead (classic 26).

    Returns
    -------
    tenkan_line, kijun_line, span_a, span_b : ndarray of float64, shape (n,)
        ``tenkan_line = midpoint_nb(high, low, tenkan)``, ``kijun_line`` likewise;
        the cloud *at* bar i: ``span_a[i] = (tenkan_line + kijun_line)[i - displacement] / 2``
        and ``span_b[i] = midpoint_nb(high, low, senkou_b)[i - displacement]``, i.e.
        values computed ``displacement`` bars earlier, so the cloud never looks ahead.
        (The Chikou span plots today's close in the past and is left out: using it at
        its plotted position would look ahead.)
    """
    t = midpoint_nb(high, low, tenkan)
    k = midpoint_nb(high, low, kijun)
    a = shift_nb((t + k) / 2.0, displacement)
    b = shift_nb(midpoint_nb(high, low, senkou_b), displacement)
    return t, k, a, b


@njit(cache=True)
def atr_trailing_stop_nb(close, atr, multiplier):
    """ATR trailing stop that flips sides (Sylvain Vervoort, "Average True Range
    Trailing Stops", *Stocks & Commodities*, June 2009).

    Parameters
    ----------
    close : ndarray of float64, shape (n,)
        Closes.
    atr : ndarray of float64, shape (n,)
        Average true range (``atr_nb``), price units.
    multiplier : float
        Stop distance in ATRs.

    Returns
    -------
    stop, direction : ndarray of float64, shape (n,)
        With ``loss = multiplier * atr[i]`` and ``s = stop[i-1]``::

            close > s and close[i-1] > s:  stop = max(s, close - loss), dir = +1
            close < s and close[i-1] < s:  stop = min(s, close + loss), dir = -1
            close > s:                     stop = close - loss,         dir = +1
            otherwise:                     stop = close + loss,         dir = -1

        The first bar with an ATR starts long (``close - loss``, +1). ``NaN`` during
        warm-up.
    """
    n = close.shape[0]
    stop = np.full(n, np.nan)
    direction = np.full(n, np.nan)
    started = False
    s = 0.0
    for i in range(n):
        a = atr[i]
        c = close[i]
        if np.isnan(a) or np.isnan(c):
            started = False
            continue
        loss = multiplier * a
        if not started:
            s = c - loss
            d = 1.0
        else:
            pc = close[i - 1]
            if c > s and pc > s:
                s = max(s, c - loss)
                d = 1.0
            elif c < s and pc < s:
                s = min(s, c + loss)
                d = -1.0
            elif c > s:
                s = c - loss
                d = 1.0
            else:
                s = c + loss
                d = -1.0
        stop[i] = s
        direction[i] = d
        started = True
    return stop, direction
