"""Z-score reversion (mean reversion).

With ``z = (close - SMA) / std`` over the last ``period`` bars (sample std, bar i
included), at the close of bar i: long entry while z < -``entry_z``, long exit when
z > -``exit_z``; short entry while z > ``entry_z``, short exit when z < ``exit_z``.
``exit_z = 0`` exits at the mean.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.core.params import Params, param, require
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import Ind, make_signals


@dataclass(frozen=True)
class ZscoreParams(Params):
    period: int = param(20, low=5, high=200, step=5, help="mean and std window, bars")
    entry_z: float = param(2.0, low=0.5, high=4.0, step=0.25,
                           help="entry distance from the mean, standard deviations")
    exit_z: float = param(0.0, low=0.0, high=2.0, step=0.25,
                          help="exit distance from the mean, standard deviations")

    def check(self) -> None:
        require(self.exit_z < self.entry_z,
                f"exit_z ({self.exit_z}) must be below entry_z ({self.entry_z})")


def signals(bars, p: ZscoreParams, cache) -> Signals:
    """Z-score beyond +-entry_z, exit inside +-exit_z; see the module docstring."""
    z = Ind(bars, cache).zscore(p.period, ddof=1)
    return make_signals(z < -p.entry_z, z > -p.exit_z, z > p.entry_z, z < p.exit_z)


SPEC = register(StrategySpec(
    name="zscore", family="mean_reversion", params_cls=ZscoreParams, signal_fn=signals,
    description="Long when the close is entry_z standard deviations below its mean, "
                "out when it returns within exit_z; short mirrors."))
