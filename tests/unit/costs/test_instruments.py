"""The instrument registry: exchange specs, dated margins, fees, symbol resolution."""

from __future__ import annotations

import pytest

from lab.core.errors import ConfigError
from lab.core.types import AssetClass
from lab.costs import CONTRACTS, INSTRUMENTS, SEC_FEE_RATE, find_instrument, instrument
from lab.costs.instruments import InstrumentSpec, future_root


@pytest.mark.parametrize("root, multiplier, tick, tick_value, exchange", [
    ("ES", 50.0, 0.25, 12.50, "CME"),
    ("MES", 5.0, 0.25, 1.25, "CME"),
    ("NQ", 20.0, 0.25, 5.00, "CME"),
    ("CL", 1000.0, 0.01, 10.0, "NYMEX"),
    ("MCL", 100.0, 0.01, 1.0, "NYMEX"),
    ("GC", 100.0, 0.10, 10.0, "COMEX"),
])
def test_futures_carry_the_exchange_contract_terms(root, multiplier, tick, tick_value,
                                                   exchange):
    spec = INSTRUMENTS[root]
    assert spec.asset_class is AssetClass.FUTURE and spec.exchange == exchange
    assert (spec.multiplier, spec.tick_size) == (multiplier, tick)
    assert spec.tick_value == pytest.approx(tick_value, rel=1e-12)
    assert spec.qty_step == 1.0 and spec.currency == "USD"
    assert spec.spec_url.startswith("https://www.cmegroup.com/")
    assert spec.trading_hours and spec.calendar == "CME Globex"


@pytest.mark.parametrize("root", ["ES", "MES", "NQ", "CL", "MCL", "GC"])
def test_futures_margins_are_dated_sourced_and_initial_is_110_percent_of_maintenance(root):
    spec = INSTRUMENTS[root]
    assert spec.maintenance_margin > 0 and spec.margin_as_of[:2] == "20" and spec.margin_source
    assert spec.initial_margin == pytest.approx(1.1 * spec.maintenance_margin, abs=0.005)


def test_published_figures():
    # CME Micro WTI FAQ, accurate as of 2021-05-10
    assert (INSTRUMENTS["MCL"].initial_margin, INSTRUMENTS["MCL"].maintenance_margin) == (583.0, 530.0)
    assert (INSTRUMENTS["CL"].initial_margin, INSTRUMENTS["CL"].maintenance_margin) == (5830.0, 5300.0)
    assert (INSTRUMENTS["ES"].initial_margin, INSTRUMENTS["ES"].maintenance_margin) == (12650.0, 11500.0)
    # IB non-member exchange fee + NFA 0.02 per contract per side
    assert INSTRUMENTS["ES"].exchange_fee == 1.40 and INSTRUMENTS["MES"].exchange_fee == 0.37
    assert INSTRUMENTS["CL"].exchange_fee == 1.52 and INSTRUMENTS["MCL"].exchange_fee == 0.52
    assert INSTRUMENTS["GC"].exchange_fee == 1.62


def test_sec_fee_is_27_80_per_million_of_sales_on_us_stocks_only():
    assert SEC_FEE_RATE * 1_000_000 == pytest.approx(27.80, rel=1e-12)
    aapl = instrument("AAPL", "equity")
    assert aapl.symbol == "AAPL" and aapl.sec_fee_rate == SEC_FEE_RATE
    assert (aapl.tick_size, aapl.qty_step, aapl.calendar) == (0.01, 1.0, "NYSE")
    for key in ("ES", "EURUSD", "BTCUSD_COINBASE"):
        assert INSTRUMENTS[key].sec_fee_rate == 0.0


@pytest.mark.parametrize("symbol, root", [
    ("ES", "ES"), ("ESZ13", "ES"), ("ESH1", "ES"), ("GCZ13", "GC"), ("MCLG6", "MCL"),
    ("ES.c.0", "ES"), ("mcl.v.1", "MCL"), ("NQ.n.0", "NQ"), ("ESZ13_CME", "ES"),
])
def test_contract_codes_resolve_to_their_root(symbol, root):
    assert future_root(symbol) == root
    spec = instrument(symbol)
    assert spec.symbol == symbol
    assert spec.multiplier == INSTRUMENTS[root].multiplier
    assert spec.initial_margin == INSTRUMENTS[root].initial_margin


def test_sample_symbols_resolve():
    for s in ("BTCUSD_COINBASE", "BTCUSD_BITFINEX", "BTCUSD_BITSTAMP", "ETHUSD_BITSTAMP",
              "LTCUSD_BITSTAMP"):
        spec = instrument(s)
        assert spec.asset_class is AssetClass.CRYPTO and spec.qty_step == 1e-8
    assert instrument("BTCUSD_COINBASE").min_qty == 0.01
    assert instrument("EURUSD").asset_class is AssetClass.FX


def test_unknown_symbol_is_none_or_a_clear_error():
    assert find_instrument("SPX") is None           # an index is not tradable as is
    assert find_instrument("ZZZ9Q") is None
    assert find_instrument("") is None
    with pytest.raises(ConfigError, match="no instrument spec for 'SPX'.*by hand"):
        instrument("SPX")


def test_round_price_to_the_tick():
    es = INSTRUMENTS["ES"]
    assert es.round_price(3702.6) == 3702.5 and es.round_price(3702.7) == 3702.75
    assert INSTRUMENTS["BTCUSD_BITFINEX"].round_price(1.2345) == 1.2345   # no tick


def test_bad_specs_are_refused():
    with pytest.raises(ConfigError, match="maintenance margin"):
        InstrumentSpec("X", "x", "future", "CME", initial_margin=100, maintenance_margin=200)
    with pytest.raises(ConfigError, match="tick_size"):
        InstrumentSpec("X", "x", "future", "CME", tick_size=-1)


def test_contracts_view_is_the_registry_futures():
    assert set(CONTRACTS) == {"ES", "MES", "NQ", "CL", "MCL", "GC"}
    assert CONTRACTS["MCL"] is INSTRUMENTS["MCL"]
    d = CONTRACTS["ES"].to_dict()
    assert d["asset_class"] == "future" and d["tick_value"] == 12.5
