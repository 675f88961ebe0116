"""Hand-made bars and signals for golden tests of the engines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab.core import Signals


def make_bars(open_, high=None, low=None, close=None) -> pd.DataFrame:
    """Daily UTC bars from lists; high/low default to open/close +- 0.5, close to open."""
    o = np.asarray(open_, dtype=float)
    c = o.copy() if close is None else np.asarray(close, dtype=float)
    h = np.maximum(o, c) + 0.5 if high is None else np.asarray(high, dtype=float)
    lo = np.minimum(o, c) - 0.5 if low is None else np.asarray(low, dtype=float)
    idx = pd.date_range("2024-01-01", periods=len(o), freq="D", tz="UTC", name="ts_event")
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": c,
                         "volume": np.full(len(o), 1000.0)}, index=idx)


def make_signals(n, el=(), xl=(), es=(), xs=()) -> Signals:
    """Signals of length n, True at the given bar numbers."""
    def arr(where):
        a = np.zeros(n, dtype=bool)
        a[list(where)] = True
        return a
    return Signals(arr(el), arr(xl), arr(es), arr(xs))


@pytest.fixture
def bars_factory():
    return make_bars


@pytest.fixture
def signals_factory():
    return make_signals
