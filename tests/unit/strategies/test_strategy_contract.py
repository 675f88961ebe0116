"""Every registered strategy keeps the contract of ``lab.core.strategy``.

Parameters: defaults valid, ranges hold a valid combination, broken constraints raise
``ParamError``. Signals: right length and dtype, batch equal to one-by-one, indicator
work shared through the cache, at least one entry on real data with the defaults.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lab.core.errors import ParamError
from lab.core.params import Params
from lab.core.registry import all_strategies, names

SPECS = all_strategies()
IDS = [s.name for s in SPECS]
#: native Backtrader strategies have no signal arrays (they run only on that engine)
SIGNAL_SPECS = [s for s in SPECS if not s.is_native]
SIGNAL_IDS = [s.name for s in SIGNAL_SPECS]
FIELDS = ("entries_long", "exits_long", "entries_short", "exits_short")
FAMILIES = {"trend", "breakout", "mean_reversion", "momentum", "volatility", "benchmark"}

REQUIRED = {"sma_cross", "price_sma", "ema_cross", "macd", "rsi", "bollinger", "donchian",
            "keltner", "supertrend", "roc_momentum", "rsi_ema", "buy_and_hold"}

#: one combination per strategy with a constraint that breaks ``check``
INVALID = {
    "sma_cross": {"fast": 50, "slow": 50},
    "ema_cross": {"fast": 60, "slow": 30},
    "macd": {"fast": 30, "slow": 20},
    "rsi": {"lower": 50.0, "upper": 50.0},
    "donchian": {"entry_period": 10, "exit_period": 20},
    "zscore": {"entry_z": 1.0, "exit_z": 1.5},
    "stochastic": {"lower": 45.0, "upper": 40.0},   # ranges alone already keep it valid
    "ichimoku": {"tenkan": 30, "kijun": 26},
    "bt_sma_cross": {"fast": 50, "slow": 50},
}


def variations(spec) -> list[Params]:
    """Defaults, then the defaults with one parameter moved to another valid value."""
    base = spec.params_cls()
    out = [base]
    for s in spec.params_cls.specs():
        for v in s.grid():
            if v == getattr(base, s.name):
                continue
            p = spec.params_cls(**(base.to_dict() | {s.name: v.item()}))
            if p.is_valid():
                out.append(p)
                break
    return out


def test_the_required_strategies_are_registered():
    assert REQUIRED <= set(names())


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_spec_has_a_known_family_a_sentence_and_documented_params(spec):
    assert spec.family in FAMILIES
    assert spec.description.endswith(".") and len(spec.description) > 20
    for s in spec.params_cls.specs():
        assert s.help, f"{spec.name}.{s.name} needs a help text with units"
        assert s.low <= s.default <= s.high


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_defaults_are_valid(spec):
    spec.params_cls().validate()


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_ranges_contain_a_valid_combination(spec):
    specs = spec.params_cls.specs()
    grids = [s.grid() for s in specs]
    for combo in itertools.islice(itertools.product(*grids), 200_000):
        p = spec.params_cls(**{s.name: v.item() for s, v in zip(specs, combo)})
        if p.is_valid():
            return
    pytest.fail(f"{spec.name}: no valid combination in the parameter grids")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_broken_constraint_raises_param_error(spec):
    has_check = spec.params_cls.check is not Params.check
    assert has_check == (spec.name in INVALID), \
        f"{spec.name}: add (or remove) an invalid combination in INVALID"
    if has_check:
        bad = INVALID[spec.name]
        with pytest.raises(ParamError):
            spec.params_cls(**bad).check()
        with pytest.raises(ParamError):
            spec.params(**bad)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_value_that_makes_no_sense_raises_param_error_naming_it(spec):
    # The search range low..high is a default, not a wall (issue 10); only values outside
    # ``valid`` (e.g. a length below 1 bar) are refused, naming the parameter.
    for s in spec.params_cls.specs():
        lo = s.valid[0]
        if lo == float("-inf"):
            continue
        bad = lo - 1 if s.kind is int else lo - max(abs(lo), 1.0)
        with pytest.raises(ParamError, match=s.name):
            spec.params(**{s.name: bad})
    with pytest.raises(ParamError, match="unknown"):
        spec.params(no_such_param=1)


@pytest.mark.parametrize("spec", SIGNAL_SPECS, ids=SIGNAL_IDS)
def test_signals_are_bool_arrays_of_the_bars_length(spec, real_bars):
    bars = real_bars.iloc[:700]
    sig = spec.signals(bars)
    for field in FIELDS:
        arr = getattr(sig, field)
        assert arr.dtype == np.bool_ and arr.shape == (700,)


@pytest.mark.parametrize("spec", SIGNAL_SPECS, ids=SIGNAL_IDS)
def test_batch_equals_one_by_one_and_shares_the_cache(spec, spx_daily):
    bars = spx_daily.iloc[:1500]
    sets = variations(spec)
    batch = spec.signals_batch(bars, sets)
    shared: dict = {}
    entries_alone = 0
    for p, got in zip(sets, batch):
        alone: dict = {}
        want = spec.signals(bars, p, alone)
        entries_alone += len(alone)
        again = spec.signals(bars, p, shared)
        for field in FIELDS:
            np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
            np.testing.assert_array_equal(getattr(again, field), getattr(want, field))
    if spec.name == "buy_and_hold":
        assert len(sets) == 1
        return
    assert len(sets) >= 2
    assert len(shared) < entries_alone, "indicators are not shared across parameter sets"


@pytest.mark.parametrize("spec", SIGNAL_SPECS, ids=SIGNAL_IDS)
def test_defaults_enter_on_real_data(spec, real_bars):
    sig = spec.signals(real_bars.iloc[:2000])
    assert sig.entries_long.any()
    if spec.name == "buy_and_hold":
        assert sig.entries_long.sum() == 1 and sig.entries_long[0]
        assert not (sig.exits_long.any() or sig.entries_short.any() or sig.exits_short.any())
    else:
        assert sig.entries_short.any() and sig.exits_long.any() and sig.exits_short.any()
