"""Account-wide risk limits: the per-bot rules on sums over the account's bots: no
accepted order breaks an account limit (position units and notional, concentration,
leverage, orders per minute); the account goes REDUCING on its daily loss and HALTED on
its drawdown, with events naming the rule and the numbers; a person resumes it."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab import costs
from lab.cli import main
from lab.core.config import ExecutionConfig
from lab.live import account, control
from lab.live.config import BotConfig, RiskLimits
from lab.live.ledger import Ledger, ledger_path
from lab.live.risk import AccountView, OrderCheck, RiskManager
from lab.live.runner import Runner

limit = st.one_of(st.none(), st.floats(0.5, 1e6, allow_nan=False))
fraction = st.one_of(st.none(), st.floats(0.01, 5.0))
loss = st.one_of(st.none(), st.floats(0.01, 0.99))
account_limits = st.builds(
    RiskLimits, max_position_units=limit, max_position_notional=limit,
    max_concentration=fraction, max_leverage=fraction, max_daily_loss=loss,
    max_drawdown=loss, max_orders_per_minute=st.one_of(st.none(), st.integers(1, 5)))
views = st.builds(AccountView, other_notional=st.floats(0, 1e6), other_units=st.floats(-1e4, 1e4),
                  equity=st.floats(-1e3, 1e6), orders_last_minute=st.integers(0, 8),
                  day_loss=st.one_of(st.none(), st.floats(-0.5, 0.9)),
                  drawdown=st.one_of(st.none(), st.floats(0.0, 0.9)),
                  state=st.sampled_from(["ACTIVE", "ACTIVE", "HALTED"]))
orders = st.builds(OrderCheck, side=st.sampled_from([1, -1]), qty=st.floats(1e-6, 1e4),
                   price=st.floats(0.01, 1e5), position=st.floats(-1e4, 1e4),
                   equity=st.floats(1.0, 1e6), multiplier=st.sampled_from([1.0, 50.0]),
                   is_exit=st.booleans())


@settings(max_examples=400, deadline=None)
@given(account_limits, views, orders)
def test_no_accepted_order_breaks_an_account_limit(acc, view, o):
    rm = RiskManager(RiskLimits(), account_limits=acc, account_view=lambda: view)
    d = rm.check(o)
    if not d.accepted:
        assert d.rule.startswith("account.") and d.message
        return
    if not acc.any_set:
        return                                        # no account limit: no account check
    if view.state == "HALTED" or (acc.max_drawdown is not None and view.drawdown is not None
                                  and view.drawdown >= acc.max_drawdown):
        assert o.is_exit                              # HALTED: only flattening
        return
    if acc.max_daily_loss is not None and view.day_loss is not None and \
            view.day_loss >= acc.max_daily_loss:
        assert o.reduces                              # REDUCING: only shrinking
        return
    if o.reduces:
        return                                        # shrinking is always allowed
    notional = abs(o.position_after) * o.price * o.multiplier
    total = view.other_notional + notional
    if acc.max_position_units is not None:
        assert abs(view.other_units + o.position_after) <= acc.max_position_units
    if acc.max_position_notional is not None:
        assert total <= acc.max_position_notional
    if acc.max_orders_per_minute is not None:
        assert view.orders_last_minute < acc.max_orders_per_minute
    if acc.max_concentration is not None:
        assert view.equity > 0 and notional / view.equity <= acc.max_concentration
    if acc.max_leverage is not None:
        assert view.equity > 0 and total / view.equity <= acc.max_leverage


@settings(max_examples=200, deadline=None)
@given(account_limits, views, st.lists(orders, min_size=1, max_size=10))
def test_a_halted_account_passes_nothing_but_exits(acc, view, seq):
    if not acc.any_set:
        acc = RiskLimits(max_drawdown=0.1)
    halted = AccountView(**{**view.__dict__, "state": "HALTED", "reason": "drawdown"})
    rm = RiskManager(RiskLimits(), account_limits=acc, account_view=lambda: halted)
    for o in seq:
        d = rm.check(o)
        if not o.is_exit:
            assert not d.accepted and d.rule == "account.halted"


@settings(max_examples=200, deadline=None)
@given(st.floats(0.01, 0.5), st.lists(orders, min_size=1, max_size=10))
def test_an_account_at_its_daily_loss_passes_only_orders_that_shrink(limit_, seq):
    view = AccountView(equity=1e5, day_loss=limit_)
    rm = RiskManager(RiskLimits(), account_limits=RiskLimits(max_daily_loss=limit_),
                     account_view=lambda: view)
    for o in seq:
        d = rm.check(o)
        assert d.accepted == o.reduces
        if not d.accepted:
            assert d.rule == "account.max_daily_loss" and d.numbers["limit"] == limit_


def test_units_limit_is_on_the_account_net_position_in_the_symbol():
    view = AccountView(other_units=-3.0, equity=1e5)
    rm = RiskManager(RiskLimits(), account_limits=RiskLimits(max_position_units=4.0),
                     account_view=lambda: view)
    assert rm.check(OrderCheck(1, 7.0, 100.0, 0.0, 1e5)).accepted          # net +4
    d = rm.check(OrderCheck(-1, 1.5, 100.0, 0.0, 1e5))                     # net -4.5
    assert not d.accepted and d.rule == "account.max_position_units"
    assert d.numbers["value"] == 4.5 and d.numbers["limit"] == 4.0


EX = ExecutionConfig(cash=10_000, leverage=3, commission=costs.percent(0.001))


def _config(name, end="2018-01-31"):
    return BotConfig(name=name, symbol="BTCUSD_COINBASE", timeframe="1h",
                     strategy="sma_cross", params={"fast": 8, "slow": 21}, execution=EX,
                     asset_class="crypto", track=False,
                     feed={"kind": "replay", "speed": 0, "start": "2018-01-01", "end": end})


def test_account_drawdown_halts_every_bot_until_a_person_resumes(live_root, capsys):
    store = ["--store", str(live_root)]
    assert main(store + ["bot", "account-limits", "--max-drawdown", "0.03"]) == 0
    assert "risk ACTIVE" in capsys.readouterr().out
    control.create(_config("dd"), live_root)
    assert Runner("dd", live_root).run() == 0
    events = control.events("dd", live_root, last=5000)
    halt = [e for e in events if e["kind"] == "account_risk_state"]
    assert len(halt) == 1
    data = halt[0]["data"]
    assert data["rule"] == "account.max_drawdown" and data["limit"] == 0.03
    assert data["drawdown"] >= 0.03
    assert data["drawdown"] == pytest.approx(1 - data["equity"] / data["peak_equity"])
    assert "account.max_drawdown 0.03" in halt[0]["message"]
    # after the halt: entries refused by the account's state, exits still filled
    after = [e for e in events if e["id"] > halt[0]["id"]]
    refused = [e for e in after if e["kind"] == "risk_refusal"]
    assert refused and {e["data"]["rule"] for e in refused} == {"account.halted"}
    fills = control.fills("dd", live_root)
    t_halt = halt[0]["ts"]
    with _ledger(live_root) as ledger:
        late = [f for f in ledger.fills("dd") if f["recorded_at"] > t_halt]
    assert all(f["reason"] != "entry" for f in late)
    assert len(fills) >= 2
    # a second bot of the account is refused too, from its first entry
    control.create(_config("dd2", end="2018-01-10"), live_root)
    assert Runner("dd2", live_root).run() == 0
    assert control.fills("dd2", live_root) == []
    assert main(store + ["bot", "account-limits", "--json"]) == 0
    acc = json.loads(capsys.readouterr().out)
    assert acc["state"] == "HALTED" and "account.max_drawdown" in acc["reason"]
    assert acc["limits"]["max_drawdown"] == 0.03
    # a person resumes: ACTIVE, the peak restarts at the present equity
    assert main(store + ["bot", "account-limits", "--resume", "--json"]) == 0
    acc = json.loads(capsys.readouterr().out)
    assert acc["state"] == "ACTIVE" and acc["drawdown"] == pytest.approx(0.0, abs=1e-12)
    assert acc["peak_equity"] == pytest.approx(acc["equity"])


class _ledger:
    def __init__(self, root):
        self.ledger = Ledger(ledger_path("paper", root))

    def __enter__(self):
        return self.ledger

    def __exit__(self, *exc):
        self.ledger.close()


def test_account_units_limit_refuses_a_second_bot_in_the_same_symbol(live_root):
    control.create(_config("u1", end="2018-01-16"), live_root)
    assert Runner("u1", live_root).run() == 0
    held = control.status("u1", live_root)["position"]
    assert held > 0
    control.set_account_limits(RiskLimits(max_position_units=held + 0.05), "paper", live_root)
    control.create(_config("u2"), live_root)
    assert Runner("u2", live_root).run() == 0
    refusals = [e for e in control.events("u2", live_root) if e["kind"] == "risk_refusal"]
    assert refusals and {e["data"]["rule"] for e in refusals} == {"account.max_position_units"}
    assert all(e["data"]["value"] > held + 0.05 for e in refusals)
    assert control.fills("u2", live_root) == []


@pytest.mark.slow
def test_a_running_bot_applies_account_limits_set_while_it_runs(live_root):
    import time

    cfg = BotConfig(name="live-set", symbol="BTCUSD_COINBASE", timeframe="1h",
                    strategy="sma_cross", params={"fast": 5, "slow": 15}, execution=EX,
                    asset_class="crypto", track=False,
                    feed={"kind": "replay", "speed": 150, "start": "2018-01-01",
                          "end": "2018-02-20"})
    control.create(cfg, live_root)
    control.start("live-set", live_root)
    try:
        deadline = time.monotonic() + 300
        while control.status("live-set", live_root)["bars_seen"] < 100:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        control.set_account_limits(RiskLimits(max_position_units=0.01), "paper", live_root)
        while control.status("live-set", live_root)["state"] != "finished":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        control.command("live-set", "stop", live_root)
    events = control.events("live-set", live_root, last=5000)
    applied = [e for e in events if e["kind"] == "account_limits"]
    assert len(applied) == 1 and "max_position_units=0.01" in applied[0]["message"]
    before = [e for e in events if e["id"] < applied[0]["id"]]
    after = [e for e in events if e["id"] > applied[0]["id"]]
    assert not [e for e in before if e["kind"] == "risk_refusal"]
    refused = [e for e in after if e["kind"] == "risk_refusal"]
    assert refused and {e["data"]["rule"] for e in refused} == {"account.max_position_units"}
    entries = [f for f in control.fills("live-set", live_root) if f["reason"] == "entry"]
    late = [f for f in entries if f["recorded_at"] > applied[0]["ts"]]
    assert entries and len(late) <= 1        # at most the one sent before, filled at the open
