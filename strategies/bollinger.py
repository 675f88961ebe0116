"""Bollinger reversion (mean reversion; John Bollinger's bands, population std).

Rule at the close of bar i: long entry when the close crosses back above the lower band,
long exit when the close is at or above the middle band (SMA); short entry when the
close crosses back below the upper band, short exit when it is at or below the middle.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, cross_above, cross_below, make_signals


@dataclass(frozen=True)
class BollingerParams(Params):
    period: int = param(20, low=5, high=100, step=5, help="SMA and std window, bars")
    k: float = param(2.0, low=0.5, high=4.0, step=0.25,
                     help="band width, standard deviations (population std)")


def signals(bars, p: BollingerParams, cache) -> Signals:
    """Close re-entering the bands, exit at the middle; see the module docstring."""
    ind = Ind(bars, cache)
    close = ind.col("close")
    mid, upper, lower = ind.bollinger(p.period, p.k)
    return make_signals(cross_above(close, lower), close >= mid,
                        cross_below(close, upper), close <= mid)


SPEC = register(StrategySpec(
    name="bollinger", family="mean_reversion", params_cls=BollingerParams,
    signal_fn=signals,
    description="Long when the close climbs back inside the lower Bollinger band, out "
                "at the middle band; short mirrors."))
