"""Strategy rules on hand-made bars: the exact bars where signals fire."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab.core.registry import all_strategies, get
from strategies._common import Ind


def bars_from(close, high=None, low=None) -> pd.DataFrame:
    c = np.asarray(close, dtype=float)
    h = c + 0.5 if high is None else np.asarray(high, dtype=float)
    lo = c - 0.5 if low is None else np.asarray(low, dtype=float)
    idx = pd.date_range("2024-01-01", periods=len(c), freq="D", tz="UTC", name="ts_event")
    return pd.DataFrame({"open": c, "high": h, "low": lo, "close": c,
                         "volume": np.ones(len(c))}, index=idx)


def where(arr) -> list[int]:
    return np.flatnonzero(arr).tolist()


def test_sma_cross_fires_on_the_crossing_bar_only():
    # SMA2 vs SMA3; SMA2-SMA3 = [.., -0.5, -0.5, +0.5, +1/6, ...]
    close = [5, 4, 3, 2, 5, 5, 5, 1, 1]
    spec = get("sma_cross")
    p = spec.params_cls(fast=2, slow=3)               # below the sweep range on purpose
    sig = spec.signal_fn(bars_from(close), p, {})
    fast = pd.Series(close, dtype=float).rolling(2).mean()
    slow = pd.Series(close, dtype=float).rolling(3).mean()
    up = (fast > slow) & (fast.shift() <= slow.shift())
    down = (fast < slow) & (fast.shift() >= slow.shift())
    assert where(sig.entries_long) == where(up) == [4]
    assert where(sig.exits_long) == where(down) == [7]
    assert where(sig.entries_short) == [7] and where(sig.exits_short) == [4]


def test_price_sma_is_a_level_not_a_cross():
    spec = get("price_sma")
    sig = spec.signal_fn(bars_from([1, 2, 3, 4, 1, 1]), spec.params_cls(period=2), {})
    # SMA2 = [nan, 1.5, 2.5, 3.5, 2.5, 1]; close > SMA on bars 1-3, < on bar 4
    assert where(sig.entries_long) == [1, 2, 3]
    assert where(sig.exits_long) == where(sig.entries_short) == [4]


def test_donchian_breaks_out_against_the_previous_bars_not_the_current_one():
    spec = get("donchian")
    high = [10, 10, 10, 10, 12, 11, 11]
    low = [9, 9, 9, 9, 9, 8, 7]
    close = [9.5, 9.5, 9.5, 10, 11, 9, 7.5]
    sig = spec.signal_fn(bars_from(close, high, low),
                         spec.params_cls(entry_period=3, exit_period=2), {})
    # bar 3: close 10 only equals the previous 3-bar high 10: no breakout
    # bar 4: close 11 > max(high[1:4]) = 10 although it is below its own high 12
    assert where(sig.entries_long) == [4]
    # bar 5: close 9 is not below min(low[3:5]) = 9; bar 6: 7.5 < min(low[4:6]) = 8
    assert where(sig.exits_long) == [6]
    assert where(sig.entries_short) == [6]            # 7.5 < min(low[3:6]) = 8
    assert where(sig.exits_short) == [4]              # 11 > max(high[2:4]) = 10


def test_buy_and_hold_enters_on_bar_zero_only():
    sig = get("buy_and_hold").signals(bars_from([1, 2, 3]))
    assert where(sig.entries_long) == [0]
    assert not (sig.exits_long.any() or sig.entries_short.any() or sig.exits_short.any())
    assert len(get("buy_and_hold").signals(bars_from([]))) == 0


def test_rsi_enters_when_rsi_climbs_back_through_lower():
    spec = get("rsi")
    close = [10, 9, 8, 7, 6, 7, 8, 9, 10, 11, 12, 11, 10, 9]
    p = spec.params_cls(period=2, lower=30.0, upper=70.0)
    sig = spec.signal_fn(bars_from(close), p, {})
    rsi = Ind(bars_from(close), {}).rsi(2)
    assert rsi[4] == 0.0 and rsi[5] > 30.0            # first up move after a fall
    assert where(sig.entries_long) == [5]            # RSI 0 -> 50
    assert where(sig.exits_long) == [6]               # 50 -> 75 crosses up through 70
    assert where(sig.entries_short) == [11]           # 98.4 -> 49.2
    assert where(sig.exits_short) == [12]             # 49.2 -> 24.6


def test_bollinger_exit_is_at_the_middle_band():
    spec = get("bollinger")
    sig = spec.signal_fn(bars_from([10, 10, 10, 10, 4, 6, 11]),
                         spec.params_cls(period=3, k=1.0), {})
    # bar 4 closes below the lower band (5.17), bar 5 back above it (4.17) but under
    # the middle (6.67); bar 6 closes above the middle (7)
    assert where(sig.entries_long) == [5]
    assert 6 in where(sig.exits_long) and 5 not in where(sig.exits_long)


def test_bollinger_skips_an_entry_whose_bar_already_reached_the_middle():
    spec = get("bollinger")
    sig = spec.signal_fn(bars_from([10, 10, 10, 10, 4, 9, 11]),
                         spec.params_cls(period=3, k=1.0), {})
    # bar 5 crosses back above the lower band and closes above the middle (7.67):
    # the exit wins, no entry
    assert not sig.entries_long.any() and 5 in where(sig.exits_long)


def test_supertrend_signals_only_on_direction_flips(btc_hourly):
    spec = get("supertrend")
    bars = btc_hourly.iloc[:1000]
    sig = spec.signals(bars)
    _, direction = Ind(bars, {}).supertrend(10, 3.0)
    changes = np.flatnonzero(np.diff(direction) != 0) + 1
    changes = changes[~np.isnan(direction[changes - 1])]
    assert sorted(where(sig.entries_long) + where(sig.entries_short)) == changes.tolist()
    assert (direction[sig.entries_long] == 1).all()


#: native Backtrader strategies have no signal arrays (they run only on that engine)
SIGNAL_SPECS = [s for s in all_strategies() if not s.extra.get("backtrader_factory")]
WARMING = [s for s in SIGNAL_SPECS if s.name != "buy_and_hold"]


@pytest.mark.parametrize("spec", WARMING, ids=lambda s: s.name)
def test_no_signal_while_the_indicators_warm_up(spec, spx_daily):
    bars = spx_daily.iloc[:400]
    sig = spec.signals(bars)
    longest = max(int(getattr(spec.params_cls(), s.name)) for s in spec.params_cls.specs()
                  if s.kind is int)
    for field in ("entries_long", "exits_long", "entries_short", "exits_short"):
        assert not getattr(sig, field)[:longest - 1].any(), field


def test_cache_is_cleared_when_used_with_another_frame():
    cache: dict = {}
    a = Ind(bars_from([1, 2, 3, 4]), cache).sma(2)
    b = Ind(bars_from([10, 20, 30, 40]), cache).sma(2)
    assert a[-1] == 3.5 and b[-1] == 35.0


#: fast-moving settings where one bar can jump past both levels
STRESS = {"rsi": {"period": 2, "lower": 45.0, "upper": 55.0},
          "bollinger": {"period": 5, "k": 0.5},
          "stochastic": {"k_period": 3, "k_smooth": 1, "lower": 45.0, "upper": 55.0}}


@pytest.mark.parametrize("spec", SIGNAL_SPECS, ids=lambda s: s.name)
def test_no_bar_carries_conflicting_signals_on_real_data(spec, real_bars):
    for p in (spec.params_cls(), spec.params(**STRESS.get(spec.name, {}))):
        sig = spec.signals(real_bars.iloc[:3000], p)
        assert not (sig.entries_long & sig.exits_long).any()
        assert not (sig.entries_short & sig.exits_short).any()
        assert not (sig.entries_long & sig.entries_short).any()


@pytest.mark.parametrize("spec", SIGNAL_SPECS, ids=lambda s: s.name)
def test_whole_numbers_given_as_floats_give_the_same_signals(spec, spx_daily):
    bars = spx_daily.iloc[:600]
    p = spec.params_cls()
    as_float = spec.params_cls(**{k: float(v) for k, v in p.to_dict().items()})
    a, b = spec.signals(bars, p), spec.signals(bars, as_float)
    for field in ("entries_long", "exits_long", "entries_short", "exits_short"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
