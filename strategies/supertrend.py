"""Supertrend flip (trend; TradingView SuperTrend band-flip algorithm).

Rule at the close of bar i: long entry when the Supertrend direction flips from -1 to
+1 (close above the trailing upper band), long exit when it flips to -1; the short
side mirrors. The first bar with a direction is not a flip, so it gives no signal.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, flips, make_signals


@dataclass(frozen=True)
class SupertrendParams(Params):
    period: int = param(10, low=2, high=50, step=1, help="ATR length (Wilder), bars")
    multiplier: float = param(3.0, low=1.0, high=6.0, step=0.5,
                              help="band distance from (high+low)/2, in ATRs")


def signals(bars, p: SupertrendParams, cache) -> Signals:
    """Direction flips of ``supertrend_atr_nb``; see the module docstring."""
    _, direction = Ind(bars, cache).supertrend(p.period, p.multiplier)
    up = flips(direction, 1.0)
    down = flips(direction, -1.0)
    return make_signals(up, down, down, up)


SPEC = register(StrategySpec(
    name="supertrend", family="trend", params_cls=SupertrendParams, signal_fn=signals,
    description="Long when the Supertrend flips up, short when it flips down."))
