"""Risk manager: no accepted order breaks a limit; a HALTED bot places nothing; REDUCING
lets only shrinking orders through; refusals carry the rule and the numbers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lab.live.config import RiskLimits
from lab.live.risk import OrderCheck, RiskManager, RiskState

limit = st.one_of(st.none(), st.floats(0.5, 1e6, allow_nan=False))
fraction = st.one_of(st.none(), st.floats(0.01, 5.0))
limits = st.builds(RiskLimits, max_position_units=limit, max_position_notional=limit,
                   max_concentration=fraction, max_leverage=fraction,
                   max_orders_per_minute=st.one_of(st.none(), st.integers(1, 5)))
orders = st.builds(OrderCheck, side=st.sampled_from([1, -1]), qty=st.floats(1e-6, 1e4),
                   price=st.floats(0.01, 1e5), position=st.floats(-1e4, 1e4),
                   equity=st.floats(-1e3, 1e6), multiplier=st.sampled_from([1.0, 50.0]),
                   is_exit=st.booleans())


@settings(max_examples=300, deadline=None)
@given(limits, st.lists(orders, min_size=1, max_size=12))
def test_no_accepted_order_breaks_a_limit(lim, seq):
    clock = [0.0]
    rm = RiskManager(lim, clock=lambda: clock[0])
    accepted_times = []
    for o in seq:
        now = clock[0]
        d = rm.check(o)
        clock[0] += 7.0
        if not d.accepted:
            assert d.rule and d.message
            continue
        if o.reduces:
            accepted_times.append(now)
            continue                                  # shrinking is always allowed
        if lim.max_orders_per_minute is not None:     # earlier acceptances in 60 s
            recent = [u for u in accepted_times if u > now - 60]
            assert len(recent) < lim.max_orders_per_minute
        accepted_times.append(now)
        after = abs(o.position_after)
        notional = after * o.price * o.multiplier
        if lim.max_position_units is not None:
            assert after <= lim.max_position_units
        if lim.max_position_notional is not None:
            assert notional <= lim.max_position_notional
        for f in (lim.max_concentration, lim.max_leverage):
            if f is not None:
                assert o.equity > 0 and notional / o.equity <= f


@settings(max_examples=200, deadline=None)
@given(limits, st.lists(orders, min_size=1, max_size=10))
def test_a_halted_manager_passes_nothing_but_exits(lim, seq):
    rm = RiskManager(lim, RiskState.HALTED)
    for o in seq:
        d = rm.check(o)
        assert d.accepted == o.is_exit
        if not d.accepted:
            assert d.rule == "halted"


@settings(max_examples=200, deadline=None)
@given(st.lists(orders, min_size=1, max_size=10))
def test_reducing_passes_only_orders_that_shrink(seq):
    rm = RiskManager(RiskLimits(), RiskState.REDUCING)
    for o in seq:
        d = rm.check(o)
        assert d.accepted == o.reduces
        if d.accepted and not o.is_exit:
            assert abs(o.position_after) < abs(o.position)


def test_daily_loss_goes_reducing_until_the_next_utc_day_and_drawdown_halts():
    rm = RiskManager(RiskLimits(max_daily_loss=0.05, max_drawdown=0.2))
    assert rm.mark(10_000, "2024-01-01") is RiskState.ACTIVE
    assert rm.mark(9_400, "2024-01-01") is RiskState.REDUCING
    assert "daily loss" in rm.reason
    assert rm.mark(9_300, "2024-01-02") is RiskState.ACTIVE
    assert rm.mark(7_900, "2024-01-02") is RiskState.HALTED
    assert rm.mark(12_000, "2024-01-03") is RiskState.HALTED      # only a person resumes
    rm.resume()
    assert rm.state is RiskState.ACTIVE


def test_refusal_names_rule_and_numbers():
    rm = RiskManager(RiskLimits(max_position_notional=1_000))
    d = rm.check(OrderCheck(1, 2.0, 600.0, 0.0, 10_000))
    assert not d.accepted and d.rule == "max_position_notional"
    assert d.numbers["value"] == 1_200 and d.numbers["limit"] == 1_000


def test_account_limits_sum_over_the_bots():
    from lab.live.risk import AccountView

    view = AccountView(other_notional=8_000, equity=20_000, orders_last_minute=0)
    rm = RiskManager(RiskLimits(), account_limits=RiskLimits(max_position_notional=10_000),
                     account_view=lambda: view)
    ok = rm.check(OrderCheck(1, 1.0, 1_500, 0.0, 10_000))
    assert ok.accepted
    refused = rm.check(OrderCheck(1, 2.0, 1_500, 0.0, 10_000))
    assert not refused.accepted and refused.rule == "account.max_position_notional"
    assert refused.numbers["value"] == 11_000
    assert rm.check(OrderCheck(-1, 5.0, 1_500, 5.0, 10_000, is_exit=True)).accepted
    halted = RiskManager(RiskLimits(), account_limits=RiskLimits(max_daily_loss=0.05),
                         account_view=lambda: AccountView(day_loss=0.06, equity=1.0))
    d = halted.check(OrderCheck(1, 1.0, 1.0, 0.0, 10_000))
    assert not d.accepted and d.rule == "account.max_daily_loss"
