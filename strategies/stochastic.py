"""Stochastic oscillator reversal (mean reversion; George Lane's %K / %D).

Rule at the close of bar i: long entry when %K crosses above %D while %K < ``lower``
(oversold turn), long exit when %K > ``upper``; short entry when %K crosses below %D
while %K > ``upper``, short exit when %K < ``lower``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param, require
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, cross_above, cross_below, make_signals, ready


@dataclass(frozen=True)
class StochasticParams(Params):
    k_period: int = param(14, low=3, high=50, step=1, help="%K lookback, bars")
    k_smooth: int = param(3, low=1, high=10, step=1,
                          help="SMA smoothing of %K, bars (1 = fast stochastic)")
    d_period: int = param(3, low=1, high=10, step=1, help="%D SMA length, bars")
    lower: float = param(20.0, low=5.0, high=45.0, step=5.0, valid=(0.0, 100.0),
                         help="oversold level, %K points (0-100)")
    upper: float = param(80.0, low=55.0, high=95.0, step=5.0, valid=(0.0, 100.0),
                         help="overbought level, %K points (0-100)")

    def check(self) -> None:
        require(self.lower < self.upper,
                f"lower ({self.lower}) must be below upper ({self.upper})")


def signals(bars, p: StochasticParams, cache) -> Signals:
    """%K/%D crosses in the oversold / overbought zones; see the module docstring."""
    k, d = Ind(bars, cache).stochastic(p.k_period, p.k_smooth, p.d_period)
    return make_signals(cross_above(k, d) & (k < p.lower), k > p.upper,
                        cross_below(k, d) & (k > p.upper), k < p.lower, when=ready(d))


SPEC = register(StrategySpec(
    name="stochastic", family="mean_reversion", params_cls=StochasticParams,
    signal_fn=signals,
    description="Long when %K crosses above %D in the oversold zone, out when %K is "
                "overbought; short mirrors."))
