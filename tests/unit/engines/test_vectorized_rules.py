"""Golden tests of the fast engine: each rule on 5-10 hand-made bars, exact values.

Unless a test says otherwise: cash 1,000, no costs, daily bars, long only,
high/low = max/min(open, close) +- 0.5, size = all of the equity.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lab.core import ExecutionConfig
from lab.costs import ib_fixed, per_contract, percent
from lab.engines.vectorized import run
from tests.unit.engines.conftest import make_bars, make_signals

CASH = 1_000.0


def cfg(**kw) -> ExecutionConfig:
    return ExecutionConfig(cash=CASH, **kw)


def only_trade(result):
    assert len(result.trades) == 1, result.trades
    return result.trades.iloc[0]


# --- timing -----------------------------------------------------------------------

def test_signal_at_close_fills_at_next_open():
    bars = make_bars([10, 10, 11, 12, 13, 14])
    r = run(bars, make_signals(6, el=[1], xl=[3]), cfg())
    t = only_trade(r)
    qty = CASH / 11
    assert (t.entry_bar, t.exit_bar) == (2, 4)
    assert (t.entry_price, t.exit_price) == (11, 13)
    assert t.qty == pytest.approx(qty, rel=1e-12)
    assert t.pnl == pytest.approx(qty * 2, rel=1e-12)
    assert t.exit_reason == "signal"
    expected_equity = [CASH, CASH, CASH, CASH + qty * 1, CASH + qty * 2, CASH + qty * 2]
    np.testing.assert_allclose(r.equity.to_numpy(), expected_equity, rtol=1e-12)


def test_equity_is_marked_to_market_at_each_close():
    bars = make_bars([100, 100, 100, 100, 100], close=[100, 100, 104, 96, 100])
    r = run(bars, make_signals(5, el=[1]), cfg())
    # 10 units bought at the open of bar 2 (100); closes 104, 96, then end at 100
    np.testing.assert_allclose(r.equity.to_numpy(), [1000, 1000, 1040, 960, 1000])
    np.testing.assert_allclose(r.position.to_numpy(), [0, 0, 10, 10, 0])


def test_entry_and_exit_on_the_same_bar_cancel():
    bars = make_bars([10, 10, 11, 12, 13])
    r = run(bars, make_signals(5, el=[1], xl=[1]), cfg())
    assert r.trades.empty
    assert r.equity.iloc[-1] == CASH


def test_position_still_open_at_the_end_closes_at_last_close_with_reason_end():
    bars = make_bars([10, 10, 11, 12, 13], close=[10, 10, 11, 12, 12.5])
    r = run(bars, make_signals(5, el=[1]), cfg())
    t = only_trade(r)
    assert (t.exit_bar, t.exit_price, t.exit_reason) == (4, 12.5, "end")
    assert r.position.iloc[-1] == 0


def test_level_entry_reenters_on_the_next_open_after_a_stop():
    bars = make_bars([100, 100, 100, 99, 100, 101], low=[99.5, 99.5, 99.5, 94, 99.5, 100.5])
    r = run(bars, make_signals(6, el=range(6)), cfg(sl=0.05))
    assert list(r.trades.exit_reason) == ["stop", "end"]
    assert list(r.trades.entry_bar) == [1, 4]


# --- stops and targets ------------------------------------------------------------

def test_stop_fills_at_the_stop_price_when_touched_intrabar():
    bars = make_bars([100, 100, 100, 99, 96], low=[99.5, 99.5, 99.5, 94, 95.5],
                     close=[100, 100, 100, 96, 96])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(sl=0.05)))
    assert (t.exit_bar, t.exit_price, t.exit_reason) == (3, 95.0, "stop")
    assert t.pnl == pytest.approx(10 * (95 - 100))


def test_stop_fills_at_the_open_when_the_bar_gaps_through():
    bars = make_bars([100, 100, 100, 90, 90])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(sl=0.05)))
    assert (t.exit_bar, t.exit_price, t.exit_reason) == (3, 90.0, "stop")
    assert t.pnl == pytest.approx(-100.0)


def test_take_profit_fills_at_the_target_without_slippage():
    bars = make_bars([100, 100, 100, 101, 101], high=[100.5, 100.5, 100.5, 106, 101.5])
    r = run(bars, make_signals(5, el=[1]), cfg(tp=0.05, slippage=0.001))
    t = only_trade(r)
    entry = 100 * 1.001                       # market entry pays 10 bps
    assert t.entry_price == pytest.approx(entry)
    assert t.exit_price == pytest.approx(entry * 1.05)   # limit: exactly the target
    assert t.exit_reason == "target"


def test_take_profit_fills_at_the_better_open_when_the_bar_gaps_through():
    bars = make_bars([100, 100, 100, 108, 108])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(tp=0.05)))
    assert (t.exit_bar, t.exit_price, t.exit_reason) == (3, 108.0, "target")


@pytest.mark.parametrize("rule, open3, expected_price, expected_reason", [
    ("stop_first", 101, 95.0, "stop"),
    ("target_first", 101, 105.0, "target"),
    ("nearest_to_open", 101, 105.0, "target"),   # open 101: target (4 away) nearer than stop (6)
    ("nearest_to_open", 99, 95.0, "stop"),       # open 99: stop (4 away) nearer than target (6)
])
def test_bar_touching_both_stop_and_target_follows_the_configured_rule(
        rule, open3, expected_price, expected_reason):
    bars = make_bars([100, 100, 100, open3, 100], high=[100.5, 100.5, 100.5, 106, 100.5],
                     low=[99.5, 99.5, 99.5, 94, 99.5], close=[100, 100, 100, 100, 100])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(sl=0.05, tp=0.05, both_hit=rule)))
    assert (t.exit_price, t.exit_reason) == (expected_price, expected_reason)


def test_both_hit_default_is_the_pessimistic_stop_first():
    assert ExecutionConfig().both_hit.value == "stop_first"


def test_position_opened_at_the_open_can_be_stopped_in_the_same_bar():
    bars = make_bars([100, 100, 100, 100], low=[99.5, 99.5, 94, 99.5],
                     close=[100, 100, 96, 100])
    t = only_trade(run(bars, make_signals(4, el=[1]), cfg(sl=0.05)))
    assert (t.entry_bar, t.exit_bar, t.exit_price) == (2, 2, 95.0)


# --- short and both ---------------------------------------------------------------

def test_short_profits_when_the_price_falls():
    bars = make_bars([100, 100, 100, 95, 90, 90])
    t = only_trade(run(bars, make_signals(6, es=[1], xs=[3]), cfg(direction="short")))
    assert (t.side, t.entry_price, t.exit_price) == ("short", 100, 90)
    assert t.pnl == pytest.approx(10 * 10)


def test_short_stop_sits_above_the_entry():
    bars = make_bars([100, 100, 100, 101, 101], high=[100.5, 100.5, 100.5, 104, 101.5])
    t = only_trade(run(bars, make_signals(5, es=[1]), cfg(direction="short", sl=0.03)))
    assert (t.exit_price, t.exit_reason) == (103.0, "stop")
    assert t.pnl == pytest.approx(-30.0)


def test_opposite_entry_reverses_in_one_step_when_direction_is_both():
    bars = make_bars([100, 100, 100, 105, 110, 100])
    r = run(bars, make_signals(6, el=[1], es=[3]), cfg(direction="both"))
    long_, short = r.trades.iloc[0], r.trades.iloc[1]
    assert (long_.side, long_.exit_bar, long_.exit_price, long_.exit_reason) == \
        ("long", 4, 110, "signal")
    assert (short.side, short.entry_bar, short.entry_price) == ("short", 4, 110)
    assert short.qty == pytest.approx(1100 / 110)    # sized on the equity after the exit
    assert r.equity.iloc[-1] == pytest.approx(1200.0)


def test_long_only_ignores_short_entries():
    bars = make_bars([100, 100, 100, 105, 110, 100])
    r = run(bars, make_signals(6, el=[1], es=[3]), cfg(direction="long"))
    t = only_trade(r)
    assert (t.side, t.exit_reason) == ("long", "end")


# --- leverage, margin, liquidation --------------------------------------------------

def test_leverage_scales_the_position_notional():
    bars = make_bars([100, 100, 100, 110, 110])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(leverage=3)))
    assert t.qty == pytest.approx(30.0)              # 3 x 1,000 / 100
    assert t.pnl == pytest.approx(300.0)
    assert t["return"] == pytest.approx(0.30)        # on the 1,000 margin


def test_long_is_liquidated_at_the_liquidation_price():
    # 10x: 100 units at 100, margin 1,000. Liquidation where margin + PnL = 0.5 % of notional:
    # 1000 + 100 (p - 100) = 0.005 x 100 p  ->  p = 100 x 0.9 / 0.995
    liq = 100 * 0.9 / 0.995
    bars = make_bars([100, 100, 100, 95, 92], low=[99.5, 99.5, 99.5, 89, 91.5],
                     close=[100, 100, 100, 92, 92])
    r = run(bars, make_signals(5, el=[1]), cfg(leverage=10))
    t = only_trade(r)
    assert (t.exit_bar, t.exit_reason) == (3, "liquidation")
    assert t.exit_price == pytest.approx(liq, rel=1e-12)
    remaining = CASH + 100 * (liq - 100)
    assert remaining == pytest.approx(0.005 * 100 * liq)
    assert r.equity.iloc[-1] == pytest.approx(remaining)
    assert r.metrics["liquidations"] == 1


def test_liquidation_fills_at_the_open_when_the_bar_gaps_through_it():
    bars = make_bars([100, 100, 100, 85, 85, 86, 87])
    r = run(bars, make_signals(7, el=[1, 4]), cfg(leverage=10))
    t = r.trades.iloc[0]
    assert (t.exit_bar, t.exit_price, t.exit_reason) == (3, 85.0, "liquidation")
    assert r.equity.iloc[3] == pytest.approx(CASH - 1500.0)   # losses beyond the margin
    assert len(r.trades) == 1                                  # a bust account opens nothing


def test_stop_between_entry_and_liquidation_fills_before_liquidation():
    bars = make_bars([100, 100, 100, 95, 92], low=[99.5, 99.5, 99.5, 89, 91.5],
                     close=[100, 100, 100, 92, 92])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(leverage=10, sl=0.05)))
    assert (t.exit_price, t.exit_reason) == (95.0, "stop")


def test_short_is_liquidated_above_the_entry():
    liq = 100 * 1.2 / 1.005                           # 5x short
    bars = make_bars([100, 100, 100, 105, 110], high=[100.5, 100.5, 100.5, 125, 110.5])
    t = only_trade(run(bars, make_signals(5, es=[1]), cfg(direction="short", leverage=5)))
    assert (t.exit_reason, t.exit_price) == ("liquidation", pytest.approx(liq))


def test_cash_account_long_is_never_liquidated():
    bars = make_bars([100, 100, 100, 5, 5], low=[99.5, 99.5, 99.5, 1, 4.5])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(leverage=1)))
    assert t.exit_reason == "end"


# --- costs --------------------------------------------------------------------------

def test_percent_commission_is_charged_on_both_fills_and_the_entry_fits_the_cash():
    bars = make_bars([100, 100, 100, 110, 110])
    r = run(bars, make_signals(5, el=[1], xl=[2]), cfg(commission=percent(0.001)))
    t = only_trade(r)
    qty = CASH / (100 * 1.001)                 # notional + 0.1 % fee = all of the cash
    entry_fee, exit_fee = qty * 100 * 0.001, qty * 110 * 0.001
    assert t.qty == pytest.approx(qty, rel=1e-12)
    assert t.fees == pytest.approx(entry_fee + exit_fee)
    assert t.pnl == pytest.approx(qty * 10 - entry_fee - exit_fee)
    assert r.equity.iloc[-1] == pytest.approx(CASH + t.pnl)
    assert r.metrics["fees"] == pytest.approx(entry_fee + exit_fee)


def test_ib_fixed_commission_applies_the_one_dollar_minimum():
    bars = make_bars([10, 10, 10, 11, 11])
    r = run(bars, make_signals(5, el=[1], xl=[2]),
            ExecutionConfig(cash=10_000, commission=ib_fixed(), size_type="quantity",
                            size=100))
    # 100 shares x $0.005 = $0.50 -> $1.00 minimum on each fill
    assert list(r.orders.fee) == [1.0, 1.0]


def test_ib_fixed_commission_is_capped_at_one_percent_of_trade_value():
    bars = make_bars([50, 50, 50, 51, 51])
    r = run(bars, make_signals(5, el=[1], xl=[2]),
            cfg(commission=ib_fixed(), size_type="quantity", size=1))
    # 1 share: $0.005 -> $1.00 minimum -> capped at 1 % of $50 = $0.50 (entry), $0.51 (exit)
    np.testing.assert_allclose(r.orders.fee.to_numpy(), [0.50, 0.51])


def test_per_contract_commission_with_a_futures_multiplier():
    # 2 WTI crude (CL) contracts, 1,000 barrels each, from 70.00 to 70.50
    bars = make_bars([70, 70, 70, 70.5, 70.5])
    r = run(bars, make_signals(5, el=[1], xl=[2]),
            ExecutionConfig(cash=100_000, leverage=10, multiplier=1000,
                            commission=per_contract(0.85), size_type="quantity", size=2))
    t = only_trade(r)
    assert t.qty == 2
    assert t.fees == pytest.approx(4 * 0.85)
    assert t.pnl == pytest.approx(2 * 1000 * 0.5 - 4 * 0.85)


def test_slippage_makes_buys_dearer_and_sells_cheaper():
    bars = make_bars([100, 100, 100, 110, 110])
    t = only_trade(run(bars, make_signals(5, el=[1], xl=[2]), cfg(slippage=0.0005)))
    assert t.entry_price == pytest.approx(100 * 1.0005)
    assert t.exit_price == pytest.approx(110 * 0.9995)


# --- sizing -----------------------------------------------------------------------

def test_fixed_notional_sizing_buys_that_much_currency_worth():
    bars = make_bars([100, 100, 100, 110, 110])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(size_type="notional", size=500)))
    assert t.qty == pytest.approx(5.0)


def test_equity_fraction_sizing_uses_that_share_of_equity():
    bars = make_bars([100, 100, 100, 110, 110])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(size=0.25)))
    assert t.qty == pytest.approx(2.5)


def test_whole_units_rounds_the_quantity_down():
    bars = make_bars([300, 300, 300, 310, 310])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(whole_units=True)))
    assert t.qty == 3.0


def test_quantity_beyond_the_buying_power_is_capped():
    bars = make_bars([100, 100, 100, 110, 110])
    t = only_trade(run(bars, make_signals(5, el=[1]), cfg(size_type="quantity", size=50)))
    assert t.qty == pytest.approx(10.0)               # 1,000 of cash buys 10 at 1x


@pytest.mark.parametrize("size_type,size", [("quantity", 50), ("notional", 5_000)])
@pytest.mark.parametrize("leverage", [1.0, 3.0])
def test_a_capped_quantity_spends_exactly_the_equity_on_margin_and_fee(size_type, size,
                                                                       leverage):
    """The cap is the quantity whose margin + its own commission equal the equity (not
    the commission of the larger quantity asked for)."""
    bars = make_bars([100, 100, 100, 110, 110])
    c = cfg(size_type=size_type, size=size, leverage=leverage, commission=percent(0.01))
    r = run(bars, make_signals(5, el=[1]), c)
    entry = r.orders.iloc[0]
    assert entry["qty"] * entry["price"] / leverage + entry["fee"] == pytest.approx(CASH,
                                                                                  rel=1e-12)
    assert entry["fee"] == pytest.approx(0.01 * entry["qty"] * entry["price"], rel=1e-12)


def test_no_entry_when_the_budget_buys_less_than_one_whole_unit():
    bars = make_bars([2000, 2000, 2000, 2100])
    r = run(bars, make_signals(4, el=[1]), cfg(whole_units=True))
    assert r.trades.empty and math.isnan(r.metrics["win_rate"])


# --- minimum notional ---------------------------------------------------------------

@pytest.mark.parametrize("min_notional, traded", [(1000.01, False), (1000.0, True),
                                                  (999.0, True)])
def test_entry_below_the_minimum_notional_is_not_placed_equal_or_above_is(min_notional,
                                                                          traded):
    # all of the 1,000 buys 10 units at 100: a notional of exactly 1,000
    bars = make_bars([100, 100, 100, 110, 110])
    r = run(bars, make_signals(5, el=[1]), cfg(min_notional=min_notional))
    if traded:
        t = only_trade(r)
        assert (t.entry_bar, t.qty, t.entry_price) == (2, 10.0, 100.0)
    else:
        assert r.trades.empty and r.orders.empty
        assert (r.equity == CASH).all()


def test_entry_refused_by_the_minimum_notional_pays_no_fee():
    # 1,000 buys 1,000 / 100.1 units, 999.0 of notional after the 0.1 % commission
    bars = make_bars([100, 100, 100, 110, 110])
    r = run(bars, make_signals(5, el=[1]), cfg(commission=percent(0.001), min_notional=1000))
    assert r.orders.empty and r.metrics["fees"] == 0.0
    assert (r.equity == CASH).all()


@pytest.mark.parametrize("sl, exit_bar, reason", [(None, 4, "signal"), (0.3, 3, "stop")])
def test_exit_below_the_minimum_notional_still_fills_and_the_reentry_does_not(sl, exit_bar,
                                                                               reason):
    # 10 units at 100 (1,000 = the minimum); the price halves: the exit is worth 500 and
    # fills; the entry signalled at bar 4 would be worth 500 and is not placed
    bars = make_bars([100, 100, 100, 50, 50, 50, 50])
    r = run(bars, make_signals(7, el=[1, 4], xl=[3]), cfg(sl=sl, min_notional=1000))
    t = only_trade(r)
    assert (t.exit_bar, t.exit_price, t.exit_reason) == (exit_bar, 50.0, reason)
    assert t.pnl == -500.0
    assert len(r.orders) == 2 and r.equity.iloc[-1] == 500.0
