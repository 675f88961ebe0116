"""Contracts qualified at the stand-in gateway; IB vocabulary tables; pacing rules."""

from __future__ import annotations

import pytest

from lab.live.ib.connection import IBConnection
from lab.live.ib.contracts import ContractSpec, qualify
from lab.live.ib.pacing import HistoricalPacer
from lab.live.ib.settings import ContractError
from lab.live.ib.vocabulary import ORDER_STATUS, our_status
from tests.venues.ib_gateway import FakeClock


@pytest.fixture()
def conn(settings, gateway):
    c = IBConnection(settings).connect()
    yield c
    c.disconnect()


@pytest.mark.parametrize("spec, con_id", [
    (ContractSpec("SPY", "ETF"), 756733),
    (ContractSpec("aapl"), 265598),
    (ContractSpec("ES", "FUT", expiry="201312"), 113342317),
    (ContractSpec("MCL", "FUT", expiry="202505"), 502569217),
    (ContractSpec("GC", "FUT", expiry="20250626"), 130388924),
    (ContractSpec("ES", "CONTFUT"), 113342317),
    (ContractSpec("EUR.USD", "CASH"), 12087792),
    (ContractSpec("X", con_id=551601561), 551601561),
])
def test_known_contracts_qualify(conn, spec, con_id):
    assert qualify(conn, spec).conId == con_id


def test_unknown_contract_says_what_to_check(conn):
    with pytest.raises(ContractError, match="IB knows no contract NOPE STK SMART"):
        qualify(conn, ContractSpec("NOPE"))


def test_ambiguous_future_names_the_candidates_and_how_to_choose(conn):
    with pytest.raises(ContractError) as err:
        qualify(conn, ContractSpec("MCL", "FUT"))
    text = str(err.value)
    assert "MCLK5" in text and "MCLM5" in text and "--expiry" in text


@pytest.mark.parametrize("kwargs, message", [
    (dict(symbol=""), "needs a symbol"),
    (dict(symbol="SPY", sec_type="OPT"), "not one of STK, ETF, FUT, CONTFUT, CASH"),
    (dict(symbol="ES", sec_type="FUT", expiry="2025-06"), "YYYYMM or YYYYMMDD"),
    (dict(symbol="SPY", expiry="202506"), "applies to futures"),
    (dict(symbol="EURO", sec_type="CASH"), "six letters"),
])
def test_bad_specs_are_refused_before_asking_ib(kwargs, message):
    with pytest.raises(ContractError, match=message):
        ContractSpec(**kwargs)


def test_order_status_table_is_total_and_unknown_status_is_not_guessed():
    assert set(ORDER_STATUS.values()) == {"submitted", "filled", "cancelled", "rejected"}
    assert our_status("PreSubmitted") == "submitted" and our_status("Inactive") == "rejected"
    with pytest.raises(KeyError, match="not in the mapping table"):
        our_status("Unknown")


def _times(pacer, requests):
    sent = []
    for identity, contract in requests:
        pacer.wait(identity, contract)
        sent.append(pacer.clock())
    return sent


def test_pacer_keeps_identical_requests_15_s_apart():
    clock = FakeClock(0)
    pacer = HistoricalPacer(clock, clock.sleep, margin_s=0)
    sent = _times(pacer, [("a", "c"), ("a", "c")])
    assert sent == [0, 15]


def test_pacer_allows_6_per_contract_in_2_s_and_60_in_10_minutes():
    clock = FakeClock(0)
    pacer = HistoricalPacer(clock, clock.sleep, margin_s=0)
    sent = _times(pacer, [(i, "c") for i in range(7)])
    assert sent == [0, 0, 0, 0, 0, 0, 2]
    clock2 = FakeClock(0)
    pacer2 = HistoricalPacer(clock2, clock2.sleep, margin_s=0)
    sent2 = _times(pacer2, [(i, i) for i in range(61)])     # 61 different contracts
    assert sent2[:60] == [0] * 60 and sent2[60] == 600
    assert pacer2.waited_s == 600
