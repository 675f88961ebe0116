"""Regressions from a new user's session: a timeframe the bars' spacing contradicts was
stored under the wrong size (1-minute bars as ``1d``, every metric wrong), bars dated in
the future were stored without a word, and refusals said "nothing was stored" twice
(page) or where nothing was going to be stored (a backtest reading a file)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import sample_bars, store_listing

from lab.core.errors import DataValidationError
from lab.data import ingest_file, ingest_upload, read_bars_file


def hourly_csv(tmp_path, rows: int = 500, shift_last=None):
    """Real hourly BTC bars (Coinbase sample) as a CSV; the last ``len(shift_last)``
    rows moved by the given offsets (to date them after now)."""
    frame = sample_bars("BTCUSD_COINBASE_1h").iloc[:rows].reset_index()
    if shift_last is not None:
        start = pd.Timestamp.now(tz="UTC").floor("h")
        for i, hours in enumerate(shift_last):
            frame.loc[len(frame) - len(shift_last) + i, "ts_event"] = \
                start + pd.Timedelta(hours=hours)
    frame["ts_event"] = frame["ts_event"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "btc_hourly.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_timeframe_the_spacing_contradicts_is_refused_naming_the_spacing(catalog, tmp_path):
    path = hourly_csv(tmp_path)
    before = store_listing(catalog)
    with pytest.raises(DataValidationError) as info:
        ingest_file(catalog, path, "BTC", timeframe="1d", asset_class="crypto")
    [p] = info.value.problems
    assert p["rule"] == "timeframe_mismatch"
    assert "timeframe 1d was given but the bars are 1 hour (1h bars) apart" in p["message"]
    assert "nothing was stored" in str(info.value)
    assert store_listing(catalog) == before


def test_the_timeframe_may_be_left_out_and_is_inferred(catalog, tmp_path):
    report = ingest_file(catalog, hourly_csv(tmp_path), "BTC", asset_class="crypto")
    assert report.timeframe == "1h" and catalog.has("BTC", "1h")
    # the declared size that matches the spacing is accepted as before
    ingest_file(catalog, hourly_csv(tmp_path), "BTC2", timeframe="1h", asset_class="crypto")
    assert catalog.has("BTC2", "1h")


def test_bars_dated_after_now_are_refused_on_ingest_and_upload(catalog, tmp_path):
    path = hourly_csv(tmp_path, shift_last=[-2, -1, 5, 30])
    before = store_listing(catalog)
    for call in (lambda: ingest_file(catalog, path, "BTC", asset_class="crypto"),
                 lambda: ingest_upload(catalog, path.read_bytes(), "btc.csv", "BTC",
                                       asset_class="crypto")):
        with pytest.raises(DataValidationError) as info:
            call()
        [p] = info.value.problems
        assert p["rule"] == "future_timestamp" and p["rows"] == [498, 499]
        assert "are dated after now" in p["message"]
        assert store_listing(catalog) == before


def test_refusals_say_nothing_was_stored_once_and_only_when_storing(catalog, tmp_path):
    path = hourly_csv(tmp_path, shift_last=[10])
    with pytest.raises(DataValidationError) as stored:
        ingest_upload(catalog, path.read_bytes(), "btc.csv", "BTC", asset_class="crypto")
    assert str(stored.value).count("nothing was stored") == 1
    assert str(stored.value).startswith("btc.csv was refused and nothing was stored;")
    with pytest.raises(DataValidationError) as read_only:     # a backtest reading a file
        read_bars_file(path, asset_class="crypto")
    assert "nothing was stored" not in str(read_only.value)
    assert str(read_only.value).startswith("btc_hourly.csv was refused;")
