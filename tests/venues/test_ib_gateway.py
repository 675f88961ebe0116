"""The stand-in IB Gateway answers the real ib_async 2.1 client as IB Gateway does."""

from __future__ import annotations

import pandas as pd
import pytest
from ib_async import (IB, ContFuture, Future, LimitOrder, MarketOrder, RequestError, Stock,
                      StopOrder, util)

from tests.venues.ib_gateway import FakeClock, StandInGateway
from tests.venues.ib_gateway.market import bars_of


@pytest.fixture()
def gateway():
    with StandInGateway() as gw:
        yield gw


@pytest.fixture()
def ib(gateway):
    client = IB()
    client.RaiseRequestErrors = True
    client.connect("127.0.0.1", gateway.port, clientId=11, timeout=10)
    yield client
    client.disconnect()


def test_handshake_gives_accounts_server_version_and_only_informational_farm_codes(gateway):
    errors = []
    client = IB()
    client.errorEvent += lambda req, code, text, contract: errors.append(code)
    client.connect("127.0.0.1", gateway.port, clientId=3, timeout=10)
    try:
        assert client.managedAccounts() == ["DU7654321"]
        assert client.client.serverVersion() == 176
        assert sorted(errors) == [2104, 2106, 2158]
        assert gateway.connected_clients() == [3]
        kinds = {r.kind for r in gateway.requests()}
        assert {"start_api", "positions", "open_orders", "completed_orders",
                "executions", "account_updates"} <= kinds
    finally:
        client.disconnect()


def test_second_connection_with_the_same_client_id_is_refused(gateway, ib):
    other = IB()
    with pytest.raises((ConnectionError, TimeoutError)):
        other.connect("127.0.0.1", gateway.port, clientId=11, timeout=3)
    assert gateway.connected_clients() == [11]


def test_contract_qualification_stock_contfut_unknown_and_ambiguous(ib):
    [aapl] = ib.qualifyContracts(Stock("AAPL", "SMART", "USD"))
    assert aapl.conId == 265598 and aapl.primaryExchange == "NASDAQ"
    [es] = ib.qualifyContracts(ContFuture("ES", "CME"))
    assert es.lastTradeDateOrContractMonth == "20131220" and es.multiplier == "50"
    [both] = util.run(ib.qualifyContractsAsync(Future("ES", exchange="CME"), returnAll=True))
    assert sorted(c.localSymbol for c in both) == ["ESH4", "ESZ3"]
    with pytest.raises(RequestError) as err:
        ib.qualifyContracts(Stock("NOPE", "SMART", "USD"))
    assert err.value.code == 200


def test_daily_history_is_the_real_sample(ib):
    aapl = Stock("AAPL", "SMART", "USD")
    bars = ib.reqHistoricalData(aapl, "20130301 23:59:59 UTC", "1 M", "1 day", "TRADES",
                                True, formatDate=2)
    real = bars_of("AAPL").loc["2013-01-31":"2013-03-01"]     # 1 M = 30 days
    got = pd.DataFrame([(b.open, b.high, b.low, b.close, b.volume) for b in bars],
                       columns=["open", "high", "low", "close", "volume"])
    assert len(got) == len(real) > 15
    assert (got.to_numpy() == real.to_numpy()).all()


def test_intraday_history_is_resampled_from_real_minutes(ib):
    es = Future(conId=113342317, exchange="CME")
    bars = ib.reqHistoricalData(es, "20131008 00:00:00 UTC", "3600 S", "5 mins", "TRADES",
                                False, formatDate=2)
    minutes = bars_of("ESZ13").loc["2013-10-07 23:00":"2013-10-07 23:59"]
    expect = minutes.resample("5min").agg({"open": "first", "high": "max", "low": "min",
                                            "close": "last", "volume": "sum"}).dropna()
    assert [b.date for b in bars] == list(expect.index.to_pydatetime())
    assert [b.close for b in bars] == list(expect["close"])
    assert [b.volume for b in bars] == list(expect["volume"])


def test_history_longer_than_ibs_limit_for_the_bar_size_is_refused(ib):
    es = Future(conId=113342317, exchange="CME")
    with pytest.raises(RequestError) as err:
        ib.reqHistoricalData(es, "20131008 00:00:00 UTC", "1 M", "1 min", "TRADES", False)
    assert err.value.code == 162 and "Time length exceed max" in err.value.message


def test_pacing_rules_are_enforced_on_the_stand_in_clock():
    clock = FakeClock()
    with StandInGateway(clock=clock) as gw:
        ib = IB()
        ib.RaiseRequestErrors = True
        ib.connect("127.0.0.1", gw.port, clientId=1, timeout=10)
        try:
            aapl = Stock("AAPL", "SMART", "USD")
            ends = [f"2012{m:02d}28 23:59:59 UTC" for m in range(1, 8)]
            for end in ends[:6]:
                ib.reqHistoricalData(aapl, end, "20 D", "1 day", "TRADES", True)
            with pytest.raises(RequestError, match="Pacing violation"):
                ib.reqHistoricalData(aapl, ends[6], "20 D", "1 day", "TRADES", True)
            clock.t += 3           # seven within 2 s broke the rule; later it is fine
            ib.reqHistoricalData(aapl, ends[6].replace("28", "27"), "20 D", "1 day",
                                 "TRADES", True)
            with pytest.raises(RequestError, match="identical request"):
                ib.reqHistoricalData(aapl, ends[0], "20 D", "1 day", "TRADES", True)
            assert len(gw.requests("historical")) == 9
        finally:
            ib.disconnect()


def test_market_order_fills_at_scripted_price_with_commission_and_position(gateway, ib):
    aapl = ib.qualifyContracts(Stock("AAPL", "SMART", "USD"))[0]
    gateway.set_price("AAPL", 101.5)
    trade = ib.placeOrder(aapl, MarketOrder("BUY", 300, orderRef="cid-1"))
    ib.sleep(0.3)
    assert trade.orderStatus.status == "Filled" and trade.orderStatus.avgFillPrice == 101.5
    [fill] = trade.fills
    assert fill.execution.orderRef == "cid-1" and fill.execution.side == "BOT"
    assert fill.commissionReport.commission == 1.5          # 300 x USD 0.005
    assert [(p.contract.conId, p.position) for p in ib.positions()] == [(265598, 300.0)]
    [done] = ib.reqCompletedOrders(False)
    assert done.order.orderRef == "cid-1" and done.orderStatus.status == "Filled"
    [again] = ib.reqExecutions()
    assert again.execution.execId == fill.execution.execId


def test_bracket_children_wait_for_parent_then_one_cancels_the_other(gateway, ib):
    es = ib.qualifyContracts(Future(conId=113342317, exchange="CME"))[0]
    gateway.set_price("ESZ3", 1700.0)
    parent = MarketOrder("BUY", 2, orderId=ib.client.getReqId(), transmit=False,
                         orderRef="p")
    target = LimitOrder("SELL", 2, 1720.0, orderId=ib.client.getReqId(), transmit=False,
                        parentId=parent.orderId, ocaGroup="oca-p", ocaType=1, orderRef="p-tp")
    stop = StopOrder("SELL", 2, 1690.0, orderId=ib.client.getReqId(), transmit=True,
                     parentId=parent.orderId, ocaGroup="oca-p", ocaType=1, orderRef="p-sl")
    trades = [ib.placeOrder(es, o) for o in (parent, target, stop)]
    ib.sleep(0.3)
    assert [t.orderStatus.status for t in trades] == ["Filled", "Submitted", "Submitted"]
    assert gateway.positions() == {"ESZ3": 2.0}
    gateway.set_price("ESZ3", 1685.0)               # gaps through the stop
    ib.sleep(0.3)
    assert [t.orderStatus.status for t in trades] == ["Filled", "Cancelled", "Filled"]
    assert trades[2].fills[0].execution.price == 1685.0
    assert trades[2].fills[0].commissionReport.commission == 1.7   # 2 x USD 0.85
    assert gateway.positions() == {}


def test_rejected_order_and_partial_fill(gateway, ib):
    aapl = ib.qualifyContracts(Stock("AAPL", "SMART", "USD"))[0]
    gateway.reject_next_order("Insufficient margin")
    errors = []
    ib.errorEvent += lambda req, code, text, contract: errors.append((code, text))
    rejected = ib.placeOrder(aapl, MarketOrder("BUY", 10, orderRef="r"))
    ib.sleep(0.3)
    assert rejected.orderStatus.status == "Cancelled"
    assert (201, "Order rejected - reason:Insufficient margin") in errors
    gateway.partial_fill_next(4)
    part = ib.placeOrder(aapl, MarketOrder("BUY", 10, orderRef="p"))
    ib.sleep(0.3)
    assert (part.orderStatus.status, part.orderStatus.filled,
            part.orderStatus.remaining) == ("Submitted", 4.0, 6.0)
    gateway.set_price("AAPL", 99.0)
    ib.sleep(0.3)
    assert part.orderStatus.status == "Filled"
    assert [f.execution.shares for f in part.fills] == [4.0, 6.0]


def test_connectivity_codes_socket_drop_and_unknown_position(gateway, ib):
    codes = []
    ib.errorEvent += lambda req, code, text, contract: codes.append(code)
    gateway.connectivity_lost()
    gateway.connectivity_restored(data_lost=True)
    gateway.connectivity_restored(data_lost=False)
    gateway.add_position("DU7654321", "MSFT", 25, 27.5)
    ib.sleep(0.3)
    assert codes == [1100, 1101, 1102]
    assert [(p.contract.symbol, p.position) for p in ib.positions()] == [("MSFT", 25.0)]
    gateway.drop_clients()
    with pytest.raises(ConnectionError):
        ib.sleep(1)                    # ib_async raises the socket drop out of its loop
    assert not ib.isConnected()


def test_port_that_is_not_listening_refuses(gateway):
    gateway.stop_listening()
    with pytest.raises(ConnectionRefusedError):
        IB().connect("127.0.0.1", gateway.port, clientId=5, timeout=3)
    gateway.start_listening()
    client = IB()
    client.connect("127.0.0.1", gateway.port, clientId=5, timeout=10)
    assert client.isConnected()
    client.disconnect()


def test_hung_request_never_answers(gateway, ib):
    gateway.hang("historical")
    aapl = Stock("AAPL", "SMART", "USD")
    bars = ib.reqHistoricalData(aapl, "", "1 M", "1 day", "TRADES", True, timeout=1)
    assert len(bars) == 0                      # ib_async itself turns a timeout into []
    assert len(gateway.requests("historical")) == 1


def test_realtime_bars_stream_real_values_every_five_seconds(gateway, ib):
    es = ib.qualifyContracts(Future(conId=113342317, exchange="CME"))[0]
    bars = ib.reqRealTimeBars(es, 5, "TRADES", False)
    ib.sleep(0.2)
    assert gateway.push_realtime_bars(3) == 3
    ib.sleep(0.3)
    real = bars_of("ESZ13").iloc[:3]
    assert [b.close for b in bars] == list(real["close"])
    assert [(b.time - bars[0].time).total_seconds() for b in bars] == [0, 5, 10]
