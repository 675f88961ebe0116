"""Real bot processes (``lab.live.runner``) trading through IBBroker at the stand-in gateway.

The test thread plays the market: it streams the stand-in's 5-second bars (real ES
minute bars, time compressed) and moves prices; the bot runs in its own process, the
one the supervisor starts (the test itself restarts it after a kill -9).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lab.core.config import ExecutionConfig
from lab.costs import per_contract
from lab.live import control
from lab.live.config import BotConfig
from tests.venues.ib_gateway import StandInGateway

pytestmark = pytest.mark.slow

ES = {"symbol": "ES", "sec_type": "FUT", "expiry": "201312"}


def _config(port: int, name: str) -> BotConfig:
    return BotConfig(
        name=name, symbol="ES", timeframe="1m", strategy="buy_and_hold",
        execution=ExecutionConfig(cash=200_000, sl=0.002, tp=0.01,
                                  commission=per_contract(0.85), multiplier=50,
                                  size_type="quantity", size=1),
        asset_class="future", feed={"kind": "ib", "warmup": 0, "poll_s": 0.1},
        broker={"kind": "ib", "port": port, "client_id": 41, "contract": ES})


def _wait(what, check, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _refs(gw):
    return [r.fields[26] for r in gw.requests("place_order")]


def _run(name, root, cli: bool = False) -> subprocess.Popen:
    """The bot process, as the supervisor starts it (``cli``: ``python -m lab bot run``,
    which records the session in MLflow when it ends)."""
    code = f"import sys; from lab.live.runner import main; sys.exit(main({name!r}, {str(root)!r}))"
    env = dict(os.environ, LAB_DATA_DIR=str(root), PYTHONPATH=os.getcwd())
    if cli:
        return subprocess.Popen([sys.executable, "-m", "lab", "--store", str(root), "bot",
                                 "run", name], env=env)
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()                   # SIGTERM: the runner stops between bars
        proc.wait(30)


def test_bracket_fill_disconnect_fill_while_away_and_ledger_equals_positions(live_root):
    with StandInGateway() as gw:
        control.create(_config(gw.port, "ib-es"), live_root)
        bot = _run("ib-es", live_root, cli=True)
        try:
            _wait("the bot's 5-second bar stream", lambda: gw.requests("realtime_bars"))
            gw.push_realtime_bars(12)                        # minute 0 closes: buy
            _wait("the entry to fill", lambda: gw.positions() == {"ESZ3": 1.0})
            refs = _refs(gw)
            coid = refs[0]
            _wait("the acknowledgement in the ledger", lambda: [
                o["status"] for o in control.orders("ib-es", live_root)] == ["filled"])
            assert refs == [coid, coid + ".tp", coid + ".sl"]   # one bracket
            stop = next(o for o in gw.orders() if o.order_ref == coid + ".sl")
            entry = next(o for o in gw.orders() if o.order_ref == coid)
            assert stop.aux_price == pytest.approx(round(entry.avg_fill_price * 0.998 * 4) / 4)
            gw.drop_clients()
            gw.set_price("ESZ3", stop.aux_price - 1.0)       # the stop fills while away
            assert gw.positions() == {}
            _wait("the bot to reconnect", lambda: len(gw.requests("realtime_bars")) >= 2)
            gw.push_realtime_bars(12)                        # minute 1 closes
            fills = _wait("the stop fill in the ledger",
                          lambda: (f := control.fills("ib-es", live_root)) and len(f) == 2 and f)
            assert [f["reason"] for f in fills] == ["entry", "stop"]
            assert fills[0]["fee"] == fills[1]["fee"] == 0.85          # IB's commission
            st = control.status("ib-es", live_root)
            assert st["position"] == 0.0 and gw.positions() == {}     # ledger = broker
            assert st["risk_state"] == "ACTIVE"
            kinds = [e["kind"] for e in control.events("ib-es", live_root)]
            assert kinds.count("reconciled") >= 2                      # start + reconnect
            assert _refs(gw) == refs                                   # nothing resent
        finally:
            _stop(bot)
        # the session's MLflow run has IB's commissions against the model's
        from lab.tracking import get_run, tracking_uri

        totals = control.fill_costs("ib-es", live_root)["totals"]
        assert totals["fills_with_model"] == 2 and totals["fee_drift"] == 0.0
        run = get_run(control.status("ib-es", live_root)["session_run_id"],
                      tracking_uri=tracking_uri(live_root))
        assert {k: run["metrics"][k] for k in ("fees", "fees_model", "fee_drift",
                                               "slippage_cost")} == \
            {k: totals[k] for k in ("fees", "fees_model", "fee_drift", "slippage_cost")}


def test_kill_9_between_placing_and_acknowledging_resends_nothing(live_root):
    with StandInGateway() as gw:
        gw.hang("place_order")              # the order goes in, its acknowledgement never
        control.create(_config(gw.port, "ib-k9"), live_root)
        bot = _run("ib-k9", live_root)
        try:
            _wait("the bar stream", lambda: gw.requests("realtime_bars"))
            gw.push_realtime_bars(12)
            _wait("the whole bracket at IB", lambda: any(r.endswith(".sl") for r in _refs(gw)))
            assert control.orders("ib-k9", live_root) == []     # no acknowledgement yet
            os.kill(bot.pid, signal.SIGKILL)
            bot.wait(10)
            _wait("the dead session to close", lambda: gw.connected_clients() == [])
            bot = _run("ib-k9", live_root)                   # as the supervisor restarts it
            _wait("the new process's stream", lambda: len(gw.requests("realtime_bars")) >= 2)
            fills = _wait("the entry in the ledger",
                          lambda: (f := control.fills("ib-k9", live_root)) and f)
            assert [f["reason"] for f in fills] == ["entry"]
            coid = _refs(gw)[0]
            assert _refs(gw) == [coid, coid + ".tp", coid + ".sl"]    # sent once, never again
            orders = control.orders("ib-k9", live_root)
            assert [(o["client_order_id"], o["status"]) for o in orders] == [(coid, "filled")]
            assert gw.positions() == {"ESZ3": 1.0}
            assert control.status("ib-k9", live_root)["position"] == 1.0
        finally:
            _stop(bot)


def test_unknown_position_halts_the_bot_until_the_user_adopts_it_then_flattens(
        live_root, capsys):
    from lab.cli import main

    store = ["--store", str(live_root)]
    with StandInGateway() as gw:
        gw.add_position("DU7654321", "ESZ3", 2, 1676.0 * 50)
        control.create(_config(gw.port, "ib-unk"), live_root)
        bot = _run("ib-unk", live_root)
        try:
            st = _wait("the halt", lambda: (s := control.status("ib-unk", live_root))
                       ["risk_state"] == "HALTED" and s)
            assert "ledger position 0.0 != broker position 2.0" in st["risk_reason"]
            assert "bot adopt ib-unk" in st["risk_reason"]
            _wait("the bar stream", lambda: gw.requests("realtime_bars"))
            gw.push_realtime_bars(24)
            _wait("two bars seen", lambda: control.status("ib-unk", live_root)
                  ["bars_seen"] >= 2)
            assert gw.requests("place_order") == []           # halted: nothing sent
            failed = [e for e in control.events("ib-unk", live_root)
                      if e["kind"] == "reconcile_failed"]
            assert len(failed) == 1, failed          # one event, not one per halted bar
            assert main(store + ["bot", "adopt", "ib-unk"]) == 0
            assert "adopt sent to bot ib-unk" in capsys.readouterr().out
            st = _wait("the adoption", lambda: (s := control.status("ib-unk", live_root))
                       ["risk_state"] == "ACTIVE" and s)
            assert st["position"] == 2.0 and st["entry_price"] == 1676.0
            [fill] = control.fills("ib-unk", live_root)
            assert (fill["reason"], fill["side"], fill["qty"], fill["price"], fill["fee"]) \
                == ("adopted", 1, 2.0, 1676.0, 0.0)
            kinds = [e["kind"] for e in control.events("ib-unk", live_root)]
            assert "adopted" in kinds and kinds[-1] == "resume"
            assert gw.positions() == {"ESZ3": 2.0}            # IB untouched by adopting
            assert main(store + ["bot", "flatten", "ib-unk"]) == 0
            assert "flatten sent to bot ib-unk" in capsys.readouterr().out
            fills = _wait("the flattening fill", lambda: len(
                f := control.fills("ib-unk", live_root)) == 2 and f)
            assert gw.positions() == {}
            assert [(f["reason"], f["side"], f["qty"]) for f in fills] == \
                [("adopted", 1, 2.0), ("flatten", -1, 2.0)]
            assert (fills[1]["fee"], fills[1]["fee_model"]) == (1.7, 1.7)   # IB's, model's
            st = _wait("ledger = broker", lambda: (s := control.status("ib-unk", live_root))
                       ["position"] == 0.0 and s)
            assert st["risk_state"] == "ACTIVE"
            assert st["cash"] == pytest.approx(200_000 - 1.7 + 2 * 50 * (fills[1]["price"]
                                                                         - 1676.0))
            assert [r.fields[26] for r in gw.requests("place_order")] == \
                [fills[1]["client_order_id"]]                 # one order: the flattening
            assert main(store + ["bot", "fills", "ib-unk", "--json"]) == 0
            doc = json.loads(capsys.readouterr().out)
            flat = doc["fills"][1]
            assert flat["price_model"] is not None                 # the last close
            assert flat["slippage_cost"] == pytest.approx(
                -(flat["price"] - flat["price_model"]) * 2 * 50)
            assert doc["totals"] == {"fills": 2, "fills_with_model": 1, "fees": 1.7,
                                     "fees_model": 1.7, "fee_drift": 0.0,
                                     "slippage_cost": flat["slippage_cost"]}
        finally:
            _stop(bot)


def test_flatten_of_a_stopped_bot_closes_a_position_its_ledger_did_not_know(live_root,
                                                                              capsys):
    from lab.cli import main

    with StandInGateway() as gw:
        gw.add_position("DU7654321", "ESZ3", -3, 1690.0 * 50)
        control.create(_config(gw.port, "ib-off"), live_root)
        assert main(["--store", str(live_root), "bot", "flatten", "ib-off"]) == 0
        out = capsys.readouterr().out
        assert "adopted position -3 ES at 1690" in out and "trades again" in out
        assert gw.positions() == {}
        fills = control.fills("ib-off", live_root)
        assert [(f["reason"], f["side"], f["qty"]) for f in fills] == \
            [("adopted", -1, 3.0), ("flatten", 1, 3.0)]
        st = control.status("ib-off", live_root)
        assert st["position"] == 0.0 and st["risk_state"] == "ACTIVE"
        kinds = [e["kind"] for e in control.events("ib-off", live_root)]
        assert kinds.index("reconcile_failed") < kinds.index("adopted") \
            < kinds.index("flatten") < kinds.index("resume")


def test_an_adopted_order_that_fills_later_halts_the_bot_again_until_adopted(live_root):
    from ib_async import IB, LimitOrder

    from lab.live.ib.contracts import ContractSpec

    with StandInGateway() as gw:
        other = IB()                              # someone's order in TWS on the contract
        other.connect("127.0.0.1", gw.port, clientId=77, timeout=5)
        other.placeOrder(other.qualifyContracts(ContractSpec(**ES).to_ib())[0],
                         LimitOrder("BUY", 1, 1500.0, orderRef="manual"))
        other.sleep(0.2)
        control.create(_config(gw.port, "ib-ord"), live_root)
        bot = _run("ib-ord", live_root)
        try:
            st = _wait("the halt", lambda: (s := control.status("ib-ord", live_root))
                       ["risk_state"] == "HALTED" and s)
            assert "orders at the broker the ledger does not know: BUY 1 LMT (orderRef " \
                   "'manual'" in st["risk_reason"]
            control.adopt("ib-ord", live_root)
            _wait("the adoption", lambda: control.status("ib-ord", live_root)
                  ["risk_state"] == "ACTIVE")
            adopted = [e for e in control.events("ib-ord", live_root) if e["kind"] == "adopted"]
            assert adopted[0]["data"]["orders"][0].startswith("BUY 1 LMT (orderRef 'manual'")
            assert control.fills("ib-ord", live_root) == []       # no position to adopt
            gw.set_price("ESZ3", 1499.0)                           # the adopted order fills
            assert gw.positions() == {"ESZ3": 1.0}
            _wait("the bar stream", lambda: gw.requests("realtime_bars"))
            gw.push_realtime_bars(24)
            st = _wait("the halt on IB's new position", lambda: (
                s := control.status("ib-ord", live_root))["risk_state"] == "HALTED" and s)
            assert "ledger position 0.0 != broker position 1.0" in st["risk_reason"]
            control.adopt("ib-ord", live_root)
            st = _wait("the second adoption", lambda: (s := control.status(
                "ib-ord", live_root))["risk_state"] == "ACTIVE" and s)
            [fill] = control.fills("ib-ord", live_root)
            # at IB's average cost (the stand-in fills the limit at its level)
            assert (fill["reason"], fill["qty"], fill["price"]) == ("adopted", 1.0, 1500.0)
            assert st["position"] == 1.0
            assert [r.client_id for r in gw.requests("place_order")] == [77]   # not the bot
        finally:
            _stop(bot)
            other.disconnect()
