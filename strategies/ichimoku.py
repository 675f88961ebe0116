"""Ichimoku cloud trend (trend; Goichi Hosoda's Ichimoku Kinko Hyo).

The cloud at bar i is made of spans computed ``kijun`` bars earlier (the classic
displacement equals the base-line length), so it never looks ahead. Rule at the close
of bar i: long entry while tenkan > kijun and close > cloud top, long exit when
tenkan < kijun or close < cloud bottom; short entry while tenkan < kijun and close <
cloud bottom, short exit when tenkan > kijun or close > cloud top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.core.params import Params, param, require
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, make_signals, ready


@dataclass(frozen=True)
class IchimokuParams(Params):
    tenkan: int = param(9, low=3, high=30, step=1, help="conversion line lookback, bars")
    kijun: int = param(26, low=10, high=60, step=2,
                       help="base line lookback and cloud displacement, bars")
    senkou_b: int = param(52, low=20, high=120, step=4,
                          help="leading span B lookback, bars")

    def check(self) -> None:
        require(self.tenkan < self.kijun < self.senkou_b,
                f"need tenkan < kijun < senkou_b, got {self.tenkan}, {self.kijun}, "
                f"{self.senkou_b}")


def signals(bars, p: IchimokuParams, cache) -> Signals:
    """Tenkan/kijun order confirmed by the close's side of the cloud."""
    ind = Ind(bars, cache)
    close = ind.col("close")
    t, k, a, b = ind.ichimoku(p.tenkan, p.kijun, p.senkou_b, p.kijun)
    top = np.maximum(a, b)      # NaN until both spans exist (no signal in warm-up)
    bottom = np.minimum(a, b)
    return make_signals((t > k) & (close > top), (t < k) | (close < bottom),
                        (t < k) & (close < bottom), (t > k) | (close > top),
                        when=ready(t, k, top))


SPEC = register(StrategySpec(
    name="ichimoku", family="trend", params_cls=IchimokuParams, signal_fn=signals,
    description="Long while the conversion line is above the base line and the close "
                "above the cloud; short mirrors."))
