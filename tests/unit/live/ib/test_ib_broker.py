"""IBBroker against the stand-in gateway: brackets at the broker, orderRef lookups,
fills while away, unknown orders and positions, live-money refusals, IB's commissions."""

from __future__ import annotations

import pytest

from lab.core.config import ExecutionConfig
from lab.costs import per_contract
from lab.live.broker import BrokerError, DuplicateOrderError, OrderRequest
from lab.live.ib.broker import IBBroker
from lab.live.ib.connection import IBConnection
from lab.live.ib.contracts import ContractSpec
from lab.live.ib.journal import Journal
from lab.live.ib.settings import IBConnectionError, IBSettings
from tests.venues.ib_gateway import StandInGateway

ES = ContractSpec("ES", "FUT", expiry="201312")
EXEC = ExecutionConfig(cash=100_000, sl=0.01, tp=0.02, commission=per_contract(0.85),
                       multiplier=50, slippage=0.0005)


def make_broker(gateway, tmp_path, client_id=31, **kw) -> IBBroker:
    conn = IBConnection(IBSettings(port=gateway.port, client_id=client_id, timeout_s=3),
                        sleep=lambda s: None)
    journal = Journal(tmp_path / "ib_journal.sqlite", "b1")
    return IBBroker(conn, ES, uid="b1", symbol="ES", execution=EXEC, journal=journal, **kw)


@pytest.fixture()
def broker(gateway, tmp_path):
    b = make_broker(gateway, tmp_path).start()
    b.mark_reconciled()
    gateway.set_price("ESZ3", 1700.0)
    b.process_bar(0, "2013-10-07T00:00:00+00:00", 1700, 1701, 1699, 1700.0)
    yield b
    b.close()


def test_entry_goes_as_a_bracket_whose_levels_follow_the_fill(gateway, broker):
    gateway.set_price("ESZ3", 1702.0)                     # fills above the last close
    st = broker.submit(OrderRequest("b1-0-e", "ES", 1, "entry", 2))
    assert (st.status, st.filled_qty, st.avg_price, st.fee) == ("filled", 2.0, 1702.0, 1.7)
    [pos] = broker.positions()
    assert (pos.qty, pos.avg_price) == (2.0, 1702.0)
    assert pos.stop == 1685.0         # 1 % below 1702 = 1684.98, on ES's 0.25 tick
    assert pos.target == 1736.0       # 2 % above = 1736.04, on tick
    kids = {o.order_ref: o for o in gateway.orders() if o.order_ref.startswith("b1-0-e.")}
    assert kids["b1-0-e.sl"].oca_group == kids["b1-0-e.tp"].oca_group == "b1-0-e.oca"
    assert kids["b1-0-e.sl"].tif == "GTC" and kids["b1-0-e.sl"].status == "Submitted"
    [fill] = broker.fills()
    assert (fill.reason, fill.client_order_id, fill.qty, fill.fee) == ("entry", "b1-0-e", 2.0, 1.7)
    # the model: the last close (1700) plus 5 bps of slippage, per_contract(0.85) x 2
    assert broker.fee_comparison() == [{"fill_id": fill.fill_id, "fee": 1.7, "fee_model": 1.7,
                                        "price": 1702.0, "price_model": 1700.0 * 1.0005}]
    assert (fill.fee_model, fill.price_model) == (1.7, 1700.0 * 1.0005)


def test_stop_at_the_broker_closes_the_position_and_cancels_the_target(gateway, broker):
    broker.submit(OrderRequest("b1-0-e", "ES", 1, "entry", 2))
    gateway.set_price("ESZ3", 1680.0)                     # through the stop at 1683
    broker.process_bar(1, "2013-10-07T00:01:00+00:00", 1700, 1700, 1680, 1681.0)
    assert broker.positions() == []
    entry, stop = broker.fills()
    assert (stop.reason, stop.client_order_id, stop.side, stop.price) == ("stop", None, -1, 1680.0)
    # the model fills a stop at its level (1683, moved to the 1700 fill) less slippage
    assert stop.price_model == pytest.approx(1683.0 * (1 - 0.0005))
    tp = [o for o in gateway.orders() if o.order_ref == "b1-0-e.tp"][0]
    assert tp.status == "Cancelled"
    acct = broker.account()
    assert acct.cash == pytest.approx(100_000 - 1.7 - 1.7 + 2 * 50 * (1680.0 - 1700.0))
    assert acct.equity == acct.cash


def test_a_fill_while_disconnected_is_recorded_after_the_reconnect(gateway, broker):
    broker.submit(OrderRequest("b1-0-e", "ES", 1, "entry", 1))
    gateway.drop_clients()
    gateway.set_price("ESZ3", 1740.0)                     # target fills while we are away
    with pytest.raises(IBConnectionError):
        broker.conn.pump(0.3)                              # ib_async notices the drop
    broker.process_bar(1, "2013-10-07T00:01:00+00:00", 1700, 1740, 1700, 1740.0)
    assert broker.conn.connected and broker.reconcile_pending
    entry, target = broker.fills()
    assert [entry.reason, target.reason] == ["entry", "target"]
    assert target.price_model == 1734.0          # a limit: its level, 2 % above 1700
    assert broker.positions() == []
    with pytest.raises(BrokerError, match="reconciles before it sends"):
        broker.submit(OrderRequest("b1-1-e", "ES", 1, "entry", 1))
    broker.mark_reconciled()
    assert broker.submit(OrderRequest("b1-1-e", "ES", 1, "entry", 1)).status == "filled"


def test_unacknowledged_order_is_found_by_order_ref_and_never_resent(gateway, tmp_path):
    first = make_broker(gateway, tmp_path).start()
    first.mark_reconciled()
    first.process_bar(0, "2013-10-07T00:00:00+00:00", 1700, 1701, 1699, 1700.0)
    gateway.hang("place_order")                           # IB takes it, the answer is lost
    with pytest.raises(BrokerError, match="fate is unknown"):
        first.submit(OrderRequest("b1-0-e", "ES", 1, "entry", 1))
    first.close()
    again = make_broker(gateway, tmp_path).start()        # a restarted bot
    st = again.order("b1-0-e")
    assert st is not None and st.status == "filled" and st.filled_qty == 1.0
    with pytest.raises(DuplicateOrderError):
        again.submit(OrderRequest("b1-0-e", "ES", 1, "entry", 1))
    sent = [r for r in gateway.requests("place_order") if r.fields[26] == "b1-0-e"]
    assert len(sent) == 1
    assert [f.reason for f in again.fills()] == ["entry"]
    again.close()


def test_orders_and_positions_the_bot_does_not_own_are_reported(gateway, tmp_path):
    from ib_async import IB, LimitOrder

    other = IB()
    other.connect("127.0.0.1", gateway.port, clientId=77, timeout=5)
    other.placeOrder(other.qualifyContracts(ES.to_ib())[0],
                     LimitOrder("BUY", 1, 1500.0, orderRef="manual"))
    other.sleep(0.2)
    gateway.add_position("DU7654321", "ESZ3", 3, 1690.0 * 50)
    b = make_broker(gateway, tmp_path).start()
    try:
        assert b.unknown_orders == ["BUY 1 LMT (orderRef 'manual', permId 1410000002)"]
        [pos] = b.positions()
        assert pos.qty == 3.0 and pos.avg_price == 1690.0
    finally:
        b.close()
        other.disconnect()


def test_1100_stops_orders_until_restored_and_reconciled(gateway, broker):
    gateway.connectivity_lost()
    broker.process_bar(1, "2013-10-07T00:01:00+00:00", 1700, 1700, 1700, 1700.0)
    with pytest.raises(BrokerError, match="connectivity lost"):
        broker.submit(OrderRequest("b1-1-e", "ES", 1, "entry", 1))
    gateway.connectivity_restored(data_lost=False)
    with pytest.raises(BrokerError, match="reconciles"):
        broker.submit(OrderRequest("b1-1-e", "ES", 1, "entry", 1))
    broker.mark_reconciled()
    assert broker.submit(OrderRequest("b1-1-e", "ES", 1, "entry", 1)).status == "filled"
    assert len([r for r in gateway.requests("place_order")]) == 3     # one bracket


def test_partial_fill_becomes_one_fill_when_the_order_is_done(gateway, broker):
    gateway.partial_fill_next(1)
    st = broker.submit(OrderRequest("b1-0-e", "ES", 1, "entry", 3))
    assert (st.status, st.filled_qty) == ("submitted", 1.0)
    assert broker.fills() == []
    gateway.set_price("ESZ3", 1701.0)
    broker.process_bar(1, "2013-10-07T00:01:00+00:00", 1700, 1701, 1700, 1701.0)
    [fill] = broker.fills()
    assert fill.qty == 3.0 and fill.price == pytest.approx((1700 + 2 * 1701) / 3)
    assert fill.fee == pytest.approx(3 * 0.85)


def test_rejected_order_reports_ibs_reason(gateway, broker):
    gateway.reject_next_order("Insufficient margin")
    st = broker.submit(OrderRequest("b1-0-e", "ES", 1, "entry", 1))
    assert st.status == "rejected" and "201" in st.reason and "Insufficient margin" in st.reason
    assert broker.positions() == []


def test_exit_cancels_the_bracket_then_closes_what_is_held(gateway, broker):
    broker.submit(OrderRequest("b1-0-e", "ES", 1, "entry", 2))
    st = broker.submit(OrderRequest("b1-1-x", "ES", -1, "exit", 2))
    assert st.status == "filled" and broker.positions() == []
    states = {o.order_ref: o.status for o in gateway.orders()}
    assert states["b1-0-e.sl"] == states["b1-0-e.tp"] == "Cancelled"
    assert broker.submit(OrderRequest("b1-2-x", "ES", -1, "exit", 2)).reason == \
        "nothing to close"


def test_live_account_needs_the_switch_and_the_typed_account(tmp_path):
    with StandInGateway(accounts=("U1234567",)) as gw:
        with pytest.raises(BrokerError, match="configured for paper"):
            make_broker(gw, tmp_path).start()
        with pytest.raises(BrokerError, match="switched off"):
            make_broker(gw, tmp_path, client_id=32, live=True).start()
        with pytest.raises(BrokerError, match="typed exactly"):
            make_broker(gw, tmp_path, client_id=33, live=True, live_enabled=True,
                        confirm="U999").start()
        ok = make_broker(gw, tmp_path, client_id=34, live=True, live_enabled=True,
                         confirm="U1234567").start()
        assert ok.conn.status().mode == "live"
        ok.close()
        assert gw.requests("place_order") == []


def test_no_gateway_fails_fast_naming_host_port(tmp_path):
    with StandInGateway() as gw:
        gw.stop_listening()
        with pytest.raises(BrokerError, match=f"127.0.0.1:{gw.port}.*start IB Gateway"):
            make_broker(gw, tmp_path).start()


def test_adopting_an_unknown_position_and_order_makes_them_the_bots(gateway, tmp_path):
    from ib_async import IB, LimitOrder

    other = IB()
    other.connect("127.0.0.1", gateway.port, clientId=78, timeout=5)
    other.placeOrder(other.qualifyContracts(ES.to_ib())[0],
                     LimitOrder("SELL", 3, 1800.0, orderRef="manual-tp"))
    other.sleep(0.2)
    gateway.add_position("DU7654321", "ESZ3", 3, 1690.0 * 50)
    b = make_broker(gateway, tmp_path).start()
    try:
        assert b.unknown_position() == 3.0 and len(b.unknown_orders) == 1
        got = b.adopt(7)
        assert (got["qty"], got["price"]) == (3.0, 1690.0)
        assert got["orders"] == ["SELL 3 LMT (orderRef 'manual-tp', permId 1410000002)"]
        [fill] = b.fills()
        assert (fill.reason, fill.side, fill.qty, fill.price, fill.fee, fill.bar) == \
            ("adopted", 1, 3.0, 1690.0, 0.0, 7)
        assert b.unknown_position() == 0.0 and b.account().cash == 100_000
        b.sync()                                          # as after a reconnect
        assert b.unknown_orders == []
        assert b.adopt(8) == {"qty": 0.0, "price": None, "fill_id": None, "orders": []}
        gateway.add_position("DU7654321", "ESZ3", 4, 1692.5 * 50)    # 4 at IB, 3 the bot's
        with pytest.raises(BrokerError, match="holds 3 ES of its own and IB 4"):
            b.adopt(9)
        assert len(b.fills()) == 1
    finally:
        b.close()
        other.disconnect()


def test_journal_is_private_and_versioned(tmp_path):
    """The IB journal holds trading state: readable by the user alone, with a schema
    version that a newer file refuses (``lab.core.migrations``)."""
    import sqlite3
    import stat

    from lab.live.ib.journal import SCHEMA_VERSION, Journal, journal_path
    from lab.live.ledger import LedgerError

    path = journal_path(tmp_path)
    j = Journal(path, "bot-1")
    j.add_order("c-1", {"side": 1})
    j.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(LedgerError, match="newer"):
        Journal(path, "bot-1")
