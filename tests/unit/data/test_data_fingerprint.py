"""Fingerprint: a content hash that follows the data, not the file."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import sample_bars, write_csv
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.data import fingerprint, read_bars_file
from lab.data.frames import to_arrow


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    return sample_bars("ETHUSD_BITSTAMP_1d")


def test_fingerprint_is_16_hex_digits_and_stable(bars):
    fp = fingerprint(bars)
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert fingerprint(bars.copy()) == fp


@pytest.mark.parametrize("column", ["open", "high", "low", "close", "volume"])
def test_fingerprint_changes_when_one_value_changes(bars, column):
    changed = bars.copy()
    changed.iloc[100, changed.columns.get_loc(column)] += 0.01
    assert fingerprint(changed) != fingerprint(bars)


def test_fingerprint_changes_when_one_time_moves_by_one_nanosecond(bars):
    moved = bars.copy()
    moved.index = moved.index.as_unit("ns") + pd.to_timedelta(
        np.r_[np.zeros(len(bars) - 1, dtype="int64"), 1], unit="ns")
    assert fingerprint(moved) != fingerprint(bars)


def test_fingerprint_changes_when_a_row_is_dropped(bars):
    assert fingerprint(bars.iloc[1:]) != fingerprint(bars)


def test_fingerprint_is_the_same_for_csv_and_parquet_of_the_same_bars(bars, tmp_path):
    write_csv(bars, tmp_path / "eth.csv")
    bars.to_parquet(tmp_path / "eth.parquet")
    from_csv, _ = read_bars_file(tmp_path / "eth.csv")
    from_parquet, _ = read_bars_file(tmp_path / "eth.parquet")
    assert fingerprint(from_csv) == fingerprint(from_parquet) == fingerprint(bars)


def test_fingerprint_ignores_column_order_extra_columns_and_naive_utc_index(bars):
    shuffled = bars[["volume", "close", "open", "low", "high"]].assign(note="x")
    naive = bars.copy()
    naive.index = naive.index.tz_localize(None)
    as_column = bars.reset_index()
    assert fingerprint(shuffled) == fingerprint(naive) == fingerprint(as_column) == fingerprint(bars)


def test_fingerprint_is_the_same_in_another_time_zone(bars):
    eastern = bars.tz_convert("America/New_York")
    assert fingerprint(eastern) == fingerprint(bars)


prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(prices, prices, st.floats(0, 1e9)), min_size=1, max_size=30),
       st.integers(0, 15 * 10**17))          # up to 2017: bars after now are refused
def test_fingerprint_survives_a_parquet_round_trip(rows, start_ns):
    n = len(rows)
    index = pd.DatetimeIndex(start_ns + np.arange(n, dtype="int64") * 60 * 10**9, tz="UTC",
                             name="ts_event")
    a, b, v = (np.array(x) for x in zip(*rows))
    frame = pd.DataFrame({"open": a, "high": np.maximum(a, b), "low": np.minimum(a, b),
                          "close": b, "volume": v}, index=index)
    buffer = io.BytesIO()
    pq.write_table(to_arrow(frame), buffer)
    back, _ = read_bars_file(buffer.getvalue(), filename="x.parquet")
    assert fingerprint(back) == fingerprint(frame)
