"""vectorbt engine: each golden rule of the fast engine either holds with the same
values or the engine refuses the configuration with a ``ConfigError``; never a
silently different result. Plus the refusals themselves and the row layout.
"""

from __future__ import annotations

import numpy as np
import pytest

from lab.core import Commission, CommissionModel, ConfigError, ExecutionConfig
from lab.costs import ib_fixed, per_contract, per_share
from lab.engines import vectorbt_engine, vectorized
from tests.unit.engines.conftest import make_bars, make_signals
from tests.unit.engines.test_backtrader_rules import golden_params, run_golden

@pytest.mark.parametrize("fn, kwargs", golden_params())
def test_golden_rule_holds_on_vectorbt_or_is_refused(fn, kwargs, monkeypatch):
    try:
        run_golden(fn, kwargs, vectorbt_engine.run, monkeypatch)
    except ConfigError as exc:
        # only settings vectorbt has no counterpart for
        assert any(k in str(exc) for k in ("leverage", "minimum", "commission")), exc


def test_leverage_is_refused_naming_the_setting():
    with pytest.raises(ConfigError, match="leverage=3"):
        vectorbt_engine.run(make_bars([1, 2, 3]), make_signals(3),
                            ExecutionConfig(leverage=3))


@pytest.mark.parametrize("commission, size_type", [
    (ib_fixed(), "quantity"),                       # $1 minimum, 1 % cap
    (Commission(CommissionModel.PERCENT, rate=0.001, minimum=1.0), "equity_fraction"),
    (per_share(0.005), "equity_fraction"),          # rate x quantity needs a fixed quantity
    (per_contract(0.85), "notional")])
def test_commission_vectorbt_cannot_express_is_refused(commission, size_type):
    cfg = ExecutionConfig(commission=commission, size_type=size_type,
                          size=1 if size_type != "notional" else 100)
    with pytest.raises(ConfigError, match="commission"):
        vectorbt_engine.run(make_bars([1, 2, 3]), make_signals(3), cfg)


def test_minimum_notional_is_refused_naming_the_minimum():
    with pytest.raises(ConfigError, match="min_notional=10: vectorbt has a minimum order "
                                          "size in units"):
        vectorbt_engine.run(make_bars([1, 2, 3]), make_signals(3),
                            ExecutionConfig(min_notional=10))


def test_per_contract_with_fixed_quantity_and_multiplier_matches_the_fast_engine():
    bars = make_bars([70, 70, 70, 70.5, 70.5])
    sig = make_signals(5, el=[1], xl=[2])
    cfg = ExecutionConfig(cash=100_000, multiplier=100, commission=per_contract(0.85),
                          size_type="quantity", size=2)
    a, b = vectorized.run(bars, sig, cfg), vectorbt_engine.run(bars, sig, cfg)
    t = b.trades.iloc[0]
    assert (t.qty, t.entry_price, t.exit_price) == (2, 70.0, 70.5)
    assert t.fees == pytest.approx(2 * 2 * 0.85)
    assert t.pnl == pytest.approx(a.trades.pnl.iloc[0])
    np.testing.assert_allclose(b.equity.to_numpy(), a.equity.to_numpy(), rtol=1e-12)


def test_quantity_beyond_the_buying_power_is_refused_after_the_run():
    # the fast engine caps 50 units at what 1,000 buys; vectorbt would cap differently
    # once a commission is charged, and does not cap shorts at all
    bars = make_bars([100, 100, 100, 110, 110])
    cfg = ExecutionConfig(cash=1000, direction="short", size_type="quantity", size=50)
    with pytest.raises(ConfigError, match="buying power"):
        vectorbt_engine.run(bars, make_signals(5, es=[1]), cfg)


def test_short_at_1x_is_liquidated_like_the_fast_engine():
    liq = 100 * 2 / 1.005
    bars = make_bars([100, 100, 100, 150, 150], high=[100.5, 100.5, 100.5, 210, 150.5])
    cfg = ExecutionConfig(cash=1000, direction="short")
    a = vectorized.run(bars, make_signals(5, es=[1]), cfg)
    b = vectorbt_engine.run(bars, make_signals(5, es=[1]), cfg)
    assert a.trades.exit_reason.iloc[0] == b.trades.exit_reason.iloc[0] == "liquidation"
    assert b.trades.exit_price.iloc[0] == pytest.approx(liq, rel=1e-12)
    assert b.equity.iloc[-1] == pytest.approx(a.equity.iloc[-1], rel=1e-12)


def test_each_bar_is_laid_out_as_the_module_table_says():
    bars = make_bars([10, 20], high=[11, 22], low=[9, 18], close=[10.5, 21])
    (o, h, l, c), opens = vectorbt_engine.expanded_rows(bars, 2.0)
    k = vectorbt_engine.ROWS_PER_BAR
    assert len(c) == 2 * k + 1
    first = slice(0, k)
    np.testing.assert_array_equal(o[first], [20] * 10 + [21])
    np.testing.assert_array_equal(h[first], [20] * 6 + [22] * 4 + [21])
    np.testing.assert_array_equal(l[first], [20] * 6 + [18] * 4 + [21])
    np.testing.assert_array_equal(c[first], [20] * 6 + [21] * 4 + [21])
    assert c[-1] == 42.0 and list(opens) == [20.0, 40.0]


def test_short_opening_beyond_both_its_stop_and_liquidation_is_liquidated_at_the_open():
    bars = make_bars([100, 100, 100, 250, 250])
    cfg = ExecutionConfig(cash=1000, direction="short", sl=0.5, slippage=0.001, size=0.3)
    a = vectorized.run(bars, make_signals(5, es=[1]), cfg)
    b = vectorbt_engine.run(bars, make_signals(5, es=[1]), cfg)
    for r in (a, b):
        t = r.trades.iloc[0]
        assert (t.exit_reason, t.exit_price) == ("liquidation", 250.0)
    assert b.trades.qty.iloc[0] == pytest.approx(a.trades.qty.iloc[0], rel=1e-12)
    assert b.equity.iloc[-1] == pytest.approx(a.equity.iloc[-1], rel=1e-12)


def test_an_account_gapping_below_zero_is_refused():
    # all-in short at 100, the open gaps to 250: the loss (1,500) exceeds the equity;
    # the fast engine closes all 10 units (equity -500), vectorbt could buy back only 8
    bars = make_bars([100, 100, 100, 250, 250])
    cfg = ExecutionConfig(cash=1000, direction="short")
    assert vectorized.run(bars, make_signals(5, es=[1]), cfg).equity.iloc[-1] < 0
    with pytest.raises(ConfigError, match="below zero at bar 3"):
        vectorbt_engine.run(bars, make_signals(5, es=[1]), cfg)


def test_whole_units_a_hair_below_an_integer_are_refused_not_rounded_differently():
    # 1,000 / 100.000000001 buys 9.9999999999 units: the fast engine rounds to 10 (it
    # tolerates 1e-9), vectorbt floors to 9; the engine says so instead of differing
    bars = make_bars([100, 100, 100.000000001, 101, 101])
    cfg = ExecutionConfig(cash=1000, whole_units=True)
    assert vectorized.run(bars, make_signals(5, el=[1]), cfg).trades.qty.iloc[0] == 10
    with pytest.raises(ConfigError, match="sizing"):
        vectorbt_engine.run(bars, make_signals(5, el=[1]), cfg)


@pytest.mark.parametrize("multiplier", [1.0, 0.1, 100.0])
@pytest.mark.parametrize("open2", [10360.0, 1.1037, 97.3])
def test_stop_and_target_equally_far_from_the_open_resolve_like_the_fast_engine(
        multiplier, open2):
    # sl = tp and no slippage: the entry bar's open is exactly as far from both;
    # the levels are compared with the kernel's arithmetic, not on scaled prices
    bars = make_bars([open2] * 5, high=[open2 * 1.01] * 5, low=[open2 * 0.99] * 5)
    cfg = ExecutionConfig(cash=10_000, sl=0.005, tp=0.005, both_hit="nearest_to_open",
                          multiplier=multiplier)
    a = vectorized.run(bars, make_signals(5, el=[1]), cfg)
    b = vectorbt_engine.run(bars, make_signals(5, el=[1]), cfg)
    assert b.trades.exit_reason.iloc[0] == a.trades.exit_reason.iloc[0]
    assert b.trades.exit_price.iloc[0] == pytest.approx(a.trades.exit_price.iloc[0],
                                                        rel=1e-12)
