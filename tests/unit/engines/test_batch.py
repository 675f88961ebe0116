"""The batch evaluator (lab.engines.batch.run_many): one stats row per (set, config) on
real bars, equal however the runs are grouped, and equal to single backtests."""

from __future__ import annotations

import numpy as np
import pytest

from lab.core import registry
from lab.core.config import Commission, ExecutionConfig
from lab.core.errors import ConfigError
from lab.engines import vectorized
from lab.core.strategy import Signals
from lab.engines.batch import SIGNAL_FIELDS, config_rows, ohlc_arrays, run_many
from lab.kernels.sweep import STAT_NAMES

CONFIGS = [ExecutionConfig(), ExecutionConfig(direction="both", leverage=3, sl=0.02,
                                              commission=Commission(rate=0.001)),
           ExecutionConfig(tp=0.03, slippage=0.0005)]


@pytest.fixture(scope="module")
def sets(btc_hourly):
    bars = btc_hourly.iloc[:3000]
    spec = registry.get("sma_cross")
    params = [spec.params_cls(fast=f, slow=s) for f, s in ((5, 20), (10, 50), (20, 100))]
    return bars, spec.signals_batch(bars, params)


def test_grid_rows_are_sets_slowest_configs_fastest_and_equal_single_backtests(sets):
    bars, signals = sets
    grid = run_many(bars, signals, CONFIGS, 8760.0)
    assert grid.shape == (len(signals) * len(CONFIGS), len(STAT_NAMES))
    for j, s in enumerate(signals):
        for c, cfg in enumerate(CONFIGS):
            want = vectorized.run(bars, s, cfg, periods_per_year=8760.0).metrics
            row = dict(zip(STAT_NAMES, grid[j * len(CONFIGS) + c]))
            for k in ("total_return", "sharpe", "max_drawdown", "trades", "fees"):
                assert row[k] == pytest.approx(want[k], rel=1e-9, abs=1e-12), (j, c, k)


def test_pairs_and_window_pick_the_same_rows_as_a_grid_on_the_sliced_bars(sets):
    bars, signals = sets
    window = slice(500, 2500)
    cut = [Signals(*(getattr(s, k)[window] for k in SIGNAL_FIELDS)) for s in signals]
    sliced = run_many(bars.iloc[window], cut, CONFIGS, 8760.0)
    pairs = [(2, 1), (0, 0), (2, 2), (1, 0)]
    got = run_many(ohlc_arrays(bars), signals, config_rows(CONFIGS), 8760.0, pairs=pairs,
                   window=window)
    want = sliced[[s * len(CONFIGS) + c for s, c in pairs]]
    np.testing.assert_array_equal(got, want)


def test_vectorbt_batch_refuses_pairs_and_unknown_engines_are_named(sets):
    bars, signals = sets
    with pytest.raises(ConfigError, match="whole grids only"):
        run_many(bars, signals, CONFIGS[:1], 8760.0, engine="vectorbt", pairs=[(0, 0)])
    with pytest.raises(ConfigError, match="unknown batch engine 'numpy'"):
        run_many(bars, signals, CONFIGS, 8760.0, engine="numpy")
