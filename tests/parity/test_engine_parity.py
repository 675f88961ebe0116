"""Parity: the Backtrader and vectorbt engines agree with the fast engine, trade for trade.

For every registered signal strategy x 2 parameter sets x 3 real samples, the eight
configurations of ``matrix.CASES`` run through the fast (numba) engine, the Backtrader
engine and the vectorbt engine. Backtrader must give the same trade list (entry bar,
exit bar, side, quantity, fill prices, exit reason) and the same equity at every
close; so must vectorbt where it supports the configuration, and where it does not it
must refuse with a ``ConfigError`` naming the setting, or, when the fast engine's
account gapped below zero, refuse saying so (docs/engines.md).

Also: the native ``bt_sma_cross`` with its risk limits off trades like ``sma_cross``.
"""

from __future__ import annotations

import pytest

from lab.core import ConfigError, ExecutionConfig, registry
from lab.costs import ib_fixed, percent
from lab.engines import backtrader_engine, vectorbt_engine, vectorized
from tests.parity.matrix import CASES, DATASETS, differences, param_sets

SIGNAL_SPECS = [s for s in registry.all_strategies() if not s.is_native]
RUNS = [(spec, k, p) for spec in SIGNAL_SPECS for k, p in enumerate(param_sets(spec))]


@pytest.fixture(scope="module")
def samples(sample_catalog) -> dict:
    """The sliced real samples of ``DATASETS`` (built once per worker)."""
    out = {}
    for key, (symbol, timeframe, start, n) in DATASETS.items():
        bars = sample_catalog.load(symbol, timeframe)
        out[key] = bars.iloc[start:start + n]
    return out


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("spec, which, params", RUNS,
                         ids=[f"{s.name}-{'defaults' if k == 0 else 'other'}"
                              for s, k, _ in RUNS])
def test_engines_agree_on_every_configuration(spec, which, params, dataset, samples):
    bars = samples[dataset]
    signals = spec.signals(bars, params)
    problems = []
    for case in CASES[dataset]:
        want = vectorized.run(bars, signals, case.config)
        got = backtrader_engine.run(bars, signals, case.config)
        problems += [f"backtrader {case.name}: {d}" for d in differences(want, got)]
        if case.vectorbt:
            try:
                got = vectorbt_engine.run(bars, signals, case.config)
            except ConfigError as exc:
                # documented: vectorbt cannot follow an account below zero
                assert "below zero" in str(exc) and want.equity.min() < 0, exc
                continue
            problems += [f"vectorbt {case.name}: {d}" for d in differences(want, got)]
        else:
            with pytest.raises(ConfigError, match=case.refused_for):
                vectorbt_engine.run(bars, signals, case.config)
    assert not problems, f"{spec.name} {params.to_dict()} on {dataset}:\n" + \
        "\n".join(problems)


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("direction", ["long", "short", "both"])
def test_native_bt_sma_cross_trades_like_sma_cross(direction, dataset, samples):
    bars = samples[dataset]
    native, signal = registry.get("bt_sma_cross"), registry.get("sma_cross")
    commission = ib_fixed() if dataset == "aapl_1d" else percent(0.001)
    cfg = ExecutionConfig(cash=100_000, direction=direction, commission=commission,
                          slippage=0.0005, whole_units=dataset == "aapl_1d")
    for fast, slow in ((20, 50), (8, 30)):
        want = vectorized.run(bars, signal.signals(bars, signal.params(fast=fast, slow=slow)),
                              cfg)
        got = backtrader_engine.run_native(bars, native,
                                           native.params(fast=fast, slow=slow), cfg)
        assert len(want.trades) > 3
        assert differences(want, got) == [], (fast, slow)


def test_the_matrix_covers_what_the_parity_suite_promises():
    configs = [c.config for cases in CASES.values() for c in cases]
    assert {c.direction.value for c in configs} == {"long", "short", "both"}
    assert {c.both_hit.value for c in configs if c.sl and c.tp} == \
        {"stop_first", "target_first", "nearest_to_open"}
    assert {c.commission.model.value for c in configs} == \
        {"percent", "per_share", "per_contract"}
    assert any(c.sl is None and c.tp is None for c in configs)
    assert any(c.multiplier == 100 and c.size_type.value == "quantity" for c in configs)
    assert any(c.leverage > 1 for c in configs) and any(c.whole_units for c in configs)
    assert len(SIGNAL_SPECS) >= 16 and all(len(param_sets(s)) == 2 for s in SIGNAL_SPECS
                                           if s.params_cls.specs())
