"""RSI reversal (mean reversion; Wilder's RSI).

Rule at the close of bar i: long entry when the RSI crosses up through ``lower`` (back
out of oversold), long exit when it crosses up through ``upper`` (overbought reached);
short entry when the RSI crosses down through ``upper``, short exit when it crosses
down through ``lower``. Exiting at ``upper`` rather than 50 lets a reversal run its
course; set ``upper`` near 50 for quicker exits.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param, require
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, cross_above, cross_below, make_signals


@dataclass(frozen=True)
class RsiParams(Params):
    period: int = param(14, low=2, high=50, step=1, help="RSI length (Wilder), bars")
    lower: float = param(30.0, low=5.0, high=50.0, step=5.0, valid=(0.0, 100.0),
                         help="oversold level, RSI points (0-100)")
    upper: float = param(70.0, low=50.0, high=95.0, step=5.0, valid=(0.0, 100.0),
                         help="overbought level, RSI points (0-100)")

    def check(self) -> None:
        require(self.lower < self.upper,
                f"lower ({self.lower}) must be below upper ({self.upper})")


def signals(bars, p: RsiParams, cache) -> Signals:
    """RSI crossing its lower / upper levels; see the module docstring."""
    rsi = Ind(bars, cache).rsi(p.period)
    return make_signals(cross_above(rsi, p.lower), cross_above(rsi, p.upper),
                        cross_below(rsi, p.upper), cross_below(rsi, p.lower))


SPEC = register(StrategySpec(
    name="rsi", family="mean_reversion", params_cls=RsiParams, signal_fn=signals,
    description="Long when the RSI climbs back above the oversold level, out when it "
                "reaches overbought; short mirrors."))
