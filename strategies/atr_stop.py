"""ATR trailing stop and reverse (volatility; Vervoort's ATR trailing stop).

A stop trails the close at ``multiplier`` ATRs and flips sides when the close crosses
it. Rule at the close of bar i: long entry when the stop flips below the price
(direction -1 -> +1), long exit when it flips above; the short side mirrors.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, flips, make_signals


@dataclass(frozen=True)
class AtrStopParams(Params):
    period: int = param(14, low=2, high=50, step=1, help="ATR length (Wilder), bars")
    multiplier: float = param(3.0, low=0.5, high=6.0, step=0.5,
                              help="stop distance from the close, ATRs")


def signals(bars, p: AtrStopParams, cache) -> Signals:
    """Side flips of ``atr_trailing_stop_nb``; see the module docstring."""
    _, direction = Ind(bars, cache).atr_trailing_stop(p.period, p.multiplier)
    up = flips(direction, 1.0)
    down = flips(direction, -1.0)
    return make_signals(up, down, down, up)


SPEC = register(StrategySpec(
    name="atr_stop", family="volatility", params_cls=AtrStopParams, signal_fn=signals,
    description="Long when the close crosses above its ATR trailing stop, short when it "
                "crosses below."))
