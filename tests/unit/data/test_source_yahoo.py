"""yfinance source: the real yfinance client (curl_cffi session, its chart parser)
against a local stand-in answering Yahoo's chart JSON for real AAPL daily bars (with
AAPL's real splits and dividends) and real ES minute bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab.core.errors import SourceError
from lab.data import Catalog
from lab.data.download import DownloadSpec, download, refresh
from lab.data.sources.base import gate_chunk
from lab.data.sources.yahoo import YahooSource
from tests.venues.fixtures import aapl_daily_raw, es_minutes, yahoo_server  # noqa: F401

RAW = aapl_daily_raw()
NOW = pd.Timestamp("2013-03-05", tz="UTC")


def _spec(adjust: str, **kw) -> DownloadSpec:
    return DownloadSpec("yfinance", "AAPL", "1d", "2000-01-01", "2013-03-02",
                        store_as=f"AAPL_{adjust.upper()}", options={"adjust": adjust}, **kw)


def _split_factor(index: pd.DatetimeIndex) -> np.ndarray:
    f = np.ones(len(index))
    f[index < pd.Timestamp("2000-06-21", tz="UTC")] *= 2
    f[index < pd.Timestamp("2005-02-28", tz="UTC")] *= 2
    return f


def test_raw_download_is_the_traded_series_with_splits_kept_and_explained(tmp_path,
                                                                          yahoo_server):
    catalog = Catalog(tmp_path)
    src = YahooSource("raw", base_url=yahoo_server.base_url)
    res = download(catalog, _spec("raw"), src, now=NOW)
    stored = catalog.load("AAPL_RAW", "1d")
    pd.testing.assert_frame_equal(stored, RAW, check_freq=False, check_names=False)
    info = catalog.info("AAPL_RAW", "1d")
    assert info["asset_class"] == "equity" and res.rows == len(RAW)
    assert info["events"]["splits"] == [
        {"date": "2000-06-21", "ratio": 2.0, "text": "2 for 1"},
        {"date": "2005-02-28", "ratio": 2.0, "text": "2 for 1"}]
    assert [d["date"] for d in info["events"]["dividends"]] == [
        "2012-08-09", "2012-11-07", "2013-02-07"]
    warnings = " ".join(info["quality"]["warnings"])
    assert "move at 2005-02-28 is a 2-for-1 split" in warnings
    assert "move at 2000-06-21 is a 2-for-1 split" in warnings


def test_split_adjusted_and_fully_adjusted_prices(yahoo_server):
    start, end = pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2013-03-02", tz="UTC")
    splits = YahooSource("splits", base_url=yahoo_server.base_url)
    bars = gate_chunk(splits.fetch("AAPL", "1d", start, end), "t", start, end)
    factor = _split_factor(RAW.index)
    np.testing.assert_allclose(bars["close"], RAW["close"] / factor, rtol=1e-12)
    np.testing.assert_allclose(bars["volume"], RAW["volume"] * factor, rtol=1e-12)
    full = YahooSource("all", base_url=yahoo_server.base_url)
    adj = gate_chunk(full.fetch("AAPL", "1d", start, end), "t", start, end)
    # Yahoo's dividend multiplier: 1 - dividend / previous close, before each ex-date
    expected = RAW["close"] / factor
    for ex in ("2012-08-09", "2012-11-07", "2013-02-07"):
        ex = pd.Timestamp(ex, tz="UTC")
        prev = expected[expected.index < ex].iloc[-1]
        mult = 1 - 2.65 / (RAW["close"][RAW.index < ex].iloc[-1])
        assert prev > 0
        expected = expected.where(expected.index >= ex, expected * mult)
    np.testing.assert_allclose(adj["close"], expected, rtol=1e-9)
    assert adj.loc["2013-02-07":, "close"].equals(bars.loc["2013-02-07":, "close"])


def test_intraday_minutes_within_yahoo_limits(yahoo_server):
    src = YahooSource("all", base_url=yahoo_server.base_url)
    es = es_minutes()
    start, end = pd.Timestamp("2013-10-07", tz="UTC"), pd.Timestamp("2013-10-12", tz="UTC")
    src.check_request("ES=F", "1m", start, end, pd.Timestamp("2013-10-12 12:00", tz="UTC"))
    bars = gate_chunk(src.fetch("ES=F", "1m", start, end), "t", start, end)
    pd.testing.assert_frame_equal(bars, es.astype("float64"), check_freq=False,
                                  check_names=False)


def test_request_beyond_yahoo_limits_is_refused_naming_the_limit():
    src = YahooSource("all")
    now = pd.Timestamp("2013-12-01", tz="UTC")
    with pytest.raises(SourceError, match="1m bars for the last 30 days only"):
        src.check_request("ES=F", "1m", pd.Timestamp("2013-10-07", tz="UTC"), now, now)
    with pytest.raises(SourceError, match="1h bars for the last 730 days only"):
        src.check_request("SPY", "1h", pd.Timestamp("2010-01-01", tz="UTC"), now, now)
    with pytest.raises(SourceError, match="adjust='both' is not one of"):
        YahooSource("both")


def test_unknown_symbol_and_server_error_are_one_line(yahoo_server):
    src = YahooSource("all", base_url=yahoo_server.base_url)
    a, b = pd.Timestamp("2010-01-01", tz="UTC"), pd.Timestamp("2011-01-01", tz="UTC")
    with pytest.raises(SourceError, match="found no symbol 'NOPE'"):
        src.fetch("NOPE", "1d", a, b)
    src.fetch("AAPL", "1d", a - pd.Timedelta(days=400), a)   # AAPL's time zone known now
    yahoo_server.fail_chart_after = yahoo_server.chart_requests
    with pytest.raises(SourceError) as err:
        src.fetch("AAPL", "1d", a, b)
    assert "\n" not in str(err.value) and "nothing of this chunk was stored" in str(err.value)


def test_timeout_is_named_and_stores_nothing(tmp_path, yahoo_server):
    src = YahooSource("raw", base_url=yahoo_server.base_url)
    src.check_request("AAPL", "1d", pd.Timestamp("2004-01-01", tz="UTC"), NOW, NOW)
    src.timeout = 1.0                     # the split history and time zone are known now
    yahoo_server.hang_chart_s = 5.0
    catalog = Catalog(tmp_path)
    with pytest.raises(SourceError, match="timed out") as err:
        download(catalog, DownloadSpec(**{**_spec("raw").to_dict(), "start": "2004-01-01"}),
                 src, now=NOW)
    assert "\n" not in str(err.value) and catalog.datasets().empty


def test_refresh_of_an_adjusted_dataset_downloads_it_again(tmp_path, yahoo_server):
    catalog = Catalog(tmp_path)
    src = YahooSource("all", base_url=yahoo_server.base_url)
    download(catalog, DownloadSpec(**{**_spec("all").to_dict(), "end": "2012-01-01"}), src,
             now=NOW)
    assert catalog.info("AAPL_ALL", "1d")["last"] < "2012"
    [res] = refresh(catalog, "AAPL_ALL", source=src, now=NOW)
    assert res.fetched == res.rows == len(RAW)              # whole range, replaced
    assert catalog.info("AAPL_ALL", "1d")["last"].startswith("2013-03-01")
