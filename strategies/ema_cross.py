"""EMA crossover (trend): like ``sma_cross`` with SMA-seeded EMAs (alpha 2/(n+1)).

Rule at the close of bar i: long entry when EMA(fast) crosses above EMA(slow), long exit
when it crosses below; the short side mirrors.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param, require
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, cross_above, cross_below, make_signals


@dataclass(frozen=True)
class EmaCrossParams(Params):
    fast: int = param(12, low=2, high=100, step=2, help="fast EMA span, bars")
    slow: int = param(26, low=5, high=300, step=5, help="slow EMA span, bars")

    def check(self) -> None:
        require(self.fast < self.slow,
                f"fast ({self.fast}) must be shorter than slow ({self.slow})")


def signals(bars, p: EmaCrossParams, cache) -> Signals:
    """Crosses of EMA(close, fast) over EMA(close, slow); see the module docstring."""
    ind = Ind(bars, cache)
    fast = ind.ema(p.fast)
    slow = ind.ema(p.slow)
    up = cross_above(fast, slow)
    down = cross_below(fast, slow)
    return make_signals(up, down, down, up)


SPEC = register(StrategySpec(
    name="ema_cross", family="trend", params_cls=EmaCrossParams, signal_fn=signals,
    description="Long when the fast EMA crosses above the slow EMA, short when it "
                "crosses below."))
