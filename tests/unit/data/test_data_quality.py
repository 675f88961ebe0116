"""Quality report: gaps against each asset class's calendar, zero volume, extreme moves."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import sample_bars

from lab.data import QualityReport, assess_quality, infer_timeframe


def report_of(bars: pd.DataFrame, timeframe: str, asset_class: str) -> QualityReport:
    return assess_quality(bars, timeframe, asset_class)


def gap_spans(report: QualityReport) -> list[tuple[str, str, int]]:
    return [(g["start"].isoformat(), g["end"].isoformat(), g["missing_bars"])
            for g in report.gaps["largest"]]


def test_unadjusted_aapl_2005_split_is_flagged_as_an_extreme_move():
    report = report_of(sample_bars("AAPL_1d"), "1d", "equity")
    moves = {m["ts"].strftime("%Y-%m-%d"): m["move"] for m in report.extreme_moves}
    assert "2005-02-28" in moves
    assert moves["2005-02-28"] == pytest.approx(-0.5, abs=0.02)
    assert "2000-06-21" in moves  # the 2000 split too
    assert report.extreme_move_threshold >= 0.20


def test_adjusted_series_has_no_split_flags():
    report = report_of(sample_bars("GOOGL_1d"), "1d", "equity")
    assert report.extreme_move_count == 0


def test_eurusd_weekend_closures_and_christmas_are_not_gaps():
    bars = sample_bars("EURUSD_1h")
    report = report_of(bars, "1h", "fx")
    holes = np.diff(bars.index.asi8) > 3600 * 10**9
    assert holes.sum() >= 50  # one per weekend, and Christmas
    assert report.gaps["count"] == 0


def test_eurusd_hole_made_by_deleting_three_weekdays_is_a_gap():
    bars = sample_bars("EURUSD_1h")
    holed = bars.drop(bars.loc["2017-03-07":"2017-03-09"].index)
    report = report_of(holed, "1h", "fx")
    assert report.gaps["count"] == 1
    assert gap_spans(report) == [("2017-03-06T23:00:00+00:00", "2017-03-10T00:00:00+00:00", 72)]


def test_eurusd_missing_friday_afternoon_before_the_weekend_is_a_gap():
    bars = sample_bars("EURUSD_1h")
    holed = bars.drop(bars.loc["2017-03-10 15:00":"2017-03-10 19:00"].index)
    report = report_of(holed, "1h", "fx")
    assert report.gaps["count"] == 1
    assert report.gaps["largest"][0]["missing_bars"] == 5


def test_crypto_zero_volume_hours_are_counted():
    bars = sample_bars("BTCUSD_COINBASE_1h")
    report = report_of(bars, "1h", "crypto")
    assert report.zero_volume_bars == int((bars["volume"] == 0).sum()) == 28
    assert "zero-volume bars: 28" in report.summary()


def test_crypto_trades_every_hour_so_one_missing_hour_is_a_gap():
    bars = sample_bars("BTCUSD_BITFINEX_1h")
    assert report_of(bars, "1h", "crypto").gaps["count"] == 0
    holed = bars.drop(pd.Timestamp("2018-06-02 13:00", tz="UTC"))
    report = report_of(holed, "1h", "crypto")
    assert gap_spans(report) == [("2018-06-02T12:00:00+00:00", "2018-06-02T14:00:00+00:00", 1)]


def test_crypto_weekend_days_missing_are_gaps_but_equity_weekends_are_not():
    daily = sample_bars("BTCUSD_BITSTAMP_1d").loc["2016"]
    weekdays_only = daily[daily.index.dayofweek < 5]
    assert report_of(weekdays_only, "1d", "crypto").gaps["count"] == 52
    assert report_of(weekdays_only, "1d", "equity").gaps["count"] == 0


def test_equity_holidays_and_special_closures_are_not_gaps():
    report = report_of(sample_bars("SPX_1d"), "1d", "index")
    assert report.gaps["count"] == 0  # includes 2001-09-11..14 and Hurricane Sandy


def test_equity_one_missing_weekday_is_a_holiday_but_a_missing_week_is_a_gap():
    bars = sample_bars("SPX_1d")
    one_day = bars.drop(pd.Timestamp("2008-03-12", tz="UTC"))
    assert report_of(one_day, "1d", "index").gaps["count"] == 0
    week = bars.drop(bars.loc["2008-03-10":"2008-03-14"].index)
    report = report_of(week, "1d", "index")
    assert gap_spans(report) == [("2008-03-07T00:00:00+00:00", "2008-03-17T00:00:00+00:00", 5)]


def test_equity_intraday_nights_are_not_gaps_but_a_missing_hour_is():
    days = pd.bdate_range("2021-03-01", "2021-03-12", tz="UTC")
    index = pd.DatetimeIndex([d + pd.Timedelta(hours=h, minutes=30) for d in days
                              for h in range(14, 21)], name="ts_event").as_unit("ns")
    price = np.linspace(100, 110, len(index))
    bars = pd.DataFrame({"open": price, "high": price + 1, "low": price - 1, "close": price,
                         "volume": 1.0}, index=index)
    assert report_of(bars, "1h", "equity").gaps["count"] == 0
    holed = bars.drop(pd.Timestamp("2021-03-03 16:30", tz="UTC"))
    assert gap_spans(report_of(holed, "1h", "equity")) == [
        ("2021-03-03T15:30:00+00:00", "2021-03-03T17:30:00+00:00", 1)]


def test_extreme_move_threshold_scales_with_the_series_volatility():
    rng = np.random.default_rng(7)
    index = pd.date_range("2020-01-01", periods=400, freq="D", tz="UTC", name="ts_event").as_unit("ns")

    def bars_with(returns):
        close = 100 * np.cumprod(1 + returns)
        return pd.DataFrame({"open": close, "high": close, "low": close, "close": close,
                             "volume": 1.0}, index=index)

    calm = rng.normal(0, 0.01, 400)
    wild = rng.normal(0, 0.06, 400)
    calm[200] = wild[200] = 0.25
    assert report_of(bars_with(calm), "1d", "crypto").extreme_move_count == 1
    wild_report = report_of(bars_with(np.clip(wild, -0.2, 0.25)), "1d", "crypto")
    assert wild_report.extreme_move_threshold > 0.3
    assert wild_report.extreme_move_count == 0


def test_report_round_trips_through_json():
    bars = sample_bars("BTCUSD_COINBASE_1d")
    report = report_of(bars, "1d", "crypto")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["gaps"]["count"] == 1 and data["first"] == "2014-12-01T00:00:00+00:00"
    again = QualityReport.from_dict(data)
    assert again == report
    text = report.summary()
    assert "1770 bars of 1d" in text and "gaps: 1" in text and "extreme moves" in text


@pytest.mark.parametrize("spacing, expected", [
    ("1min", "1m"), ("15min", "15m"), ("1h", "1h"), ("4h", "4h"), ("1D", "1d"), ("7D", "1w"),
    ("30D", None),
])
def test_timeframe_is_inferred_from_the_median_spacing(spacing, expected):
    index = pd.date_range("2021-01-01", periods=10, freq=spacing, tz="UTC")
    assert infer_timeframe(index.as_unit("ns").asi8) == expected


def test_daily_equity_spacing_with_weekends_infers_1d():
    assert infer_timeframe(sample_bars("IBM_1d").index.asi8) == "1d"
