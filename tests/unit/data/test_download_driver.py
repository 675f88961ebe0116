"""The download driver (lab.data.download) with the real ccxt client against a local
Binance stand-in serving real BTC hourly bars: windows, the quality gate, incremental
runs, resume after a failure, cancel, refresh."""

from __future__ import annotations

import fcntl

import pandas as pd
import pytest

from lab.core.errors import DataError, DataValidationError, SourceError
from lab.data import Catalog, ingest_file
from lab.data.download import (DownloadCancelled, DownloadSpec, download, missing_ranges,
                               plan_windows, refresh)
from lab.data.sources.ccxt import CcxtSource
from tests.venues.fixtures import binance_server, coinbase_btc_hourly  # noqa: F401

BARS = coinbase_btc_hourly()
SPEC = DownloadSpec("ccxt", "BTC/USDT", "1h", "2017-08-01", "2017-11-01",
                    store_as="BTCUSDT_BINANCE")


def _expected(start, end) -> pd.DataFrame:
    start, end = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    return BARS.loc[(BARS.index >= start) & (BARS.index < end)]


def _stored(catalog: Catalog) -> pd.DataFrame:
    return catalog.load("BTCUSDT_BINANCE", "1h")


def _klines(server) -> list[dict]:
    return [q for p, q in server.requests if p.endswith("/klines")]


@pytest.fixture
def source(binance_server):
    return CcxtSource("binance", binance_server.ccxt_config())


def test_ranges_and_windows():
    assert missing_ranges(0, 100, []) == [(0, 100)]
    assert missing_ranges(0, 100, [(10, 20), (15, 30), (90, 120)]) == [(0, 10), (30, 90)]
    assert missing_ranges(0, 100, [(-5, 200)]) == []
    assert plan_windows([(0, 25), (40, 50)], 10) == [(0, 10), (10, 20), (20, 25), (40, 50)]


def test_download_stores_the_exact_bars_with_progress_and_provenance(tmp_path, source):
    catalog = Catalog(tmp_path)
    seen = []
    result = download(catalog, SPEC, source, progress=seen.append)
    pd.testing.assert_frame_equal(_stored(catalog), _expected("2017-08-01", "2017-11-01"),
                                  check_freq=False, check_names=False)
    assert [p.done for p in seen] == [1, 2, 3] and {p.total for p in seen} == {3}
    assert result.fetched == result.rows == 2208 and result.complete
    info = catalog.info("BTCUSDT_BINANCE", "1h")
    assert info["asset_class"] == "crypto"
    assert info["source"] == "ccxt binance BTC/USDT"
    assert info["download"]["options"] == {"exchange": "binance"}


def test_second_run_fetches_nothing_and_a_longer_range_only_the_new_part(tmp_path, source,
                                                                         binance_server):
    catalog = Catalog(tmp_path)
    download(catalog, SPEC, source)
    before = len(_klines(binance_server))
    again = download(catalog, SPEC, source)
    assert again.windows == 0 and len(_klines(binance_server)) == before
    longer = DownloadSpec(**{**SPEC.to_dict(), "end": "2017-12-01"})
    download(catalog, longer, source)
    new = _klines(binance_server)[before:]
    assert [int(q["startTime"]) for q in new] == [int(pd.Timestamp("2017-11-01", tz="UTC")
                                                      .value // 1_000_000)]
    pd.testing.assert_frame_equal(_stored(catalog), _expected("2017-08-01", "2017-12-01"),
                                  check_freq=False, check_names=False)


def test_windows_without_bars_are_remembered(tmp_path, source, binance_server):
    catalog = Catalog(tmp_path)   # the sample starts 2017-07-01 11:00: earlier windows are empty
    early = DownloadSpec(**{**SPEC.to_dict(), "start": "2017-03-01", "end": "2017-07-10"})
    download(catalog, early, source)
    before = len(_klines(binance_server))
    assert download(catalog, early, source).windows == 0
    assert len(_klines(binance_server)) == before
    assert _stored(catalog).index[0] == BARS.index[0]


def test_refresh_appends_the_bars_closed_since_the_last_one(tmp_path, source):
    catalog = Catalog(tmp_path)
    download(catalog, SPEC, source)
    [res] = refresh(catalog, "BTCUSDT_BINANCE", source=source,
                    now=pd.Timestamp("2017-11-02 10:30", tz="UTC"))
    # closed by 10:30: bars opening up to 09:00 (the 10:00 bar is still forming)
    assert res.last == "2017-11-02T09:00:00+00:00"
    pd.testing.assert_frame_equal(_stored(catalog), _expected("2017-08-01", "2017-11-02 10:00"),
                                  check_freq=False, check_names=False)
    with pytest.raises(DataError, match="no data stored for symbol 'NOPE'"):
        refresh(catalog, "NOPE")


def test_bad_chunk_stops_the_download_names_rows_and_stores_nothing_of_it(tmp_path, source,
                                                                          binance_server):
    catalog = Catalog(tmp_path)
    bad = pd.Timestamp("2017-10-25 05:00", tz="UTC")           # in the third window
    binance_server.corrupt[int(bad.value // 1_000_000)] = {"high": "1.0"}
    with pytest.raises(DataValidationError) as err:
        download(catalog, SPEC, source)
    assert "2017-10-25T05:00:00+00:00" in str(err.value)
    assert err.value.problems[0]["rule"] == "ohlc_inconsistent"
    stored = _stored(catalog)
    assert stored.index[-1] < bad and len(stored) == 2000     # windows 1-2 only, whole
    binance_server.corrupt.clear()                            # the venue fixed its data
    download(catalog, SPEC, source)
    pd.testing.assert_frame_equal(_stored(catalog), _expected("2017-08-01", "2017-11-01"),
                                  check_freq=False, check_names=False)


def test_source_error_keeps_finished_windows_and_a_rerun_completes(tmp_path, source,
                                                                   binance_server):
    catalog = Catalog(tmp_path)
    binance_server.fail_after = 1                             # the second request fails
    with pytest.raises(SourceError) as err:
        download(catalog, SPEC, source)
    assert "\n" not in str(err.value)
    assert len(_stored(catalog)) == 1000
    binance_server.fail_after = None
    download(catalog, SPEC, source)
    pd.testing.assert_frame_equal(_stored(catalog), _expected("2017-08-01", "2017-11-01"),
                                  check_freq=False, check_names=False)


def test_cancel_between_windows_keeps_what_landed(tmp_path, source):
    catalog = Catalog(tmp_path)
    calls = []
    with pytest.raises(DownloadCancelled, match="after 2 of 3"):
        download(catalog, SPEC, source, cancel=lambda: calls.append(1) or len(calls) > 2)
    assert len(_stored(catalog)) == 2000
    assert download(catalog, SPEC, source).windows == 1


def test_a_dataset_from_elsewhere_is_not_overwritten(tmp_path, source):
    catalog = Catalog(tmp_path)
    path = tmp_path / "btc.csv"
    BARS.iloc[:50].reset_index().to_csv(path, index=False)
    ingest_file(catalog, path, "BTCUSDT_BINANCE", "1h", "crypto")
    with pytest.raises(DataError, match="already stored from file:btc.csv.*--as"):
        download(catalog, SPEC, source)
    assert len(_stored(catalog)) == 50


def test_one_download_per_dataset_at_a_time(tmp_path, source):
    catalog = Catalog(tmp_path)
    folder = catalog.dataset_dir("BTCUSDT_BINANCE", "1h")
    folder.mkdir(parents=True)
    with open(folder / "download.lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(DataError, match="already running"):
            download(catalog, SPEC, source)


def test_nothing_to_download_is_said(tmp_path, source):
    with pytest.raises(DataError, match="nothing to download"):
        download(Catalog(tmp_path), SPEC, source, now="2017-08-01 00:30")
    with pytest.raises(DataError, match="does not serve '3h'"):
        download(Catalog(tmp_path), DownloadSpec(**{**SPEC.to_dict(), "timeframe": "3h"}),
                 source)
