"""SMA crossover as a native Backtrader strategy (trend), with the risk-managed base.

Same rule as ``sma_cross``: at the close of bar i, long when SMA(close, fast) crosses
above SMA(close, slow) (``fast[i] > slow[i]`` and ``fast[i-1] <= slow[i-1]``), short
when it crosses below; the base acts at the next open (see ``strategies._bt_base``).
With every risk limit off it trades like ``sma_cross`` on the signal engines.

Native: it runs only on ``engine="backtrader"`` (``lab.engines.backtrader_engine.
run_native``); backtrader is imported when the class is first built, not when the
registry loads this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lab.core.errors import StrategyError
from lab.core.params import Params, param, require
from lab.core.registry import register
from lab.core.strategy import StrategySpec


@dataclass(frozen=True)
class BtSmaCrossParams(Params):
    fast: int = param(20, low=2, high=100, step=2, help="fast SMA length, bars")
    slow: int = param(50, low=10, high=400, step=10, help="slow SMA length, bars")
    max_position_size: float = param(0.0, low=0.0, high=1e9, step=1e8,
                                     help="largest position, units (0 = no limit)")
    max_concentration: float = param(0.0, low=0.0, high=100.0, step=10.0,
                                     help="largest position notional / equity (0 = no limit)")
    max_daily_loss: float = param(0.0, low=0.0, high=1.0, step=0.1,
                                  help="flat for the day below this loss, fraction (0 = off)")
    max_drawdown: float = param(0.0, low=0.0, high=1.0, step=0.1,
                                help="stop trading below this drawdown, fraction (0 = off)")
    flatten_hour: int = param(-1, low=-1, high=23, step=1,
                              help="UTC hour to flatten each day (-1 = off)")

    def check(self) -> None:
        require(self.fast < self.slow,
                f"fast ({self.fast}) must be shorter than slow ({self.slow})")


@lru_cache(maxsize=1)
def backtrader_class():
    """The ``bt.Strategy`` subclass (built once, on first use)."""
    import backtrader as bt

    from strategies._bt_base import RiskManagedStrategy

    class BtSmaCross(RiskManagedStrategy):
        """Fast/slow SMA crossover through ``RiskManagedStrategy``."""

        params = (("fast", 20), ("slow", 50))

        def __init__(self):
            super().__init__()
            self.fast = bt.ind.SMA(self.data.close, period=self.p.fast)
            self.slow = bt.ind.SMA(self.data.close, period=self.p.slow)

        def next(self):
            if len(self.slow) < 2 or len(self.data) <= self.p.slow:
                return
            f0, s0, f1, s1 = self.fast[-1], self.slow[-1], self.fast[0], self.slow[0]
            if f1 > s1 and f0 <= s0:
                self.go_long()
            elif f1 < s1 and f0 >= s0:
                self.go_short()

    return BtSmaCross


def signals(bars, p, cache):
    """Native strategies have no signal arrays."""
    raise StrategyError("bt_sma_cross is a native Backtrader strategy: run it with "
                        "engine='backtrader'")


SPEC = register(StrategySpec(
    name="bt_sma_cross", family="trend", params_cls=BtSmaCrossParams, signal_fn=signals,
    description="Native Backtrader SMA crossover with position, concentration, daily "
                "loss, drawdown and end-of-day limits.",
    extra={"backtrader_factory": backtrader_class}))
