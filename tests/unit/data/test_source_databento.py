"""Databento: the real databento client against a local HTTPS stand-in for its
historical API serving real DBN files (databento-python's test data, Apache-2.0); DBN
files through ingest and upload."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab.core.errors import DataValidationError, SourceError
from lab.data import Catalog, ingest_file, ingest_upload
from lab.data.download import CostNotAccepted, DownloadSpec, download, plan_download
from lab.data.sources.databento import DatabentoSource, stype_of
from tests.venues.databento_server import DATA
from tests.venues.fixtures import databento_server  # noqa: F401

NOW = pd.Timestamp("2021-01-05", tz="UTC")


def _dbn_bars(name: str) -> pd.DataFrame:
    import databento as db

    df = db.DBNStore.from_file(DATA / name).to_df()
    return df[["open", "high", "low", "close", "volume"]].astype("float64")


def _spec(symbol="ES.c.0", timeframe="1m") -> DownloadSpec:
    return DownloadSpec("databento", symbol, timeframe, "2020-12-28", "2020-12-29",
                        options={"dataset": "GLBX.MDP3"})


def test_cost_is_shown_and_nothing_is_fetched_until_accepted(tmp_path, databento_server):
    catalog = Catalog(tmp_path)
    plan = plan_download(catalog, _spec(), now=NOW)
    assert plan.cost == pytest.approx(1.25) and "$1.25" in plan.summary()
    with pytest.raises(CostNotAccepted, match=r"costs \$1\.25.*--yes") as err:
        download(catalog, _spec(), now=NOW)
    assert err.value.cost == pytest.approx(1.25)
    with pytest.raises(CostNotAccepted, match=r"only \$1\.00 was accepted"):
        download(catalog, _spec(), now=NOW, max_cost=1.0)
    assert databento_server.get_range_calls == 0 and catalog.datasets().empty
    res = download(catalog, _spec(), now=NOW, max_cost=plan.cost)
    assert res.cost == pytest.approx(1.25)
    stored = catalog.load("ES.c.0", "1m")
    expected = _dbn_bars("GLBX.MDP3_ohlcv-1m.dbn.zst")
    np.testing.assert_array_equal(stored.index.asi8, expected.index.as_unit("ns").asi8)
    np.testing.assert_array_equal(stored.to_numpy(), expected.to_numpy())
    info = catalog.info("ES.c.0", "1m")
    assert info["asset_class"] == "future"
    assert info["events"]["contracts"] == [{"date": "2020-12-28T00:00:00+00:00",
                                            "instrument_id": 5482, "symbol": "ESH1"}]
    assert "db-TESTKEY" not in str(info)                    # the key is never stored


def test_symbology_follows_the_symbol_form(databento_server, tmp_path):
    assert stype_of("MCL.c.0") == "continuous" and stype_of("MCL.v.1") == "continuous"
    assert stype_of("MCLG6") == "raw_symbol"
    with pytest.raises(SourceError, match="parent symbol.*MCL.c.0"):
        stype_of("MCL.FUT")
    download(Catalog(tmp_path), _spec("ESH1", "1s"), now=NOW, max_cost=10)
    forms = [f for p, f, _ in databento_server.requests if p.endswith("get_range")]
    assert forms[-1]["stype_in"] == "raw_symbol" and forms[-1]["schema"] == "ohlcv-1s"
    assert Catalog(tmp_path).load("ESH1", "1s").index[-1] == pd.Timestamp(
        "2020-12-28 00:00:07", tz="UTC")


def test_errors_are_one_line_and_store_nothing(databento_server, tmp_path, monkeypatch):
    catalog = Catalog(tmp_path)
    with pytest.raises(SourceError, match=r"refused the request \(HTTP 422: Could not "
                                          r"resolve symbols \['MCLG6'\]"):
        download(catalog, _spec("MCLG6"), now=NOW, max_cost=10)
    databento_server.fail_get_range_after = 0
    with pytest.raises(SourceError) as err:
        download(catalog, _spec(), now=NOW, max_cost=10)
    assert "\n" not in str(err.value) and "HTTP 500" in str(err.value)
    assert catalog.datasets().empty
    monkeypatch.delenv("DATABENTO_API_KEY")
    with pytest.raises(SourceError, match="set DATABENTO_API_KEY"):
        DatabentoSource().client()


def test_dbn_files_are_ingested_with_ts_event_as_the_time(tmp_path):
    catalog = Catalog(tmp_path)
    report = ingest_file(catalog, DATA / "GLBX.MDP3_ohlcv-1h.dbn.zst", "ESH1", asset_class=None)
    assert report.timeframe == "1h" and report.asset_class == "future"
    expected = _dbn_bars("GLBX.MDP3_ohlcv-1h.dbn.zst")
    np.testing.assert_array_equal(catalog.load("ESH1", "1h").to_numpy(), expected.to_numpy())
    data = (DATA / "XNAS.ITCH_ohlcv-1h.dbn.zst").read_bytes()
    up = ingest_upload(catalog, data, "nvda.dbn.zst", "NVDA", asset_class=None)
    assert up.asset_class == "equity" and catalog.info("NVDA", "1h")["source"] == \
        "upload:nvda.dbn.zst"
    with pytest.raises(DataValidationError, match="holds definition records, not OHLCV"):
        ingest_file(catalog, DATA / "GLBX.MDP3_definition.dbn.zst", "DEF")
    with pytest.raises(DataValidationError, match="timeframe_mismatch"):
        ingest_file(catalog, DATA / "GLBX.MDP3_ohlcv-1m.dbn.zst", "X", timeframe="1h")
    with pytest.raises(DataValidationError, match="unreadable_file"):
        ingest_upload(catalog, b"not a dbn file at all", "bad.dbn", "BAD")
