"""Helpers shared by the strategy modules (not a strategy: the registry skips ``_`` files).

``Ind`` is the indicator cache every strategy goes through. A batch call shares one
``cache`` dict across parameter sets, and each indicator is stored under a key
``(indicator, column, *args)``, so the 50-bar SMA of the close is computed once for
every parameter set that needs it. Composite indicators (MACD, Bollinger, Keltner,
Stochastic, Ichimoku) are assembled here from cached parts with the same arithmetic as
their ``lab.kernels.composite`` counterparts, so e.g. Bollinger bands with different
``k`` share one SMA and one std.
"""

from __future__ import annotations

from typing import Callable, MutableMapping

import numpy as np
import pandas as pd

from lab.core.strategy import Signals
from lab.kernels import composite as ck
from lab.kernels import indicators as ik

_OWNER = ("__bars__",)


class Ind:
    """Cached indicator arrays of one bar frame.

    Parameters
    ----------
    bars : DataFrame
        OHLCV bars (columns ``open high low close volume``), oldest first.
    cache : dict
        Shared across the parameter sets of a batch. If it was filled from another
        frame object it is cleared first, so a cache can never serve stale arrays.

    Every method returns float64 ndarrays of shape ``(len(bars),)`` with ``NaN``
    during warm-up (see ``lab.kernels.indicators``); callers must not modify them.
    """

    def __init__(self, bars: pd.DataFrame, cache: MutableMapping):
        if cache.get(_OWNER) is not bars:
            cache.clear()
            cache[_OWNER] = bars
        self.bars = bars
        self.cache = cache

    def _get(self, key: tuple, compute: Callable[[], object]):
        hit = self.cache.get(key)
        if hit is None:
            hit = compute()
            self.cache[key] = hit
        return hit

    @property
    def n(self) -> int:
        return len(self.bars)

    def col(self, name: str) -> np.ndarray:
        """Column ``name`` as a writeable, contiguous float64 array."""
        return self._get(("col", name), lambda: np.array(
            self.bars[name].to_numpy(dtype=np.float64), dtype=np.float64, copy=True))

    # single-input indicators -------------------------------------------------------
    def sma(self, period: int, column: str = "close") -> np.ndarray:
        period = int(period)
        return self._get(("sma", column, period),
                         lambda: ik.sma_nb(self.col(column), period))

    def ema(self, period: int, column: str = "close") -> np.ndarray:
        period = int(period)
        return self._get(("ema", column, period),
                         lambda: ik.ema_nb(self.col(column), period))

    def std(self, period: int, ddof: int = 0, column: str = "close") -> np.ndarray:
        period, ddof = int(period), int(ddof)
        return self._get(("std", column, period, ddof),
                         lambda: ik.rolling_std_nb(self.col(column), period, ddof))

    def rsi(self, period: int, column: str = "close") -> np.ndarray:
        period = int(period)
        return self._get(("rsi", column, period),
                         lambda: ik.rsi_nb(self.col(column), period))

    def roc(self, period: int, column: str = "close") -> np.ndarray:
        period = int(period)
        return self._get(("roc", column, period),
                         lambda: ik.roc_nb(self.col(column), period))

    def zscore(self, period: int, ddof: int = 1, column: str = "close") -> np.ndarray:
        period, ddof = int(period), int(ddof)
        return self._get(("zscore", column, period, ddof),
                         lambda: ik.zscore_nb(self.col(column), period, ddof))

    def highest(self, period: int, column: str = "high") -> np.ndarray:
        """Highest ``column`` of bars ``i-period+1 .. i``."""
        period = int(period)
        return self._get(("max", column, period),
                         lambda: ik.rolling_max_nb(self.col(column), period))

    def lowest(self, period: int, column: str = "low") -> np.ndarray:
        """Lowest ``column`` of bars ``i-period+1 .. i``."""
        period = int(period)
        return self._get(("min", column, period),
                         lambda: ik.rolling_min_nb(self.col(column), period))

    def prev_highest(self, period: int, column: str = "high") -> np.ndarray:
        """Highest ``column`` of the previous bars ``i-period .. i-1`` (bar i excluded)."""
        period = int(period)
        return self._get(("shift", ("max", column, period), 1),
                         lambda: ik.shift_nb(self.highest(period, column), 1))

    def prev_lowest(self, period: int, column: str = "low") -> np.ndarray:
        """Lowest ``column`` of the previous bars ``i-period .. i-1`` (bar i excluded)."""
        period = int(period)
        return self._get(("shift", ("min", column, period), 1),
                         lambda: ik.shift_nb(self.lowest(period, column), 1))

    # OHLC indicators ---------------------------------------------------------------
    def atr(self, period: int) -> np.ndarray:
        period = int(period)
        return self._get(("atr", "hlc", period), lambda: ik.atr_nb(
            self.col("high"), self.col("low"), self.col("close"), period))

    def supertrend(self, period: int, multiplier: float) -> tuple[np.ndarray, np.ndarray]:
        """(line, direction) of ``lab.kernels.composite.supertrend_atr_nb``."""
        period, multiplier = int(period), float(multiplier)
        return self._get(("supertrend", "hlc", period, multiplier),
                         lambda: ck.supertrend_atr_nb(
                             self.col("high"), self.col("low"), self.col("close"),
                             self.atr(period), multiplier))

    def atr_trailing_stop(self, period: int, multiplier: float):
        """(stop, direction) of ``lab.kernels.composite.atr_trailing_stop_nb``."""
        period, multiplier = int(period), float(multiplier)
        return self._get(("atr_trailing_stop", "hlc", period, multiplier),
                         lambda: ck.atr_trailing_stop_nb(self.col("close"),
                                                         self.atr(period), multiplier))

    def midpoint(self, period: int) -> np.ndarray:
        """``(highest high + lowest low) / 2`` of bars ``i-period+1 .. i``."""
        period = int(period)
        return self._get(("midpoint", "hl", period),
                         lambda: (self.highest(period) + self.lowest(period)) / 2.0)

    # composites from cached parts -------------------------------------------------
    def macd(self, fast: int, slow: int, signal: int, column: str = "close"):
        """(line, signal_line, hist) as ``macd_nb``."""
        fast, slow, signal = int(fast), int(slow), int(signal)
        line = self._get(("macd_line", column, fast, slow),
                         lambda: self.ema(fast, column) - self.ema(slow, column))
        sig = self._get(("ema", ("macd_line", column, fast, slow), signal),
                        lambda: ik.ema_nb(line, signal))
        hist = self._get(("macd_hist", column, fast, slow, signal), lambda: line - sig)
        return line, sig, hist

    def bollinger(self, period: int, k: float, ddof: int = 0, column: str = "close"):
        """(mid, upper, lower) as ``bollinger_nb``; the bands are not cached (cheap)."""
        period, k, ddof = int(period), float(k), int(ddof)
        mid = self.sma(period, column)
        sd = self.std(period, ddof, column)
        return mid, mid + k * sd, mid - k * sd

    def keltner(self, period: int, atr_period: int, k: float):
        """(mid, upper, lower) as ``keltner_nb``; the bands are not cached (cheap)."""
        period, atr_period, k = int(period), int(atr_period), float(k)
        mid = self.ema(period)
        a = self.atr(atr_period)
        return mid, mid + k * a, mid - k * a

    def stochastic(self, k_period: int, k_smooth: int, d_period: int):
        """(%K, %D) as ``stochastic_nb``."""
        k_period, k_smooth, d_period = int(k_period), int(k_smooth), int(d_period)
        raw = self._get(("stoch_raw", "hlc", k_period), lambda: ck.stochastic_raw_nb(
            self.col("high"), self.col("low"), self.col("close"), k_period))
        k = self._get(("sma", ("stoch_raw", "hlc", k_period), k_smooth),
                      lambda: ik.sma_nb(raw, k_smooth))
        d = self._get(("sma", ("stoch_k", k_period, k_smooth), d_period),
                      lambda: ik.sma_nb(k, d_period))
        return k, d

    def ichimoku(self, tenkan: int, kijun: int, senkou_b: int, displacement: int):
        """(tenkan_line, kijun_line, span_a, span_b) as ``ichimoku_nb``."""
        tenkan, kijun = int(tenkan), int(kijun)
        senkou_b, displacement = int(senkou_b), int(displacement)
        t = self.midpoint(tenkan)
        k = self.midpoint(kijun)
        a = self._get(("ichimoku_span_a", "hl", tenkan, kijun, displacement),
                      lambda: ik.shift_nb((t + k) / 2.0, displacement))
        b = self._get(("shift", ("midpoint", "hl", senkou_b), displacement),
                      lambda: ik.shift_nb(self.midpoint(senkou_b), displacement))
        return t, k, a, b


def cross_above(a: np.ndarray, b) -> np.ndarray:
    """``a`` crosses above ``b`` (an array or a constant level); see ``cross_above_nb``."""
    return ik.cross_above_nb(a, _as_array(b, a))


def cross_below(a: np.ndarray, b) -> np.ndarray:
    """``a`` crosses below ``b`` (an array or a constant level); see ``cross_below_nb``."""
    return ik.cross_below_nb(a, _as_array(b, a))


def flips(direction: np.ndarray, to: float) -> np.ndarray:
    """Bars where a +1/-1 ``direction`` series changes to ``to`` (False on warm-up)."""
    out = np.zeros(direction.shape[0], dtype=bool)
    out[1:] = (direction[1:] == to) & (direction[:-1] == -to)
    return out


def _as_array(b, like: np.ndarray) -> np.ndarray:
    if np.ndim(b) == 0:
        return np.full(like.shape[0], float(b))
    return b


def ready(*series: np.ndarray) -> np.ndarray:
    """Bool mask of the bars where every one of ``series`` has a value (not ``NaN``)."""
    out = np.ones(series[0].shape[0], dtype=bool)
    for x in series:
        out &= ~np.isnan(x)
    return out


def make_signals(entries_long, exits_long, entries_short, exits_short,
                 when: np.ndarray | None = None) -> Signals:
    """``Signals`` from four bool arrays, with same-bar conflicts resolved.

    ``when`` (from ``ready``) blanks every signal on bars where one of the strategy's
    indicators is still warming up, so an exit rule on a short indicator cannot fire
    before the entry rule's longer one exists.

    On one bar an exit beats an entry of the same side (a long entry and a long exit
    on bar i leave only the exit), and simultaneous long and short entries cancel
    each other, so the engines never see a conflict. Arrays are copied, so callers may
    pass the same array twice.
    """
    el = np.array(entries_long, dtype=bool)
    xl = np.array(exits_long, dtype=bool)
    es = np.array(entries_short, dtype=bool)
    xs = np.array(exits_short, dtype=bool)
    if when is not None:
        for arr in (el, xl, es, xs):
            arr &= when
    el &= ~xl
    es &= ~xs
    both = el & es
    el &= ~both
    es &= ~both
    return Signals(el, xl, es, xs)
