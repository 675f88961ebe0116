"""Reconciliation before trading, risk refusals recorded as events, and the bot CLI."""

from __future__ import annotations

import json

from lab import costs
from lab.cli import main
from lab.core.config import ExecutionConfig
from lab.live import account, control
from lab.live.bot import Bot
from lab.live.broker import OrderRequest
from lab.live.config import BotConfig, RiskLimits
from lab.live.feeds import make_feed
from lab.live.ledger import Ledger, ledger_path
from lab.live.runner import Runner, make_broker, open_catalog

EX = ExecutionConfig(cash=10_000, commission=costs.percent(0.001))
FEED = {"kind": "replay", "speed": 0, "start": "2018-01-01", "end": "2018-01-20"}


def _config(name, **kw):
    return BotConfig(name=name, symbol="BTCUSD_COINBASE", timeframe="1h",
                     strategy="sma_cross", params={"fast": 8, "slow": 21}, execution=EX,
                     asset_class="crypto", feed=kw.pop("feed", FEED), track=False, **kw)


def test_an_unacknowledged_intent_found_at_the_broker_is_acknowledged_not_resent(live_root):
    cfg = _config("ack")
    uid = control.create(cfg, live_root)
    assert Runner("ack", live_root).run() == 0
    ledger = Ledger(ledger_path("paper", live_root))
    broker = make_broker(cfg, uid, live_root)
    req = OrderRequest(f"{uid}-999-e", cfg.symbol, 1, "entry", None, "open", 999)
    ledger.add_intent("ack", req.to_dict())             # written, then "crash" after submit
    broker.submit(req)
    bot = Bot(ledger, cfg, broker, make_feed(cfg, open_catalog(live_root)))
    bot.rebuild()
    assert bot.reconcile() is None
    assert ledger.intent(req.client_order_id)["status"] == "sent"
    assert [o["status"] for o in ledger.orders("ack") if o["client_order_id"] ==
            req.client_order_id] == ["submitted"]
    n = broker.con.execute("SELECT COUNT(*) FROM orders WHERE client_order_id = ?",
                           (req.client_order_id,)).fetchone()[0]
    assert n == 1


def test_failed_reconciliation_halts_the_bot_and_says_why(live_root):
    control.create(_config("tamper", feed={**FEED, "end": "2018-01-10"}), live_root)
    assert Runner("tamper", live_root).run() == 0
    assert control.fills("tamper", live_root)
    ledger = Ledger(ledger_path("paper", live_root))
    ledger.con.execute("UPDATE fills SET fee = fee + 5 WHERE seq = 0")   # the books differ
    ledger.update_bot("tamper", state="running")
    n_orders = len(control.orders("tamper", live_root))
    assert Runner("tamper", live_root).run() == 0
    st = control.status("tamper", live_root)
    assert st["risk_state"] == "HALTED" and "reconciliation failed" in st["risk_reason"]
    assert "cash" in st["last_error"]
    ev = control.events("tamper", live_root, last=5)
    assert any(e["kind"] == "reconcile_failed" for e in ev)
    assert len(control.orders("tamper", live_root)) == n_orders
    # the paper broker holds nothing its bot does not know: adopting changes nothing
    assert "nothing to adopt" in control.adopt("tamper", live_root)
    assert control.status("tamper", live_root)["risk_state"] == "HALTED"


def test_every_refusal_is_an_event_with_rule_and_numbers(live_root):
    cfg = _config("small", risk=RiskLimits(max_position_units=0.01))
    control.create(cfg, live_root)
    assert Runner("small", live_root).run() == 0
    refusals = [e for e in control.events("small", live_root) if e["kind"] == "risk_refusal"]
    assert refusals
    for e in refusals:
        assert e["data"]["rule"] == "max_position_units" and e["data"]["limit"] == 0.01
        assert e["data"]["value"] > 0.01
    assert control.fills("small", live_root) == []
    assert {o["status"] for o in control.orders("small", live_root)} == {"refused"}


def test_bot_cli_trades_have_the_keys_of_lab_backtest(live_root, capsys):
    store = ["--store", str(live_root)]
    control.create(_config("cli"), live_root)
    assert Runner("cli", live_root).run() == 0
    assert main(store + ["bot", "trades", "cli", "--json"]) == 0
    bot_trades = json.loads(capsys.readouterr().out)
    assert main(store + ["backtest", "--data", "BTCUSD_COINBASE", "--timeframe", "1h",
                         "--start", "2018-01-01", "--end", "2018-01-20", "--strategy",
                         "sma_cross", "--param", "fast=8", "--param", "slow=21",
                         "--commission", "0.001", "--json", "--no-track"]) == 0
    bt = json.loads(capsys.readouterr().out)["trades"]
    assert bot_trades and set(bot_trades[0]) == set(bt[0])
    assert bot_trades == [t for t in bt if t["exit_reason"] != "end"][:len(bot_trades)]
    assert main(store + ["bot", "status", "cli", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    for key in ("state", "pid", "bars_seen", "position", "cash", "equity", "realized_pnl",
                "unrealized_pnl", "risk_state", "last_heartbeat"):
        assert key in st
    assert st["state"] == "finished"
    assert main(store + ["bot", "orders", "cli", "--json"]) == 0
    orders = json.loads(capsys.readouterr().out)
    assert orders and all(o["client_order_id"] for o in orders)
    assert main(store + ["bot", "check", "cli"]) == 0
    assert "MATCH" in capsys.readouterr().out
    assert main(store + ["bot", "status", "nope"]) == 2
    assert "no bot named 'nope'" in capsys.readouterr().err


def test_account_limits_are_checked_across_the_bots_of_a_ledger(live_root):
    control.create(_config("first", feed={**FEED, "end": "2018-01-16"}), live_root)
    assert Runner("first", live_root).run() == 0
    held = control.status("first", live_root)
    assert held["position"] != 0                       # it ends holding a position
    view = account.view(Ledger(ledger_path("paper", live_root)), "second", "BTCUSD_COINBASE",
                        0.0)
    totals = {"other_notional": view.other_notional}
    last = control.equity("first", live_root).iloc[-1]
    assert totals["other_notional"] == abs(held["position"]) * last["close"]
    assert view.equity == held["equity"] and view.other_units == held["position"]
    # the second bot's entries would push the account's gross notional past the limit
    control.set_account_limits(RiskLimits(max_position_notional=totals["other_notional"]
                                          + 1.0), "paper", live_root)
    control.create(_config("second"), live_root)
    assert Runner("second", live_root).run() == 0
    refusals = [e for e in control.events("second", live_root) if e["kind"] == "risk_refusal"]
    assert refusals and {e["data"]["rule"] for e in refusals} == {
        "account.max_position_notional"}
    assert control.fills("second", live_root) == []
    assert control.account_limits("paper", live_root).max_position_notional == \
        totals["other_notional"] + 1.0
