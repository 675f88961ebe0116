"""read_bars_file: finding the time and OHLCV columns in the files people actually have."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import sample_bars

from lab.core.errors import DataValidationError
from lab.data import fingerprint, read_bars_file

BODY = [(1.0, 2.0, 0.5, 1.5, 10.0), (1.5, 2.5, 1.0, 2.0, 0.0), (2.0, 3.0, 1.5, 2.5, 30.0)]
HOURS = pd.DatetimeIndex(["2021-03-01 00:00", "2021-03-01 01:00", "2021-03-01 02:00"],
                         tz="UTC", name="ts_event").as_unit("ns")


def write(tmp_path: Path, header: str, times: list[str], body=BODY, name="bars.csv",
          sep=",") -> Path:
    lines = [header] + [sep.join([t] + [repr(v) for v in row]) for t, row in zip(times, body)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def expect_hours(bars: pd.DataFrame) -> None:
    pd.testing.assert_index_equal(bars.index, HOURS)
    np.testing.assert_array_equal(bars.to_numpy(), np.array(BODY))


@pytest.mark.parametrize("header, times", [
    ("ts_event,open,high,low,close,volume",
     ["2021-03-01T00:00:00Z", "2021-03-01T01:00:00Z", "2021-03-01T02:00:00Z"]),
    ("Date,Open,High,Low,Close,Volume",
     ["2021-03-01 00:00", "2021-03-01 01:00", "2021-03-01 02:00"]),
    ("timestamp,o,h,l,c,v", ["1614556800", "1614560400", "1614564000"]),
    ("Open time,Open,High,Low,Close,Volume", ["1614556800000", "1614560400000", "1614564000000"]),
    ("DATETIME,OPEN,HIGH,LOW,CLOSE,VOL",
     ["2021-02-28 19:00:00-05:00", "2021-02-28 20:00:00-05:00", "2021-03-01 03:00:00+01:00"]),
    ("time,open,high,low,close,volume", ["1614556800.0", "1614560400.0", "1614564000.0"]),
], ids=["iso-z", "naive-is-utc", "unix-seconds", "binance-ms", "offsets-to-utc", "float-seconds"])
def test_time_formats_and_column_names_are_recognized(tmp_path, header, times):
    bars, report = read_bars_file(write(tmp_path, header, times))
    expect_hours(bars)
    assert report.timeframe == "1h" and report.inferred_timeframe == "1h"


def test_separate_date_and_time_columns_are_combined(tmp_path):
    lines = ["Date,Time,Open,High,Low,Close,Volume"] + [
        f"2021-03-01,{h:02d}:00," + ",".join(map(repr, row)) for h, row in enumerate(BODY)]
    (tmp_path / "mt.csv").write_text("\n".join(lines) + "\n")
    bars, report = read_bars_file(tmp_path / "mt.csv")
    expect_hours(bars)
    assert report.columns["ts_event"] == "Date + Time"


def test_semicolon_separated_file_is_read(tmp_path):
    path = write(tmp_path, "date;open;high;low;close;volume",
                 ["2021-03-01 00:00", "2021-03-01 01:00", "2021-03-01 02:00"], sep=";")
    expect_hours(read_bars_file(path)[0])


def test_yyyymmdd_integers_are_dates(tmp_path):
    path = write(tmp_path, "date,open,high,low,close,volume", ["20210301", "20210302", "20210303"])
    bars, report = read_bars_file(path)
    assert list(bars.index.day) == [1, 2, 3] and report.timeframe == "1d"


def test_adj_close_is_ignored_when_close_exists(tmp_path):
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"] + [
        f"2021-03-0{i + 1},{o},{h},{lo},{c},{c / 2},{v}" for i, (o, h, lo, c, v) in enumerate(BODY)]
    (tmp_path / "y.csv").write_text("\n".join(lines) + "\n")
    bars, report = read_bars_file(tmp_path / "y.csv")
    assert list(bars["close"]) == [1.5, 2.0, 2.5] and report.columns["close"] == "Close"


def test_adj_close_is_used_with_a_warning_when_there_is_no_close(tmp_path):
    path = write(tmp_path, "Date,Open,High,Low,Adj Close,Volume",
                 ["2021-03-01", "2021-03-02", "2021-03-03"])
    bars, report = read_bars_file(path)
    assert list(bars["close"]) == [1.5, 2.0, 2.5]
    assert any("Adj Close" in w for w in report.warnings)


def test_missing_volume_becomes_zero_with_a_warning(tmp_path):
    path = write(tmp_path, "date,open,high,low,close", ["2021-03-01", "2021-03-02", "2021-03-03"],
                 body=[row[:4] for row in BODY])
    bars, report = read_bars_file(path)
    assert (bars["volume"] == 0).all()
    assert any("no volume column" in w for w in report.warnings)


def test_prefixed_volume_column_is_used(tmp_path):
    lines = ["Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USD"] + [
        f"2021-03-0{i + 1},BTCUSD,{o},{h},{lo},{c},{v},{v * 50000}"
        for i, (o, h, lo, c, v) in enumerate(BODY)]
    (tmp_path / "cdd.csv").write_text("\n".join(lines) + "\n")
    bars, report = read_bars_file(tmp_path / "cdd.csv")
    assert list(bars["volume"]) == [10.0, 0.0, 30.0] and report.columns["volume"] == "Volume BTC"


def test_parquet_with_a_datetime_index_is_read(tmp_path):
    bars = sample_bars("EURUSD_1h").iloc[:50]
    bars.rename(columns=str.capitalize).rename_axis("Datetime").to_parquet(tmp_path / "e.parquet")
    back, _ = read_bars_file(tmp_path / "e.parquet")
    pd.testing.assert_frame_equal(back, bars)


def test_gzipped_csv_and_in_memory_bytes_are_read(tmp_path):
    bars = sample_bars("LTCUSD_BITSTAMP_1d").iloc[:40]
    bars.reset_index().to_csv(tmp_path / "l.csv.gz", index=False)
    from_gz, _ = read_bars_file(tmp_path / "l.csv.gz")
    buffer = io.BytesIO()
    bars.reset_index().to_csv(buffer, index=False)
    from_bytes, _ = read_bars_file(buffer.getvalue(), filename="upload.csv")
    assert fingerprint(from_gz) == fingerprint(from_bytes) == fingerprint(bars)


def test_declared_timeframe_that_disagrees_with_the_data_is_refused(tmp_path):
    """Was only a warning: hourly bars were stored as 1d and every metric was wrong."""
    path = write(tmp_path, "date,open,high,low,close,volume",
                 ["2021-03-01 00:00", "2021-03-01 01:00", "2021-03-01 02:00"])
    with pytest.raises(DataValidationError) as info:
        read_bars_file(path, timeframe="1d")
    assert info.value.problems[0]["rule"] == "timeframe_mismatch"
    assert "bars are 1 hour (1h bars) apart" in str(info.value)


def test_bars_off_the_utc_grid_get_a_warning(tmp_path):
    path = write(tmp_path, "date,open,high,low,close,volume",
                 ["2021-03-01 00:00-05:00", "2021-03-02 00:00-05:00", "2021-03-03 00:00-05:00"])
    _, report = read_bars_file(path)
    assert any("do not start on a 1d boundary" in w for w in report.warnings)


def test_day_first_dates_are_read_when_month_first_cannot_be(tmp_path):
    path = write(tmp_path, "Gmt time,Open,High,Low,Close,Volume",
                 ["12.03.2021 00:00:00.000", "13.03.2021 00:00:00.000", "14.03.2021 00:00:00.000"])
    bars, report = read_bars_file(path)
    assert list(bars.index.day) == [12, 13, 14] and list(bars.index.month) == [3, 3, 3]
    assert any("day first" in w for w in report.warnings)


def test_excel_csv_with_byte_order_mark_and_crlf_is_read(tmp_path):
    path = write(tmp_path, "Date,Open,High,Low,Close,Volume",
                 ["2021-03-01 00:00", "2021-03-01 01:00", "2021-03-01 02:00"])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_text().replace("\n", "\r\n").encode())
    expect_hours(read_bars_file(path)[0])
