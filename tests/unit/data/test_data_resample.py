"""Resampling in DuckDB against pandas' resample on the real BTCUSD_COINBASE 1h sample.

Open, high, low, close and the bucket times must be equal bit for bit. Volume is the sum
of the bucket's volumes added in time order; pandas' grouped sum uses a compensated
(Kahan-style) summation whose last bit can differ, so volume is compared exactly against
pandas' resample with an in-order sum, and to 1e-12 relative against pandas' ``sum``.
"""

from __future__ import annotations

import functools
import operator

import numpy as np
import pandas as pd
import pytest
from conftest import sample_bars

from lab.core.errors import DataError
from lab.data import fingerprint, resample


def in_order_sum(values: pd.Series) -> float:
    return functools.reduce(operator.add, values.tolist(), 0.0)


def pandas_resample(bars: pd.DataFrame, rule: str, volume=in_order_sum, **kwargs) -> pd.DataFrame:
    grouped = bars.resample(rule, label="left", closed="left", **kwargs)
    out = grouped.agg({"open": "first", "high": "max", "low": "min", "close": "last",
                       "volume": volume})
    return out[grouped.size() > 0]


@pytest.fixture(scope="module")
def btc_1h() -> pd.DataFrame:
    return sample_bars("BTCUSD_COINBASE_1h")


def test_1h_to_4h_equals_pandas_resample_exactly(btc_1h):
    ours = resample(btc_1h, "4h")
    theirs = pandas_resample(btc_1h, "4h", origin="epoch")
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True, check_freq=False)
    assert set(ours.index.hour) == {0, 4, 8, 12, 16, 20}


def test_1h_to_4h_to_1d_equals_pandas_chain_exactly(btc_1h):
    ours = resample(resample(btc_1h, "4h"), "1d")
    theirs = pandas_resample(pandas_resample(btc_1h, "4h", origin="epoch"), "24h", origin="epoch")
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True, check_freq=False)
    assert (ours.index.hour == 0).all()


def test_1h_to_1d_matches_pandas_sum_and_direct_path(btc_1h):
    direct = resample(btc_1h, "1d")
    chained = resample(resample(btc_1h, "4h"), "1d")
    theirs = pandas_resample(btc_1h, "24h", volume="sum", origin="epoch")
    cols = ["open", "high", "low", "close"]
    pd.testing.assert_frame_equal(direct[cols], theirs[cols], check_exact=True, check_freq=False)
    pd.testing.assert_frame_equal(chained[cols], direct[cols], check_exact=True)
    np.testing.assert_allclose(direct["volume"], theirs["volume"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(chained["volume"], direct["volume"], rtol=1e-12, atol=0)


def test_stored_1d_loads_as_weekly_bars_starting_monday(sample_catalog):
    daily = sample_catalog.load("SPX", "1d")
    weekly = sample_catalog.load("SPX", "1w")
    theirs = pandas_resample(daily, "W-MON")
    pd.testing.assert_frame_equal(weekly, theirs, check_exact=True, check_freq=False)
    assert (weekly.index.dayofweek == 0).all() and (weekly.index.hour == 0).all()
    # the week of 2001-09-10: only Monday traded
    assert weekly.loc["2001-09-10", "close"].item() == daily.loc["2001-09-10", "close"].item()


def test_load_resamples_the_stored_finer_timeframe(sample_catalog, btc_1h):
    four = sample_catalog.load("BTCUSD_COINBASE", "4h")
    pd.testing.assert_frame_equal(four, resample(btc_1h, "4h"), check_exact=True)
    twelve = sample_catalog.load("EURUSD", "12h")
    assert set(twelve.index.hour) <= {0, 12}


def test_load_of_resampled_bars_filters_on_bucket_open_time(sample_catalog, btc_1h):
    part = sample_catalog.load("BTCUSD_COINBASE", "4h", start="2018-01-01 02:00",
                               end="2018-01-02")
    assert part.index[0] == pd.Timestamp("2018-01-01 04:00", tz="UTC")
    assert part.index[-1] == pd.Timestamp("2018-01-02 00:00", tz="UTC")
    full = resample(btc_1h, "4h")
    pd.testing.assert_frame_equal(part, full.loc[part.index[0]:part.index[-1]], check_exact=True)


def test_weekly_load_prefers_the_coarsest_stored_divisor(sample_catalog):
    weekly = sample_catalog.load("BTCUSD_COINBASE", "1w")
    daily = sample_catalog.load("BTCUSD_COINBASE", "1d")
    assert weekly.index[0] <= daily.index[0]  # built from the 1d file (starts 2014), not 1h (2017)
    assert weekly.index[0].year == 2014


def test_resample_to_the_same_timeframe_returns_the_bars_unchanged(btc_1h):
    same = resample(btc_1h, "1h")
    pd.testing.assert_frame_equal(same, btc_1h, check_exact=True)
    assert fingerprint(same) == fingerprint(btc_1h)


def test_resample_to_a_finer_timeframe_is_refused(btc_1h):
    with pytest.raises(DataError, match="cannot resample 1h bars to the finer 15m"):
        resample(btc_1h, "15m")


def test_resample_to_a_non_multiple_is_refused(btc_1h):
    with pytest.raises(DataError, match="6h is not a whole multiple of 4h"):
        resample(resample(btc_1h, "4h"), "6h")


def test_resample_of_no_bars_returns_no_bars(btc_1h):
    out = resample(btc_1h.iloc[:0], "1d")
    assert out.empty and list(out.columns) == ["open", "high", "low", "close", "volume"]


def test_resample_is_deterministic(btc_1h):
    assert fingerprint(resample(btc_1h, "1w")) == fingerprint(resample(btc_1h, "1w"))


def test_bars_before_1970_fall_in_the_right_bucket():
    index = pd.DatetimeIndex(["1969-12-31 22:00", "1969-12-31 23:00", "1970-01-01 00:00"],
                             tz="UTC", name="ts_event")
    bars = pd.DataFrame({"open": [1.0, 2.0, 3.0], "high": [1.0, 2.0, 3.0],
                         "low": [1.0, 2.0, 3.0], "close": [1.0, 2.0, 3.0],
                         "volume": [1.0, 1.0, 1.0]}, index=index)
    out = resample(bars, "4h")
    assert list(out.index.hour) == [20, 0] and list(out["volume"]) == [2.0, 1.0]
