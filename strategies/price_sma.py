"""Price vs SMA (trend): long while the close is above its SMA, short while below.

Rule at the close of bar i (levels, not crosses): long entry while close > SMA, long
exit when close < SMA; short entry while close < SMA, short exit when close > SMA.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, make_signals


@dataclass(frozen=True)
class PriceSmaParams(Params):
    period: int = param(200, low=10, high=400, step=10, help="SMA length, bars")


def signals(bars, p: PriceSmaParams, cache) -> Signals:
    """Close above / below SMA(close, period); see the module docstring."""
    ind = Ind(bars, cache)
    close = ind.col("close")
    sma = ind.sma(p.period)
    above = close > sma
    below = close < sma
    return make_signals(above, below, below, above)


SPEC = register(StrategySpec(
    name="price_sma", family="trend", params_cls=PriceSmaParams, signal_fn=signals,
    description="Long while the close is above its SMA, short while it is below."))
