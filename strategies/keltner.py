"""Keltner breakout (breakout; EMA middle line +- k ATR).

Rule at the close of bar i: long entry while close > upper channel, long exit when
close < middle (EMA); short entry while close < lower channel, short exit when close >
middle.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, make_signals, ready


@dataclass(frozen=True)
class KeltnerParams(Params):
    period: int = param(20, low=5, high=100, step=5, help="EMA length of the middle, bars")
    atr_period: int = param(10, low=2, high=50, step=2, help="ATR length (Wilder), bars")
    k: float = param(2.0, low=0.5, high=4.0, step=0.25, help="channel width, ATRs")


def signals(bars, p: KeltnerParams, cache) -> Signals:
    """Close outside the Keltner channel, exit at the middle; see the module docstring."""
    ind = Ind(bars, cache)
    close = ind.col("close")
    mid, upper, lower = ind.keltner(p.period, p.atr_period, p.k)
    return make_signals(close > upper, close < mid, close < lower, close > mid,
                        when=ready(upper))


SPEC = register(StrategySpec(
    name="keltner", family="breakout", params_cls=KeltnerParams, signal_fn=signals,
    description="Long on a close above the upper Keltner channel, out below the "
                "middle EMA; short mirrors."))
