"""The sweep kernel returns, for every run, exactly the metrics of a single backtest.

``simulate_many_nb`` runs the engine's step functions and streams the metrics; each
row must equal ``lab.api.run_backtest`` (``BacktestResult.metrics``) on the same
signals and configuration, and skew / kurtosis must equal scipy's population moments
of the per-bar returns.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from lab.api import run_backtest
from lab.core import registry
from lab.core.config import Commission, ExecutionConfig
from lab.core.strategy import Signals
from lab.engines import vectorized
from lab.kernels.sweep import N_STATS, STAT_NAMES, simulate_many_nb
from lab.engines.batch import params_matrix, run_many, signal_matrices

CONFIGS = {
    "long_default": ExecutionConfig(),
    "both_lev5_sl_tp_costs": ExecutionConfig(direction="both", leverage=5, sl=0.02, tp=0.05,
                                             commission=Commission(rate=0.001),
                                             slippage=0.0005),
    "short_lev20_liquidations": ExecutionConfig(direction="short", leverage=20,
                                                maintenance_margin=0.01),
    "both_lev50_stop_beyond_liq": ExecutionConfig(direction="both", leverage=50, sl=0.05,
                                                  maintenance_margin=0.005),
    "per_share_whole_qty": ExecutionConfig(size_type="quantity", size=3, whole_units=True,
                                           commission=Commission("per_share", 0.005, 1.0,
                                                                 0.01)),
    "notional_nearest": ExecutionConfig(direction="both", size_type="notional", size=5000,
                                        sl=0.01, tp=0.01, both_hit="nearest_to_open",
                                        slippage=0.001),
    "target_first_contracts": ExecutionConfig(direction="both", both_hit="target_first",
                                              sl=0.01, tp=0.015, multiplier=5,
                                              size_type="quantity", size=0.01,
                                              commission=Commission("per_contract", 0.85)),
    "half_equity_lev3_tp": ExecutionConfig(direction="both", size=0.5, leverage=3, tp=0.03,
                                           commission=Commission(rate=0.0005)),
    "lev100_bust": ExecutionConfig(direction="both", leverage=100, maintenance_margin=0.001,
                                   commission=Commission(rate=0.0004)),
    "lev100_bust_min_notional": ExecutionConfig(direction="both", leverage=100,
                                                maintenance_margin=0.001,
                                                commission=Commission(rate=0.0004),
                                                min_notional=10.0),
    "whole_qty_min_notional": ExecutionConfig(direction="both", size_type="quantity", size=3,
                                              whole_units=True, leverage=10, sl=0.01,
                                              min_notional=25_000.0),
}


def assert_stats_equal(stats_row: np.ndarray, result, where: str = "") -> None:
    """Every ``STAT_NAMES`` entry equals the single run's metric (1e-9 relative)."""
    r = result.returns.to_numpy()
    expected = dict(result.metrics)
    expected["periods_per_year"] = result.periods_per_year
    with np.errstate(all="ignore"):
        expected["skew"] = float(sps.skew(r))
        expected["kurtosis"] = float(sps.kurtosis(r, fisher=False))
    for k, name in enumerate(STAT_NAMES):
        got, want = float(stats_row[k]), float(expected[name])
        if math.isnan(want) or math.isnan(got):
            assert math.isnan(want) and math.isnan(got), f"{where} {name}: {got} != {want}"
        else:
            assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), \
                f"{where} {name}: {got!r} != {want!r}"


def random_signals(n: int, seed: int, p: float = 0.03) -> Signals:
    rng = np.random.default_rng(seed)
    return Signals(*(rng.random(n) < p for _ in range(4)))


@pytest.fixture(scope="module")
def btc(btc_hourly) -> pd.DataFrame:
    return btc_hourly.iloc[-4000:]


def test_every_stat_equals_single_run_for_many_configurations(btc):
    spec = registry.get("sma_cross")
    params = [spec.params(fast=f, slow=s) for f, s in [(4, 30), (10, 50), (20, 100)]]
    signals = spec.signals_batch(btc, params)
    configs = list(CONFIGS.values())
    stats = run_many(btc, signals, configs, 8760.0)
    assert stats.shape == (len(params) * len(configs), N_STATS)
    liquidated = 0
    for j, p in enumerate(params):
        for c, (name, cfg) in enumerate(CONFIGS.items()):
            row = stats[j * len(configs) + c]
            res = run_backtest(btc, "sma_cross", p, cfg, asset_class="crypto", timeframe="1h")
            assert_stats_equal(row, res, f"{p} {name}")
            liquidated += res.metrics["liquidations"]
    assert liquidated > 0, "the configurations should include liquidations"


def test_random_signals_all_rules_equal_single_runs(btc):
    """Dense random signals exercise reversals, same-bar entry/exit and stops."""
    signals = [random_signals(len(btc), seed, p) for seed, p in
               [(1, 0.02), (2, 0.1), (3, 0.3)]]
    configs = list(CONFIGS.values())
    stats = run_many(btc, signals, configs, 8760.0)
    for j, sig in enumerate(signals):
        for c, (name, cfg) in enumerate(CONFIGS.items()):
            res = vectorized.run(btc, sig, cfg, periods_per_year=8760.0)
            assert_stats_equal(stats[j * len(configs) + c], res, f"seed {j} {name}")


def test_daily_equity_with_rsi_and_stops(spx_daily):
    bars = spx_daily.iloc[-2500:]
    spec = registry.get("rsi")
    params = [spec.params(period=p, lower=lo, upper=up) for p, lo, up in
              [(14, 30, 70), (5, 20, 80)]]
    signals = spec.signals_batch(bars, params)
    configs = [ExecutionConfig(commission=Commission("per_share", 0.005, 1.0, 0.01)),
               ExecutionConfig(direction="both", sl=0.03, tp=0.06, leverage=2)]
    stats = run_many(bars, signals, configs, 252.0)
    for j, p in enumerate(params):
        for c, cfg in enumerate(configs):
            res = run_backtest(bars, "rsi", p, cfg, asset_class="equity", timeframe="1d")
            assert_stats_equal(stats[j * 2 + c], res, f"{p} {c}")


def test_golden_five_bars_one_trade():
    """Buy at bar 1's open (100), sell at bar 3's open (110): +10 % on cash, one win."""
    idx = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC", name="ts_event")
    o = np.array([100.0, 100.0, 105.0, 110.0, 110.0])
    bars = pd.DataFrame({"open": o, "high": o + 1, "low": o - 1, "close": o,
                         "volume": 1.0}, index=idx)
    sig = Signals(np.array([1, 0, 0, 0, 0], bool), np.array([0, 0, 1, 0, 0], bool),
                  np.zeros(5, bool), np.zeros(5, bool))
    stats = run_many(bars, [sig], [ExecutionConfig()], 252.0)[0]
    got = dict(zip(STAT_NAMES, stats))
    assert got["trades"] == 1 and got["win_rate"] == 1.0
    assert got["total_return"] == pytest.approx(0.10, abs=1e-15)
    assert got["final_equity"] == pytest.approx(11_000.0, abs=1e-9)
    assert got["exposure"] == 2 / 5             # held at the closes of bars 1 and 2
    assert got["max_drawdown"] == 0.0
    assert got["profit_factor"] == math.inf
    assert got["expectancy"] == pytest.approx(1000.0)
    assert got["bars"] == 5 and got["periods_per_year"] == 252.0


def test_no_trade_gives_nan_ratios_and_zero_counts(btc):
    none = Signals(*(np.zeros(len(btc), bool) for _ in range(4)))
    got = dict(zip(STAT_NAMES, run_many(btc, [none], [ExecutionConfig()], 8760.0)[0]))
    assert got["trades"] == 0 and got["total_return"] == 0 and got["exposure"] == 0
    for name in ("sharpe", "sortino", "calmar", "win_rate", "profit_factor", "skew",
                 "kurtosis"):
        assert math.isnan(got[name]), name


def test_runs_are_independent_of_order_and_signal_layout(btc):
    signals = [random_signals(len(btc), s) for s in range(5)]
    configs = [CONFIGS["both_lev5_sl_tp_costs"], CONFIGS["short_lev20_liquidations"]]
    params, sig_col = params_matrix(configs, len(signals))
    el, xl, es, xs = signal_matrices(signals)
    o, h, lo, c = (np.ascontiguousarray(btc[k].to_numpy()) for k in
                   ("open", "high", "low", "close"))
    ref = simulate_many_nb(o, h, lo, c, el, xl, es, xs, sig_col, params, 8760.0)
    perm = np.random.default_rng(0).permutation(len(params))
    shuffled = simulate_many_nb(o, h, lo, c, el, xl, es, xs, sig_col[perm],
                                np.ascontiguousarray(params[perm]), 8760.0)
    np.testing.assert_array_equal(shuffled, ref[perm])
    c_order = simulate_many_nb(o, h, lo, c, *(np.ascontiguousarray(a) for a in
                                              (el, xl, es, xs)), sig_col, params, 8760.0)
    np.testing.assert_array_equal(c_order, ref)
