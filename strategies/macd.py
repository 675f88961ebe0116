"""MACD signal-line cross (trend; Gerald Appel).

Rule at the close of bar i: long entry when the MACD line (EMA fast - EMA slow of the
close) crosses above its signal line (EMA of the MACD line), long exit when it crosses
below; the short side mirrors.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param, require
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, cross_above, cross_below, make_signals


@dataclass(frozen=True)
class MacdParams(Params):
    fast: int = param(12, low=2, high=50, step=2, help="fast EMA span, bars")
    slow: int = param(26, low=5, high=100, step=5, help="slow EMA span, bars")
    signal: int = param(9, low=2, high=50, step=1, help="signal-line EMA span, bars")

    def check(self) -> None:
        require(self.fast < self.slow,
                f"fast ({self.fast}) must be shorter than slow ({self.slow})")


def signals(bars, p: MacdParams, cache) -> Signals:
    """MACD line crossing its signal line; see the module docstring."""
    line, sig, _ = Ind(bars, cache).macd(p.fast, p.slow, p.signal)
    up = cross_above(line, sig)
    down = cross_below(line, sig)
    return make_signals(up, down, down, up)


SPEC = register(StrategySpec(
    name="macd", family="trend", params_cls=MacdParams, signal_fn=signals,
    description="Long when the MACD line crosses above its signal line, short when it "
                "crosses below."))
