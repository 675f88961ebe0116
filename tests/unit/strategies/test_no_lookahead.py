"""No strategy looks ahead: signals on truncated bars equal the full run's prefix.

For every registered strategy, with its defaults and two other valid parameter sets,
signals are computed on real bars (1,500 daily S&P 500 bars, 2,000 hourly BTC/USD bars)
and on the same bars cut at 25 points (plus 6 inside the warm-up); each truncated run must equal the full run's
first bars exactly (the look-ahead check of freqtrade's ``lookahead_analysis``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab.core.registry import all_strategies

#: native Backtrader strategies have no signal arrays (they run only on that engine)
SPECS = [s for s in all_strategies() if not s.is_native]
N_CUTS = 25
SIZES = {"spx_daily": 1500, "btc_hourly": 2000}


def other_valid_params(spec, count=2, seed=7):
    """``count`` valid parameter sets drawn from the grids (deterministic)."""
    specs = spec.params_cls.specs()
    if not specs:
        return []
    rng = np.random.default_rng(seed)
    out, seen = [], {spec.params_cls().to_dict().__repr__()}
    for _ in range(10_000):
        values = {s.name: s.grid()[rng.integers(len(s.grid()))].item() for s in specs}
        p = spec.params_cls(**values)
        if p.is_valid() and repr(p.to_dict()) not in seen:
            seen.add(repr(p.to_dict()))
            out.append(p)
            if len(out) == count:
                return out
    raise AssertionError(f"{spec.name}: could not draw {count} valid parameter sets")


def param_sets(spec):
    return [spec.params_cls(), *other_valid_params(spec)]


def assert_same(truncated, full, n, label):
    for field in ("entries_long", "exits_long", "entries_short", "exits_short"):
        got = getattr(truncated, field)
        want = getattr(full, field)[:n]
        if not np.array_equal(got, want):
            first = int(np.flatnonzero(got != want)[0])
            raise AssertionError(f"{label}: {field} differs at bar {first} of {n} "
                                 "(the signal depends on later bars)")


def check_no_lookahead(spec, bars: pd.DataFrame, params, label: str) -> None:
    """Raise AssertionError when a truncated run differs from the full run's prefix."""
    n = len(bars)
    early = [1, 2, 3, 10, 27, 53]            # inside the warm-ups
    cuts = np.unique(np.r_[early, np.linspace(60, n - 1, N_CUTS).astype(int)])
    full = spec.signals(bars, params)
    for cut in cuts:
        part = spec.signals(bars.iloc[:cut], params)
        assert_same(part, full, cut, f"{spec.name} {params.to_dict()} on {label}")


@pytest.mark.parametrize("dataset", list(SIZES))
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_signals_on_truncated_bars_equal_the_full_prefix(spec, dataset, request):
    bars: pd.DataFrame = request.getfixturevalue(dataset).iloc[:SIZES[dataset]]
    for p in param_sets(spec):
        check_no_lookahead(spec, bars, p, dataset)


def test_the_check_catches_a_strategy_that_peeks_at_the_next_close(spx_daily):
    from lab.core.strategy import Signals, StrategySpec
    from strategies.price_sma import PriceSmaParams

    def peeking(bars, p, cache):
        close = bars["close"].to_numpy()
        up = np.zeros(len(close), dtype=bool)
        up[:-1] = close[1:] > close[:-1]          # tomorrow's close: look-ahead
        return Signals(up, ~up, ~up, up)

    cheat = StrategySpec("peeking", "trend", PriceSmaParams, peeking)
    with pytest.raises(AssertionError, match="depends on later bars"):
        check_no_lookahead(cheat, spx_daily.iloc[:500], PriceSmaParams(), "spx")
