"""Rate-of-change momentum (momentum).

Rule at the close of bar i with ``roc = close[i] / close[i-period] - 1``: long entry
while roc > ``threshold``, long exit when roc < 0; short entry while roc <
-``threshold``, short exit when roc > 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, make_signals


@dataclass(frozen=True)
class RocMomentumParams(Params):
    period: int = param(20, low=2, high=200, step=2, help="lookback, bars")
    threshold: float = param(0.02, low=0.0, high=0.2, step=0.01,
                             help="entry rate of change, fraction (0.02 = 2 %)")


def signals(bars, p: RocMomentumParams, cache) -> Signals:
    """Rate of change beyond +-threshold, exit when it changes sign."""
    roc = Ind(bars, cache).roc(p.period)
    return make_signals(roc > p.threshold, roc < 0.0, roc < -p.threshold, roc > 0.0)


SPEC = register(StrategySpec(
    name="roc_momentum", family="momentum", params_cls=RocMomentumParams,
    signal_fn=signals,
    description="Long while the N-bar rate of change is above the threshold, out when "
                "it turns negative; short mirrors."))
