"""Buy and hold (benchmark): one long entry on the first bar, never an exit.

The entry is decided at the close of bar 0 and fills at bar 1's open, as every signal.
No short side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.core.params import Params
from lab.core.registry import register
from lab.core.strategy import Signals, StrategySpec
from strategies._common import make_signals


@dataclass(frozen=True)
class BuyAndHoldParams(Params):
    """No parameters."""


def signals(bars, p: BuyAndHoldParams, cache) -> Signals:
    """Long entry on bar 0; all other arrays False."""
    n = len(bars)
    entries = np.zeros(n, dtype=bool)
    entries[:1] = True
    none = np.zeros(n, dtype=bool)
    return make_signals(entries, none, none, none)


SPEC = register(StrategySpec(
    name="buy_and_hold", family="benchmark", params_cls=BuyAndHoldParams,
    signal_fn=signals, description="Buy on the first bar and hold to the end."))
