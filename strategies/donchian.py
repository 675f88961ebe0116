"""Donchian breakout (breakout; Turtle-style channels).

Rule at the close of bar i, with channels of the *previous* bars (bar i excluded):
long entry when close > highest high of bars i-N..i-1 (N = ``entry_period``), long exit
when close < lowest low of bars i-M..i-1 (M = ``exit_period``); short entry when
close < lowest low of the previous N bars, short exit when close > highest high of the
previous M bars.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param, require
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, make_signals, ready


@dataclass(frozen=True)
class DonchianParams(Params):
    entry_period: int = param(20, low=5, high=200, step=5,
                              help="breakout channel length, bars")
    exit_period: int = param(10, low=2, high=100, step=2,
                             help="exit channel length, bars")

    def check(self) -> None:
        require(self.exit_period <= self.entry_period,
                f"exit_period ({self.exit_period}) must not exceed entry_period "
                f"({self.entry_period})")


def signals(bars, p: DonchianParams, cache) -> Signals:
    """Close beyond the previous N-bar channel; see the module docstring."""
    ind = Ind(bars, cache)
    close = ind.col("close")
    hi_n, lo_n = ind.prev_highest(p.entry_period), ind.prev_lowest(p.entry_period)
    hi_m, lo_m = ind.prev_highest(p.exit_period), ind.prev_lowest(p.exit_period)
    return make_signals(close > hi_n, close < lo_m, close < lo_n, close > hi_m,
                        when=ready(hi_n, lo_n, hi_m, lo_m))


SPEC = register(StrategySpec(
    name="donchian", family="breakout", params_cls=DonchianParams, signal_fn=signals,
    description="Long on a close above the previous N-bar high, out below the previous "
                "M-bar low; short mirrors."))
