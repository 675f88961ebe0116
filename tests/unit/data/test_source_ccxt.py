"""ccxt source against a local Binance stand-in serving real bars (ccxt's own binance
client parses Binance's JSON)."""

from __future__ import annotations

import pandas as pd
import pytest

from lab.core.errors import DataValidationError, SourceError
from lab.data.sources.base import Source, gate_chunk, get_source
from lab.data.sources.ccxt import CcxtSource, latest_closed_bars, make_exchange, request_limit
from tests.venues.fixtures import binance_server, coinbase_btc_hourly  # noqa: F401

BARS = coinbase_btc_hourly()


def _source(server) -> CcxtSource:
    return CcxtSource("binance", server.ccxt_config())


def test_ccxt_source_is_a_source_and_knows_binance_limit(binance_server):
    src = _source(binance_server)
    assert isinstance(src, Source)
    assert src.default_asset_class == "crypto"
    assert "1h" in src.timeframes and "1d" in src.timeframes
    assert request_limit(src.client) == 1000
    assert src.chunk_span("1h") == pd.Timedelta(hours=1000)
    assert get_source("ccxt", exchange="kraken").client.id == "kraken"


def test_fetch_paginates_within_the_limit_and_returns_exactly_the_window(binance_server):
    src = _source(binance_server)
    start, end = pd.Timestamp("2017-08-01", tz="UTC"), pd.Timestamp("2017-11-01", tz="UTC")
    chunk = src.fetch("BTC/USDT", "1h", start, end)
    bars = gate_chunk(chunk, "test", start, end)
    expected = BARS.loc[(BARS.index >= start) & (BARS.index < end)]
    pd.testing.assert_frame_equal(bars, expected, check_freq=False, check_names=False)
    klines = [q for p, q in binance_server.requests if p.endswith("/klines")]
    assert len(klines) == 3                      # 2208 bars in pages of <= 1000
    assert all(int(q["limit"]) <= 1000 for q in klines)
    assert [q["symbol"] for q in klines] == ["BTCUSDT"] * 3


def test_latest_closed_bars_never_returns_the_forming_bar(binance_server):
    client = make_exchange("binance", binance_server.ccxt_config())
    now = pd.Timestamp("2019-10-17 09:30", tz="UTC")   # the 09:00 bar is still forming
    bars = latest_closed_bars("BTC/USDT", "1h", client=client, now=now, limit=3)
    assert list(bars.index) == list(pd.date_range("2019-10-17 06:00", periods=3, freq="h",
                                                  tz="UTC"))
    assert bars["close"].tolist() == BARS.loc[bars.index, "close"].tolist()
    since = latest_closed_bars("BTC/USDT", "1h", client=client, now=now,
                               since="2019-10-17 08:00")
    assert list(since.index) == [pd.Timestamp("2019-10-17 08:00", tz="UTC")]
    assert latest_closed_bars("BTC/USDT", "1h", client=client, now=now,
                              since="2019-10-17 09:00").empty


def test_unknown_market_is_refused_with_the_markets_of_that_base(binance_server):
    with pytest.raises(SourceError, match="no market 'BTC/EUR'.*BTC/USDT"):
        _source(binance_server).check_request("BTC/EUR", "1h", BARS.index[0], BARS.index[5],
                                              BARS.index[-1])


def test_unknown_exchange_is_refused():
    with pytest.raises(SourceError, match="no exchange 'binanse'.*binance"):
        make_exchange("binanse")


def test_server_error_is_one_clear_line(binance_server):
    binance_server.fail_after = 0
    src = _source(binance_server)
    with pytest.raises(SourceError) as err:
        src.fetch("BTC/USDT", "1h", BARS.index[0], BARS.index[10])
    assert "\n" not in str(err.value)
    assert "nothing of this chunk was stored" in str(err.value)


def test_timeout_is_named(binance_server):
    binance_server.fail_after, binance_server.fail_mode = 0, "hang"
    src = CcxtSource("binance", {**binance_server.ccxt_config(), "timeout": 500})
    with pytest.raises(SourceError, match="did not answer within 500 ms"):
        src.fetch("BTC/USDT", "1h", BARS.index[0], BARS.index[10])


def test_bad_bar_from_the_exchange_is_named_by_row_and_time(binance_server):
    t = BARS.index[3]
    binance_server.corrupt[int(t.value // 1_000_000)] = {"low": "999999"}
    client = make_exchange("binance", binance_server.ccxt_config())
    with pytest.raises(DataValidationError) as err:
        latest_closed_bars("BTC/USDT", "1h", client=client, since=BARS.index[0],
                           now=BARS.index[8], limit=6)
    problem = err.value.problems[0]
    assert problem["rule"] == "ohlc_inconsistent" and problem["rows"] == [3]
    assert problem["times"] == [t.isoformat()]


def test_env_config_reaches_the_client(monkeypatch):
    monkeypatch.setenv("LAB_CCXT_CONFIG_BINANCE", '{"timeout": 1234}')
    assert make_exchange("binance").timeout == 1234
    monkeypatch.setenv("LAB_CCXT_CONFIG", "{not json")
    with pytest.raises(SourceError, match="LAB_CCXT_CONFIG is not valid JSON"):
        make_exchange("binance")
