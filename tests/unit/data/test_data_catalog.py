"""Catalog: listing, loading with date ranges, errors, info, delete, atomic writes."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from conftest import sample_bars, store_listing, write_csv

from lab.core.errors import DataError
from lab.data import Catalog, fingerprint, ingest_file, read_bars_file
from lab.data import catalog as catalog_module


def test_datasets_lists_one_row_per_stored_dataset_with_utc_bounds(sample_catalog):
    ds = sample_catalog.datasets()
    assert list(ds.columns) == ["symbol", "timeframe", "asset_class", "start", "end", "rows",
                                "fingerprint", "source", "description"]
    assert len(ds) == 17 and not ds.duplicated(["symbol", "timeframe"]).any()
    assert str(ds["start"].dt.tz) == "UTC" and str(ds["end"].dt.tz) == "UTC"
    spx = ds[ds.symbol == "SPX"].iloc[0]
    assert (spx.timeframe, spx.asset_class, spx.rows) == ("1d", "index", 5031)
    assert spx.start == pd.Timestamp("1999-01-04", tz="UTC")
    assert spx.end == pd.Timestamp("2018-12-31", tz="UTC")


def test_empty_catalog_lists_no_datasets_with_the_same_columns(catalog):
    ds = catalog.datasets()
    assert ds.empty and "fingerprint" in ds.columns


def test_ingest_then_load_returns_identical_values_and_fingerprint(catalog, tmp_path):
    bars = sample_bars("EURUSD_1h")
    path = write_csv(bars, tmp_path / "eurusd.csv")
    report = ingest_file(catalog, path, "EURUSD", asset_class="fx", description="test")
    loaded = catalog.load("EURUSD", "1h")
    pd.testing.assert_frame_equal(loaded, bars)
    assert loaded.index.name == "ts_event" and str(loaded.index.tz) == "UTC"
    assert list(loaded.dtypes) == [np.float64] * 5
    assert fingerprint(loaded) == fingerprint(bars) == catalog.fingerprint("EURUSD", "1h")
    assert report.timeframe == "1h"


def test_load_keeps_nanosecond_times_exactly(catalog):
    index = pd.DatetimeIndex([1_600_000_000_000_000_001, 1_600_000_060_000_000_002],
                             tz="UTC", name="ts_event")
    bars = pd.DataFrame({"open": [1.0, 2.0], "high": [2.0, 3.0], "low": [0.5, 1.5],
                         "close": [1.5, 2.5], "volume": [0.0, 7.0]}, index=index)
    catalog.store_bars(bars, "X", "1m", "crypto", "test")
    pd.testing.assert_frame_equal(catalog.load("X", "1m"), bars)


def test_load_range_is_inclusive_on_both_ends(sample_catalog):
    bars = sample_catalog.load("SPX", "1d", start="2008-01-02", end="2008-01-31")
    assert bars.index[0] == pd.Timestamp("2008-01-02", tz="UTC")
    assert bars.index[-1] == pd.Timestamp("2008-01-31", tz="UTC")
    assert len(bars) == 21


@pytest.mark.parametrize("start, end", [
    (dt.date(2008, 1, 2), dt.date(2008, 1, 31)),
    (pd.Timestamp("2008-01-02"), pd.Timestamp("2008-01-31")),
    (pd.Timestamp("2008-01-01 19:00", tz="America/New_York"), "2008-01-31T00:00:00Z"),
    (dt.datetime(2008, 1, 2), "2008-01-31 00:00"),
], ids=["date", "naive-timestamp", "tz-aware", "datetime"])
def test_load_accepts_dates_strings_and_timestamps_naive_as_utc(sample_catalog, start, end):
    bars = sample_catalog.load("SPX", "1d", start=start, end=end)
    assert (bars.index[0].day, bars.index[-1].day, len(bars)) == (2, 31, 21)


def test_load_with_only_start_or_only_end(sample_catalog):
    tail = sample_catalog.load("AAPL", "1d", start="2013-02-25")
    head = sample_catalog.load("AAPL", "1d", end="2000-03-03")
    assert len(tail) == 5 and len(head) == 3


def test_unknown_symbol_is_refused_listing_stored_symbols(sample_catalog):
    with pytest.raises(DataError, match="no data stored for symbol 'NOPE'.*SPX"):
        sample_catalog.load("NOPE", "1d")


def test_timeframe_not_stored_nor_derivable_lists_stored_timeframes(sample_catalog):
    with pytest.raises(DataError, match="SPX is not stored as 1h.*stored timeframes of SPX: 1d"):
        sample_catalog.load("SPX", "1h")


def test_unknown_timeframe_string_is_refused(sample_catalog):
    with pytest.raises(DataError, match="unknown timeframe '3d'"):
        sample_catalog.load("SPX", "3d")


def test_empty_range_is_refused_with_the_stored_range(sample_catalog):
    with pytest.raises(DataError, match="no SPX 1d bars between.*1999-01-04"):
        sample_catalog.load("SPX", "1d", start="2030-01-01")
    with pytest.raises(DataError, match="no SPX 1d bars"):
        sample_catalog.load("SPX", "1d", start="2008-01-05", end="2008-01-06")  # a weekend


def test_start_after_end_is_refused(sample_catalog):
    with pytest.raises(DataError, match="after end"):
        sample_catalog.load("SPX", "1d", start="2010-01-01", end="2009-01-01")


def test_bad_time_string_is_refused(sample_catalog):
    with pytest.raises(DataError, match="start='yesterday-ish' is not a time"):
        sample_catalog.load("SPX", "1d", start="yesterday-ish")


def test_info_holds_sidecar_with_quality_report(sample_catalog):
    info = sample_catalog.info("AAPL", "1d")
    assert info["asset_class"] == "equity" and info["rows"] == 3270
    assert info["fingerprint"] == sample_catalog.fingerprint("AAPL", "1d")
    assert info["quality"]["extreme_move_count"] >= 1
    assert {"source", "description", "first", "last", "ingested_at"} <= set(info)
    json.dumps(info)
    assert sample_catalog.asset_class("EURUSD") == "fx"
    assert sample_catalog.quality("AAPL", "1d").rows == 3270


def test_asset_class_of_unknown_symbol_is_refused(sample_catalog):
    with pytest.raises(DataError, match="no data stored"):
        sample_catalog.asset_class("NOPE")


def test_delete_removes_the_dataset_and_only_it(catalog):
    bars = sample_bars("BTCUSD_COINBASE_1d")
    catalog.store_bars(bars, "BTC", "1d", "crypto", "test")
    catalog.store_bars(bars.iloc[:10], "ETH", "1d", "crypto", "test")
    catalog.delete("BTC", "1d")
    assert list(catalog.datasets()["symbol"]) == ["ETH"]
    assert not catalog.has("BTC", "1d")
    with pytest.raises(DataError):
        catalog.delete("BTC", "1d")


def test_symbols_with_slashes_and_equals_signs_round_trip(catalog):
    bars = sample_bars("ETHUSD_BITSTAMP_1d")
    for symbol in ("ETH/USD", "ES=F", "^GSPC"):
        catalog.store_bars(bars, symbol, "1d", "crypto", "test")
        pd.testing.assert_frame_equal(catalog.load(symbol, "1d"), bars)
    assert set(catalog.datasets()["symbol"]) == {"ETH/USD", "ES=F", "^GSPC"}
    counts = catalog.query("SELECT symbol, count(*) AS n FROM bars GROUP BY symbol ORDER BY 1")
    assert counts.to_dict("list") == {"symbol": ["ES=F", "ETH/USD", "^GSPC"], "n": [788] * 3}


def test_query_view_returns_utc_times(sample_catalog):
    out = sample_catalog.query("SELECT min(ts_event) AS first FROM bars WHERE symbol = 'SPX'")
    assert out["first"].iloc[0] == pd.Timestamp("1999-01-04", tz="UTC")


def test_replacing_a_dataset_updates_fingerprint_and_rows(catalog):
    bars = sample_bars("LTCUSD_BITSTAMP_1d")
    catalog.store_bars(bars, "LTC", "1d", "crypto", "test")
    first = catalog.fingerprint("LTC", "1d")
    catalog.store_bars(bars.iloc[:100], "LTC", "1d", "crypto", "test")
    assert catalog.fingerprint("LTC", "1d") != first
    assert catalog.info("LTC", "1d")["rows"] == 100 == len(catalog.load("LTC", "1d"))


def test_failed_write_leaves_the_previous_dataset_intact_and_no_temp_files(catalog, monkeypatch):
    bars = sample_bars("LTCUSD_BITSTAMP_1d")
    catalog.store_bars(bars, "LTC", "1d", "crypto", "test")
    before = store_listing(catalog)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(catalog_module.pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        catalog.store_bars(bars.iloc[:5], "LTC", "1d", "crypto", "test")
    assert store_listing(catalog) == before
    pd.testing.assert_frame_equal(catalog.load("LTC", "1d"), bars)


def test_catalog_keeps_no_database_file_open(sample_catalog):
    sample_catalog.load("SPX", "1w")
    leftovers = [p for p in sample_catalog.root.rglob("*")
                 if p.suffix in (".duckdb", ".wal", ".tmp")]
    assert leftovers == []


def test_store_bars_refuses_unsorted_frame_and_bad_asset_class(catalog):
    bars = sample_bars("LTCUSD_BITSTAMP_1d")
    with pytest.raises(DataError, match="strictly increasing"):
        catalog.store_bars(bars.iloc[::-1], "LTC", "1d", "crypto", "test")
    with pytest.raises(DataError, match="unknown asset class 'stonks'"):
        catalog.store_bars(bars, "LTC", "1d", "stonks", "test")
    assert catalog.datasets().empty


def test_two_catalog_objects_on_one_root_see_the_same_store(tmp_path):
    a, b = Catalog(tmp_path), Catalog(str(tmp_path))
    a.store_bars(sample_bars("ETHUSD_BITSTAMP_1d"), "ETH", "1d", "crypto", "test")
    assert b.has("ETH", "1d") and len(b.load("ETH", "1d")) == 788


def test_parquet_file_ingest_equals_csv_ingest(catalog, tmp_path):
    bars = sample_bars("BTCUSD_BITSTAMP_1d")
    write_csv(bars, tmp_path / "b.csv")
    bars.to_parquet(tmp_path / "b.parquet")
    ingest_file(catalog, tmp_path / "b.csv", "A", asset_class="crypto")
    ingest_file(catalog, tmp_path / "b.parquet", "B", asset_class="crypto")
    assert catalog.fingerprint("A", "1d") == catalog.fingerprint("B", "1d")
    again, _ = read_bars_file(tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(again, bars)
