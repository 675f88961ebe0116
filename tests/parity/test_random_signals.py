"""Property: for any signals and any execution configuration, the Backtrader engine
gives the fast engine's trades and equity; vectorbt too, or it refuses.

Signals are random bool arrays (conflicting ones included: entry and exit of one side,
long and short entries on one bar), on a real BTC/USD hourly slice; configurations
are drawn over direction, stop / target and both-hit rule, leverage and maintenance
margin, commission model, slippage, sizing, whole units and multiplier.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.core import ConfigError, ExecutionConfig, Signals
from lab.costs import ib_fixed, per_contract, per_share, percent
from lab.engines import backtrader_engine, vectorbt_engine, vectorized
from tests.parity.matrix import differences

N = 300


@pytest.fixture(scope="module")
def bars(sample_catalog):
    return sample_catalog.load("BTCUSD_COINBASE", "1h").iloc[5000:5000 + N]


@st.composite
def configs(draw):
    model = draw(st.sampled_from(["percent", "ib_fixed", "per_share", "per_contract"]))
    size_type = draw(st.sampled_from(["equity_fraction", "quantity", "notional"]))
    commission = {"percent": percent(draw(st.sampled_from([0.0, 0.0005, 0.002]))),
                  "ib_fixed": ib_fixed(), "per_share": per_share(0.01),
                  "per_contract": per_contract(0.85)}[model]
    size = {"equity_fraction": draw(st.sampled_from([1.0, 0.5, 0.1])),
            "quantity": draw(st.sampled_from([0.5, 2.0])),
            "notional": draw(st.sampled_from([2_000.0, 9_000.0]))}[size_type]
    leverage = draw(st.sampled_from([1.0, 1.0, 2.0, 10.0, 40.0]))
    return ExecutionConfig(
        cash=10_000.0, direction=draw(st.sampled_from(["long", "short", "both"])),
        leverage=leverage,
        maintenance_margin=draw(st.sampled_from([0.0, 0.005, 0.02])) / max(1.0, leverage / 10),
        sl=draw(st.sampled_from([None, 0.005, 0.02, 0.2])),
        tp=draw(st.sampled_from([None, 0.005, 0.03])),
        both_hit=draw(st.sampled_from(["stop_first", "target_first", "nearest_to_open"])),
        commission=commission, slippage=draw(st.sampled_from([0.0, 0.0005, 0.003])),
        size_type=size_type, size=size, whole_units=draw(st.booleans()),
        multiplier=draw(st.sampled_from([1.0, 1.0, 0.1])))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=configs(), seed=st.integers(0, 2**31 - 1),
       density=st.sampled_from([0.02, 0.1, 0.3]))
def test_any_signals_any_config_backtrader_equals_the_fast_engine(bars, config, seed,
                                                                  density):
    rng = np.random.default_rng(seed)
    signals = Signals(*(rng.random(N) < density for _ in range(4)))
    want = vectorized.run(bars, signals, config)
    assert differences(want, backtrader_engine.run(bars, signals, config)) == []
    try:
        got = vectorbt_engine.run(bars, signals, config)
    except ConfigError as exc:
        assert any(k in str(exc) for k in ("leverage", "commission", "below zero",
                                           "bought", "charged")), exc
        return
    assert differences(want, got) == []
