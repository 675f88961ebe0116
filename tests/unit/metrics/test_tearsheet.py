"""QuantStats tearsheets on the real samples, and the daily compounding before them."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from lab.api import run_backtest
from lab.core import ExecutionConfig
from lab.metrics.tearsheet import (buy_and_hold_returns, daily_returns, periods_per_year_of,
                                   tearsheet_html)

# one worker builds the shared fixtures once (make test runs --dist loadgroup)
pytestmark = pytest.mark.xdist_group("tearsheet")


def test_intraday_returns_compound_to_utc_days_without_empty_days():
    idx = pd.DatetimeIndex(["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-03 00:00"],
                           tz="UTC")
    daily, intraday = daily_returns(pd.Series([0.1, 0.1, -0.2], index=idx))
    assert intraday
    assert daily.index.tz is None
    assert list(daily.index) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-03")]
    assert list(daily) == pytest.approx([0.21, -0.2])


def test_daily_returns_pass_through_unchanged_but_tz_naive():
    idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    daily, intraday = daily_returns(pd.Series([0.01, -0.02, 0.03], index=idx))
    assert not intraday and list(daily) == pytest.approx([0.01, -0.02, 0.03])


def test_weekends_mean_365_periods_a_year():
    every_day = pd.Series(0.0, index=pd.date_range("2024-01-01", periods=70, freq="D"))
    business = pd.Series(0.0, index=pd.bdate_range("2024-01-01", periods=70))
    assert periods_per_year_of(every_day) == 365 and periods_per_year_of(business) == 252


def test_benchmark_that_does_not_overlap_is_refused_with_both_ranges():
    r = pd.Series(0.01, index=pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC"))
    b = pd.Series(0.01, index=pd.date_range("2020-01-01", periods=5, freq="D", tz="UTC"))
    with pytest.raises(ValueError, match="does not overlap"):
        tearsheet_html(r, b)


CASES = {
    "btc_1h_vs_buy_and_hold": ("BTCUSD_COINBASE", "1h", "crypto", None),
    "aapl_1d_vs_spx": ("AAPL", "1d", "equity", "SPX"),
    "spx_1d_vs_buy_and_hold": ("SPX", "1d", "index", None),
}


@pytest.fixture(scope="module", params=list(CASES))
def sheet(request, sample_catalog):
    symbol, tf, ac, bench_symbol = CASES[request.param]
    bars = sample_catalog.load(symbol, tf)
    res = run_backtest(bars, "sma_cross", {"fast": 10, "slow": 50},
                       ExecutionConfig(direction="both"), asset_class=ac, timeframe=tf,
                       symbol=symbol)
    bench_close = sample_catalog.load(bench_symbol, "1d")["close"] if bench_symbol else bars["close"]
    name = bench_symbol or f"{symbol} buy and hold"
    bench = buy_and_hold_returns(bench_close, name)
    html = tearsheet_html(res.returns, bench, title=f"sma_cross on {symbol}")
    return res, name, html, tf


def test_tearsheet_has_the_quantstats_sections(sheet):
    _, name, html, _ = sheet
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500]
    for section in ("Key Performance Metrics", "EOY Returns vs Benchmark",
                    "Worst 10 Drawdowns", "Sharpe", "Sortino", "Max Drawdown",
                    "Cumulative Return", "<svg"):
        assert section in html, section
    assert f"<th>{name}</th>" in html and "<th>Strategy</th>" in html


def test_title_says_when_intraday_returns_were_compounded(sheet):
    _, _, html, tf = sheet
    assert "sma_cross on" in html
    assert ("intraday returns compounded to daily" in html) == (tf == "1h")


def test_tearsheet_sharpe_is_the_daily_sharpe_of_the_strategy(sheet):
    res, _, html, _ = sheet
    daily, _ = daily_returns(res.returns)
    ppy = periods_per_year_of(daily)
    daily = daily.loc[daily.ne(0).idxmax():]    # QuantStats drops the flat warm-up days
    expected = daily.mean() / daily.std(ddof=1) * math.sqrt(ppy)
    shown = re.search(r"<td>Sharpe</td><td>[^<]*</td><td>([-0-9.]+)</td>", html)
    assert shown, "Sharpe row not found"
    assert float(shown.group(1)) == pytest.approx(expected, abs=0.006)


def test_tearsheet_is_quiet(sample_catalog, capfd, recwarn):
    bars = sample_catalog.load("SPX", "1d").iloc[-300:]
    r = bars["close"].pct_change().fillna(0.0)
    tearsheet_html(r, buy_and_hold_returns(bars["close"]))
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert not [w for w in recwarn if "quantstats" in str(w.filename).lower()]
