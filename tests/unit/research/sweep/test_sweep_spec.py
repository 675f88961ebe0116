"""SweepSpec: expansion order, counts, invalid combinations dropped and counted."""

from __future__ import annotations

import itertools

import pytest

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError, ParamError, UnknownStrategyError
from lab.research.sweep import SweepSpec
from lab.research.sweep.plan import chunk_frame, plan_chunks

BTC = ("BTCUSD_COINBASE", "1h")
SPX = ("SPX", "1d")


def test_grid_product_drops_fast_not_below_slow_and_counts_rows():
    spec = SweepSpec(strategies=("sma_cross",), symbols=(BTC, SPX),
                     grids={"sma_cross": {"fast": (10, 20, 30), "slow": (20, 50)}},
                     sl=(None, 0.02), tp=(None,), leverage=(1, 3))
    sets = spec.parameter_sets("sma_cross")
    assert [(p.fast, p.slow) for p in sets] == [(10, 20), (10, 50), (20, 50), (30, 50)]
    # 4 valid of 6 combinations, x 2 sl x 2 leverage x 2 symbols
    assert spec.count() == {"total": 4 * 4 * 2, "per_strategy": {"sma_cross": 32},
                            "dropped_invalid": 2 * 4 * 2}


def test_default_grid_is_each_param_spec_grid():
    spec = SweepSpec(strategies=("price_sma",), symbols=(BTC,))
    assert [p.period for p in spec.parameter_sets("price_sma")] == list(range(10, 401, 10))
    assert spec.count()["total"] == 40


def test_float_grid_steps_are_rounded_so_the_range_end_stays_valid():
    spec = SweepSpec(strategies=("roc_momentum",), symbols=(BTC,),
                     grids={"roc_momentum": {"period": (10,)}})
    thresholds = [p.threshold for p in spec.parameter_sets("roc_momentum")]
    assert thresholds[-1] == 0.2 and len(thresholds) == 21
    assert spec.count()["dropped_invalid"] == 0


def test_invalid_execution_levels_are_dropped_and_counted():
    base = ExecutionConfig(maintenance_margin=0.05)          # leverage 20+ impossible
    spec = SweepSpec(strategies=("price_sma",), symbols=(BTC,),
                     grids={"price_sma": {"period": (20, 50)}},
                     leverage=(1, 10, 25), config=base)
    assert spec.exec_levels() == [(None, None, 1.0), (None, None, 10.0)]
    assert spec.count() == {"total": 4, "per_strategy": {"price_sma": 4},
                            "dropped_invalid": 2}


def test_several_strategies_count_per_strategy_and_sum():
    spec = SweepSpec(strategies=("sma_cross", "buy_and_hold"), symbols=(BTC,),
                     grids={"sma_cross": {"fast": (5, 10), "slow": (50,)}}, tp=(None, 0.1))
    c = spec.count()
    assert c["per_strategy"] == {"sma_cross": 4, "buy_and_hold": 2}
    assert c["total"] == 6 and c["dropped_invalid"] == 0


def test_set_ids_follow_strategy_symbol_params_levels_order():
    spec = SweepSpec(strategies=("sma_cross", "price_sma"), symbols=(BTC, SPX),
                     grids={"sma_cross": {"fast": (5, 10), "slow": (50,)},
                            "price_sma": {"period": (20, 30, 40)}},
                     sl=(None, 0.02), leverage=(1, 2))
    chunks = plan_chunks(spec, {BTC: 1000, SPX: 1000}, chunk_size=4)
    rows = []
    import numpy as np

    for ch in chunks:
        frame = chunk_frame(spec, ch, np.zeros((ch["sets"], 20)))
        rows += list(zip(frame["set_id"], frame["strategy"], frame["symbol"],
                         frame["params"], frame["sl"].fillna(0), frame["leverage"]))
    assert [r[0] for r in rows] == list(range(spec.count()["total"]))
    expected = []
    for strategy, params in (("sma_cross", ['{"fast": 5, "slow": 50}',
                                            '{"fast": 10, "slow": 50}']),
                             ("price_sma", ['{"period": 20}', '{"period": 30}',
                                            '{"period": 40}'])):
        for (symbol, _), p, (sl, lev) in itertools.product(
                (BTC, SPX), params, itertools.product((0.0, 0.02), (1.0, 2.0))):
            expected.append((strategy, symbol, p, sl, lev))
    assert [r[1:] for r in rows] == expected
    assert all(ch["sets"] % 4 == 0 for ch in chunks)      # whole parameter sets


def test_to_dict_round_trip_and_hash():
    spec = SweepSpec(strategies=("sma_cross",), symbols=(BTC,), grids={"sma_cross": {
        "fast": (5, 10)}}, sl=(None, 0.02), tp=(0.05,), leverage=(1, 3), start="2020-01-01",
        config=ExecutionConfig(direction="both", slippage=0.001), engine="vectorized",
        min_trades=5)
    again = SweepSpec.from_dict(spec.to_dict())
    assert again == spec and hash(again) == hash(spec)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"strategies": ()}, ConfigError, "at least one strategy"),
    ({"symbols": ()}, ConfigError, "at least one (symbol, timeframe)"),
    ({"symbols": ("BTC",)}, ConfigError, "(symbol, timeframe) pairs"),
    ({"strategies": ("nope",)}, UnknownStrategyError, "no strategy named"),
    ({"grids": {"sma_cross": {"fastest": (1,)}}}, ParamError, "no parameter"),
    ({"grids": {"sma_cross": {"fast": (0,)}}}, ParamError, "length in bars is at least 1"),
    ({"grids": {"sma_cross": {"fast": (2.5,)}}}, ParamError, "whole number"),
    ({"grids": {"macd": {"fast": (5,)}}}, ConfigError, "not among the swept"),
    ({"sl": (-0.1,)}, ConfigError, "fraction above 0"),
    ({"engine": "backtrader"}, ConfigError, "unknown sweep engine"),
    ({"strategies": ("bt_sma_cross",)}, ConfigError, "native Backtrader"),
])
def test_bad_specs_are_refused_with_a_clear_message(kwargs, error, words):
    args = {"strategies": ("sma_cross",), "symbols": (BTC,), **kwargs}
    with pytest.raises(error, match=None) as info:
        SweepSpec(**args)
    assert words in str(info.value)
