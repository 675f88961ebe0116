"""RSI with an EMA trend filter (momentum).

Rule at the close of bar i: long entry while RSI > ``threshold`` and close > EMA, long
exit when RSI < ``threshold`` or close < EMA; short entry while RSI < 100 - threshold
and close < EMA, short exit when RSI > 100 - threshold or close > EMA.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, make_signals, ready


@dataclass(frozen=True)
class RsiEmaParams(Params):
    rsi_period: int = param(14, low=2, high=50, step=1, help="RSI length (Wilder), bars")
    ema_period: int = param(50, low=5, high=300, step=5, help="trend EMA span, bars")
    threshold: float = param(55.0, low=50.0, high=80.0, step=5.0, valid=(0.0, 100.0),
                             help="RSI momentum level for longs, RSI points; shorts "
                                  "use 100 - threshold")


def signals(bars, p: RsiEmaParams, cache) -> Signals:
    """RSI momentum confirmed by the close's side of the EMA."""
    ind = Ind(bars, cache)
    close = ind.col("close")
    rsi = ind.rsi(p.rsi_period)
    ema = ind.ema(p.ema_period)
    lo = 100.0 - p.threshold
    return make_signals((rsi > p.threshold) & (close > ema),
                        (rsi < p.threshold) | (close < ema),
                        (rsi < lo) & (close < ema),
                        (rsi > lo) | (close > ema), when=ready(rsi, ema))


SPEC = register(StrategySpec(
    name="rsi_ema", family="momentum", params_cls=RsiEmaParams, signal_fn=signals,
    description="Long while the RSI is above the threshold and the close above its "
                "EMA; short mirrors."))
