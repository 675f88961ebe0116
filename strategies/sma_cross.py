"""SMA crossover (trend): long while the fast SMA is above the slow one, short below.

Rule at the close of bar i: long entry when the fast SMA crosses above the slow SMA,
long exit when it crosses below; the short side mirrors (entry on the cross below,
exit on the cross above).
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param, require
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, cross_above, cross_below, make_signals


@dataclass(frozen=True)
class SmaCrossParams(Params):
    fast: int = param(20, low=2, high=100, step=2, help="fast SMA length, bars")
    slow: int = param(50, low=10, high=400, step=10, help="slow SMA length, bars")

    def check(self) -> None:
        require(self.fast < self.slow,
                f"fast ({self.fast}) must be shorter than slow ({self.slow})")


def signals(bars, p: SmaCrossParams, cache) -> Signals:
    """Crosses of SMA(close, fast) over SMA(close, slow); see the module docstring."""
    ind = Ind(bars, cache)
    fast = ind.sma(p.fast)
    slow = ind.sma(p.slow)
    up = cross_above(fast, slow)
    down = cross_below(fast, slow)
    return make_signals(up, down, down, up)


SPEC = register(StrategySpec(
    name="sma_cross", family="trend", params_cls=SmaCrossParams, signal_fn=signals,
    description="Long when the fast SMA crosses above the slow SMA, short when it "
                "crosses below."))
