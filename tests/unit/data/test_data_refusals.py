"""Bad input is refused with the rule named and the rows listed, and nothing is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from conftest import sample_bars, store_listing

from lab.core.errors import DataError, DataValidationError
from lab.data import ingest_file, ingest_upload

HEADER = "ts_event,open,high,low,close,volume"


def good_frame() -> pd.DataFrame:
    """30 real daily BTC bars as a frame of strings/numbers ready for ``to_csv``."""
    frame = sample_bars("BTCUSD_COINBASE_1d").iloc[100:130].reset_index()
    frame["ts_event"] = frame["ts_event"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return frame.astype(object)


def csv_with(edit: Callable[[pd.DataFrame], pd.DataFrame | None]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        frame = good_frame()
        frame = edit(frame)
        path = folder / "bars.csv"
        frame.to_csv(path, index=False)
        return path
    return build


def raw(name: str, content: bytes) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path
    return build


def set_cell(row: int, column: str, value) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[row, column] = value
        return frame
    return edit


def swap_rows(a: int, b: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.iloc[[a, b]] = frame.iloc[[b, a]].to_numpy()
        return frame
    return edit


def high_below_close(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[15, "high"] = frame.loc[15, "close"] - 1.0
    frame.loc[16, ["high", "low"]] = frame.loc[16, ["low", "high"]].to_numpy()
    return frame


def ragged(folder: Path) -> Path:
    path = csv_with(lambda f: f)(folder)
    lines = path.read_text().splitlines()
    lines.insert(5, lines[5] + ",1,2")
    path.write_text("\n".join(lines) + "\n")
    return path


CASES = [
    # id, builder, rule, rows
    ("zero-bytes", raw("bars.csv", b""), "empty_file", []),
    ("header-only", raw("bars.csv", (HEADER + "\n").encode()), "empty_file", []),
    ("spreadsheet", raw("bars.xlsx", b"PK\x03\x04 not really"), "unsupported_format", []),
    ("corrupt-parquet", raw("bars.parquet", b"PAR1 this is not parquet PAR1"),
     "unreadable_file", []),
    ("ragged-csv", ragged, "unreadable_file", []),
    ("no-close-column", csv_with(lambda f: f.drop(columns="close")), "missing_columns", []),
    ("no-time-column", csv_with(lambda f: f.rename(columns={"ts_event": "when"})),
     "missing_columns", []),
    ("unparseable-time", csv_with(set_cell(3, "ts_event", "not a date")),
     "unparseable_timestamp", [3]),
    ("time-out-of-range", csv_with(set_cell(29, "ts_event", "2999-01-01T00:00:00Z")),
     "timestamp_out_of_range", [29]),
    ("duplicate-time", csv_with(lambda f: set_cell(7, "ts_event", f.loc[6, "ts_event"])(f)),
     "duplicate_timestamp", [7]),
    ("unsorted", csv_with(swap_rows(10, 11)), "unsorted_timestamps", [11]),
    ("empty-price", csv_with(set_cell(4, "close", None)), "missing_price", [4]),
    ("text-price", csv_with(set_cell(2, "close", "abc")), "non_numeric", [2]),
    ("zero-price", csv_with(set_cell(9, "low", 0.0)), "non_positive_price", [9]),
    ("negative-price", csv_with(lambda f: set_cell(12, "low", -1.0)(set_cell(12, "open", -0.5)(f))),
     "non_positive_price", [12]),
    ("ohlc-inconsistent", csv_with(high_below_close), "ohlc_inconsistent", [15, 16]),
    ("negative-volume", csv_with(set_cell(20, "volume", -5.0)), "negative_volume", [20]),
    ("one-row-no-timeframe", csv_with(lambda f: f.iloc[:1]), "unknown_timeframe", []),
]


@pytest.fixture
def seeded(catalog):
    """A catalog that already holds one dataset, so 'unchanged' is a real check."""
    catalog.store_bars(sample_bars("ETHUSD_BITSTAMP_1d"), "ETH", "1d", "crypto", "seed")
    return catalog


@pytest.mark.parametrize("case, build, rule, rows", CASES, ids=[c[0] for c in CASES])
def test_bad_file_is_refused_naming_rule_and_rows_and_store_is_unchanged(
        seeded, tmp_path, case, build, rule, rows):
    path = build(tmp_path)
    before = store_listing(seeded)
    with pytest.raises(DataValidationError) as info:
        ingest_file(seeded, path, "BAD", asset_class="crypto")
    problems = {p["rule"]: p for p in info.value.problems}
    assert rule in problems, info.value.problems
    assert problems[rule]["rows"] == rows
    assert problems[rule]["count"] == len(rows)
    message = str(info.value)
    assert rule in message and "Fix:" in message and "nothing was stored" in message
    assert store_listing(seeded) == before
    assert list(seeded.datasets()["symbol"]) == ["ETH"]


@pytest.mark.parametrize("case, build, rule, rows", CASES[5:12], ids=[c[0] for c in CASES[5:12]])
def test_bad_upload_is_refused_the_same_way(seeded, tmp_path, case, build, rule, rows):
    path = build(tmp_path)
    before = store_listing(seeded)
    with pytest.raises(DataValidationError) as info:
        ingest_upload(seeded, path.read_bytes(), path.name, "BAD", asset_class="crypto")
    assert rule in [p["rule"] for p in info.value.problems]
    assert store_listing(seeded) == before


def test_upload_over_the_size_cap_is_refused_before_reading(seeded, tmp_path):
    path = csv_with(lambda f: f)(tmp_path)
    before = store_listing(seeded)
    with pytest.raises(DataValidationError, match="file_too_large.*over 0 MB") as info:
        ingest_upload(seeded, path.open("rb"), "bars.csv", "BAD", max_bytes=100)
    assert info.value.problems[0]["rule"] == "file_too_large"
    assert store_listing(seeded) == before


def test_missing_columns_message_lists_the_columns_found(seeded, tmp_path):
    path = csv_with(lambda f: f.drop(columns="close"))(tmp_path)
    with pytest.raises(DataValidationError, match=r"no column for close.*'ts_event', 'open'"):
        ingest_file(seeded, path, "BAD")


def test_ragged_csv_message_points_at_the_line(seeded, tmp_path):
    with pytest.raises(DataValidationError, match="Expected 6 fields in line 6, saw 8"):
        ingest_file(seeded, ragged(tmp_path), "BAD")


def test_every_broken_rule_is_reported_at_once(seeded, tmp_path):
    def many(frame):
        frame = set_cell(7, "ts_event", frame.loc[6, "ts_event"])(frame)
        frame = set_cell(2, "close", "abc")(frame)
        return set_cell(20, "volume", -1.0)(frame)
    with pytest.raises(DataValidationError) as info:
        ingest_file(seeded, csv_with(many)(tmp_path), "BAD")
    rules = [p["rule"] for p in info.value.problems]
    assert {"duplicate_timestamp", "negative_volume", "non_numeric"} <= set(rules)


def test_at_most_20_rows_are_listed_with_the_full_count(seeded, tmp_path):
    def dupes(frame):
        frame.loc[1:25, "ts_event"] = frame.loc[0, "ts_event"]
        return frame
    with pytest.raises(DataValidationError, match="and 5 more") as info:
        ingest_file(seeded, csv_with(dupes)(tmp_path), "BAD")
    dup = next(p for p in info.value.problems if p["rule"] == "duplicate_timestamp")
    assert dup["rows"] == list(range(1, 21)) and dup["count"] == 25


def test_missing_file_is_a_data_error(seeded, tmp_path):
    with pytest.raises(DataError, match="no such file"):
        ingest_file(seeded, tmp_path / "nope.csv", "BAD")


def test_invalid_symbol_or_timeframe_is_refused_before_reading(seeded, tmp_path):
    path = csv_with(lambda f: f)(tmp_path)
    with pytest.raises(DataError, match="symbol must be a non-empty string"):
        ingest_file(seeded, path, "  ")
    with pytest.raises(DataError, match="unknown timeframe '2d'"):
        ingest_file(seeded, path, "OK", timeframe="2d")
    with pytest.raises(DataError, match="unknown asset class 'bonds'"):
        ingest_file(seeded, path, "OK", asset_class="bonds")
    assert list(seeded.datasets()["symbol"]) == ["ETH"]
