"""The bundled samples: files, manifest, provenance, and the sample store."""

from __future__ import annotations

import json
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lab.data import Catalog, build_sample_store, fingerprint, read_bars_file
from lab.data.samples import SAMPLES_DIR, main, sample_manifest

EXPECTED = {
    ("SPX", "1d"), ("IXIC", "1d"), ("AAPL", "1d"), ("MSFT", "1d"), ("IBM", "1d"),
    ("GOOG", "1d"), ("GOOGL", "1d"), ("MSFT_ADJ", "1d"), ("EURUSD", "1h"),
    ("BTCUSD_COINBASE", "1h"), ("BTCUSD_COINBASE", "1d"), ("BTCUSD_BITFINEX", "1h"),
    ("BTCUSD_BITSTAMP", "1d"), ("ETHUSD_BITSTAMP", "1d"), ("LTCUSD_BITSTAMP", "1d"),
    ("ESZ13", "1m"), ("GCZ13", "1m"),
}
MANIFEST = sample_manifest()


def test_manifest_lists_every_expected_symbol_and_timeframe_once():
    keys = [(e["symbol"], e["timeframe"]) for e in MANIFEST]
    assert sorted(keys) == sorted(EXPECTED)
    for e in MANIFEST:
        assert {"file", "symbol", "timeframe", "asset_class", "description", "source"} <= set(e)
        assert e["asset_class"] in {"equity", "index", "fx", "crypto", "future"}
        # package==version, or repository@commit
        assert ("==" in e["source"] or "@" in e["source"]) and e["description"]


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: e["file"])
def test_sample_file_has_the_bar_schema_zstd_and_matches_its_manifest(entry):
    path = SAMPLES_DIR / entry["file"]
    schema = pq.read_schema(path)
    assert schema.field("ts_event").type == pa.timestamp("ns", tz="UTC")
    for col in ("open", "high", "low", "close", "volume"):
        assert schema.field(col).type == pa.float64()
    assert pq.ParquetFile(path).metadata.row_group(0).column(1).compression == "ZSTD"
    bars, report = read_bars_file(path, timeframe=entry["timeframe"],
                                  asset_class=entry["asset_class"])
    assert len(bars) == entry["rows"]
    assert bars.index[0].isoformat() == entry["first"]
    assert fingerprint(bars) == entry["fingerprint"]
    assert report.inferred_timeframe == entry["timeframe"]


def test_provenance_names_every_sample_file_with_its_source():
    text = (SAMPLES_DIR / "PROVENANCE.md").read_text()
    for e in MANIFEST:
        assert e["file"] in text and e["source"] in text


def test_us_daily_dates_are_stored_at_midnight_utc():
    bars, _ = read_bars_file(SAMPLES_DIR / "SPX_1d.parquet")
    assert str(bars.index.tz) == "UTC"
    assert bars.index[0].isoformat() == "1999-01-04T00:00:00+00:00"
    assert (bars.index.hour == 0).all()


def test_build_sample_store_is_idempotent_and_fast(tmp_path):
    cat = Catalog(tmp_path)
    started = time.perf_counter()
    added = build_sample_store(cat)
    assert time.perf_counter() - started < 10
    assert len(added) == len(EXPECTED)
    assert build_sample_store(cat) == []
    ds = cat.datasets()
    assert set(zip(ds["symbol"], ds["timeframe"])) == EXPECTED
    by_key = {(e["symbol"], e["timeframe"]): e["fingerprint"] for e in MANIFEST}
    for row in ds.itertuples():
        assert row.fingerprint == by_key[(row.symbol, row.timeframe)]


def test_command_line_builds_the_store_under_root(tmp_path, capsys):
    assert main(["build", "--root", str(tmp_path)]) == 0
    assert "added 17 dataset(s)" in capsys.readouterr().out
    assert len(Catalog(tmp_path).datasets()) == 17
    assert main(["build", "--root", str(tmp_path)]) == 0
    assert "all present" in capsys.readouterr().out


def test_manifest_is_valid_json_list():
    data = json.loads((SAMPLES_DIR / "samples.json").read_text())
    assert isinstance(data, list) and len(data) == 17


def test_futures_samples_are_real_contracts_the_registry_knows():
    from lab.costs import instrument

    for symbol, root in (("ESZ13", "ES"), ("GCZ13", "GC")):
        entry = next(e for e in MANIFEST if e["symbol"] == symbol)
        assert entry["asset_class"] == "future" and "QuantConnect/Lean@" in entry["source"]
        spec = instrument(symbol)
        assert spec.multiplier == {"ES": 50.0, "GC": 100.0}[root]
        assert spec.initial_margin > 0 and spec.maintenance_margin > 0
        bars, _ = read_bars_file(SAMPLES_DIR / entry["file"], timeframe="1m",
                                 asset_class="future")
        # prices are on the contract's tick
        ticks = bars[["open", "high", "low", "close"]].to_numpy() / spec.tick_size
        assert abs(ticks - ticks.round()).max() < 1e-6
