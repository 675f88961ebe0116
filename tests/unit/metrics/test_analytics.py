"""Analytics: golden values on hand-made series, laws on real backtests."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from lab.api import run_backtest
from lab.core import ExecutionConfig
from lab.metrics import (alpha_beta, market_regime, monthly_returns, regime_performance,
                         rolling_sharpe, trade_pnl_stats, underwater)
from lab.metrics.analytics import BEAR, BULL


def series(values, start="2024-01-01", freq="D", tz="UTC") -> pd.Series:
    idx = pd.date_range(start, periods=len(values), freq=freq, tz=tz, name="ts_event")
    return pd.Series(np.asarray(values, dtype=float), index=idx)


# ---- monthly returns ---------------------------------------------------------------

def test_monthly_returns_compound_within_month_and_total_the_year():
    idx = pd.DatetimeIndex(["2023-01-10", "2023-01-20", "2023-02-05", "2024-01-03"], tz="UTC")
    r = pd.Series([0.1, 0.1, -0.5, 0.2], index=idx)
    t = monthly_returns(r)
    assert list(t.index) == [2023, 2024]
    assert list(t.columns) == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                               "Sep", "Oct", "Nov", "Dec", "Year"]
    assert t.loc[2023, "Jan"] == pytest.approx(0.21)
    assert t.loc[2023, "Feb"] == pytest.approx(-0.5)
    assert t.loc[2023, "Year"] == pytest.approx(1.21 * 0.5 - 1)
    assert t.loc[2024, "Year"] == pytest.approx(0.2)
    assert math.isnan(t.loc[2023, "Mar"]) and math.isnan(t.loc[2024, "Feb"])


def test_monthly_returns_use_utc_months_for_tz_aware_bars():
    idx = pd.DatetimeIndex(["2023-01-31 23:00", "2023-02-01 00:00"], tz="UTC").tz_convert(
        "America/New_York")             # 18:00 and 19:00 on Jan 31 in New York
    t = monthly_returns(pd.Series([0.1, 0.2], index=idx))
    assert t.loc[2023, "Jan"] == pytest.approx(0.1) and t.loc[2023, "Feb"] == pytest.approx(0.2)


def test_monthly_returns_refuse_a_plain_index():
    with pytest.raises(ValueError, match="DatetimeIndex"):
        monthly_returns(pd.Series([0.1, 0.2]))


# ---- rolling Sharpe ----------------------------------------------------------------

def test_rolling_sharpe_golden_window_of_three():
    s = rolling_sharpe(series([0.01, 0.02, 0.03, 0.03, 0.03]), window=3, periods_per_year=252)
    assert s.iloc[:2].isna().all()
    assert s.iloc[2] == pytest.approx(0.02 / 0.01 * math.sqrt(252))
    assert s.iloc[3] == pytest.approx((0.08 / 3) / np.std([0.02, 0.03, 0.03], ddof=1)
                                      * math.sqrt(252))
    assert math.isnan(s.iloc[4])            # no variance in the window


@pytest.mark.parametrize("window, ppy", [(1, 252), (10, 0)])
def test_rolling_sharpe_refuses_bad_arguments(window, ppy):
    with pytest.raises(ValueError):
        rolling_sharpe(series([0.01] * 20), window, ppy)


# ---- underwater --------------------------------------------------------------------

def test_underwater_golden_values():
    dd = underwater(series([0.1, -0.5, 0.2, 1.0]))
    assert list(dd) == pytest.approx([0.0, -0.5, 0.66 / 1.1 - 1, 0.0])
    assert underwater(series([-0.1])).iloc[0] == pytest.approx(-0.1)   # from the start


# ---- alpha / beta ------------------------------------------------------------------

def test_alpha_beta_recover_an_exact_linear_relation():
    rng = np.random.default_rng(1)
    m = series(rng.normal(0, 0.01, 500))
    out = alpha_beta(0.001 + 2.0 * m, m, periods_per_year=252)
    assert out["beta"] == pytest.approx(2.0)
    assert out["alpha_per_bar"] == pytest.approx(0.001)
    assert out["alpha"] == pytest.approx(0.252)
    assert out["r2"] == pytest.approx(1.0) and out["bars"] == 500


def test_alpha_beta_match_quantstats_greeks():
    rng = np.random.default_rng(2)
    m = series(rng.normal(0.0005, 0.01, 300), tz=None)      # QuantStats wants tz-naive
    r = 0.6 * m + series(rng.normal(0.0002, 0.008, 300), tz=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import quantstats as qs
        g = qs.stats.greeks(r, m, periods=252)
    out = alpha_beta(r, m, 252)
    assert out["beta"] == pytest.approx(g["beta"], rel=1e-9)
    assert out["alpha"] == pytest.approx(g["alpha"], rel=1e-9)


def test_alpha_beta_align_on_common_bars_and_handle_a_flat_benchmark():
    r = series([0.01, 0.02, -0.01, 0.03])
    m = series([0.0, 0.02, -0.01], start="2024-01-02")
    assert alpha_beta(r, m, 252)["bars"] == 3
    assert math.isnan(alpha_beta(r, series([0.0] * 4), 252)["beta"])


# ---- regimes -----------------------------------------------------------------------

CLOSE = [10, 11, 12, 13, 12, 11, 10, 11]


def test_regime_of_a_bar_uses_the_previous_close_and_its_sma():
    reg = market_regime(series(CLOSE), window=2)
    assert list(reg) == [None, None, BULL, BULL, BULL, BEAR, BEAR, BEAR]


def test_regime_has_no_look_ahead():
    full = market_regime(series(CLOSE), window=2)
    for n in range(3, len(CLOSE)):
        moved = list(CLOSE)
        moved[n] = 1000.0                  # a change at bar n cannot affect bars <= n
        assert list(market_regime(series(moved), 2).iloc[:n + 1]) == list(full.iloc[:n + 1])


def test_regime_performance_golden_values():
    r = series([0.5, 0.3, 0.1, -0.05, 0.02, -0.1, 0.0, 0.04])
    out = regime_performance(r, series(CLOSE), periods_per_year=252, window=2)
    bull, bear = out.loc[BULL], out.loc[BEAR]
    assert bull["bars"] == 3 and bear["bars"] == 3
    assert bull["share"] == pytest.approx(0.5)
    assert bull["total_return"] == pytest.approx(1.1 * 0.95 * 1.02 - 1)
    assert bear["total_return"] == pytest.approx(0.9 * 1.04 - 1)
    assert bull["annualized_return"] == pytest.approx((1.1 * 0.95 * 1.02) ** (252 / 3) - 1)
    x = np.array([0.1, -0.05, 0.02])
    assert bull["sharpe"] == pytest.approx(x.mean() / x.std(ddof=1) * math.sqrt(252))
    assert bull["hit_rate"] == pytest.approx(2 / 3)
    assert bear["hit_rate"] == pytest.approx(0.5)           # the zero bar is not counted


def test_daily_regime_is_carried_to_the_hours_of_the_next_day():
    daily = series([1, 2, 3, 1, 1])          # shifted regime: -, -, bull, bull, bear
    hourly = series(np.full(24 * 5, 0.001), freq="h")
    out = regime_performance(hourly, daily, periods_per_year=8760, window=2)
    assert out.loc[BULL, "bars"] == 48 and out.loc[BEAR, "bars"] == 24


# ---- trades ------------------------------------------------------------------------

def test_trade_pnl_stats_per_side():
    trades = pd.DataFrame({"side": ["long", "long", "short", "long"],
                           "pnl": [100.0, -50.0, 30.0, 20.0],
                           "return": [0.1, -0.05, 0.03, 0.02], "bars_held": [3, 5, 2, 2]})
    s = trade_pnl_stats(trades)
    assert list(s.index) == ["all", "long", "short"]
    assert s.loc["all", "trades"] == 4 and s.loc["all", "win_rate"] == pytest.approx(0.75)
    assert s.loc["long", "avg_win"] == pytest.approx(60.0)
    assert s.loc["long", "payoff_ratio"] == pytest.approx(60.0 / 50.0)
    assert math.isnan(s.loc["short", "payoff_ratio"])
    assert s.loc["all", "avg_bars_held"] == pytest.approx(3.0)


# ---- real data ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def spx(sample_catalog):
    return sample_catalog.load("SPX", "1d")


def test_buy_and_hold_has_beta_one_and_no_alpha_against_itself(spx):
    r = spx["close"].pct_change().dropna()
    out = alpha_beta(r, r, 252)
    assert out["beta"] == pytest.approx(1.0) and out["alpha"] == pytest.approx(0.0, abs=1e-12)


def test_buy_and_hold_backtest_tracks_its_instrument(spx):
    res = run_backtest(spx, "buy_and_hold", None, ExecutionConfig(), asset_class="index",
                       timeframe="1d", symbol="SPX")
    bench = spx["close"].pct_change()
    out = alpha_beta(res.returns.iloc[2:], bench.iloc[2:], res.periods_per_year)
    assert out["beta"] == pytest.approx(1.0, abs=1e-9)
    assert out["alpha"] == pytest.approx(0.0, abs=1e-9)


@pytest.fixture(scope="module")
def btc(sample_catalog):
    bars = sample_catalog.load("BTCUSD_COINBASE", "1h")
    res = run_backtest(bars, "sma_cross", {"fast": 10, "slow": 50},
                       ExecutionConfig(direction="both"), asset_class="crypto",
                       timeframe="1h", symbol="BTCUSD_COINBASE")
    return bars, res


def test_year_totals_compound_to_the_total_return(btc):
    _, res = btc
    t = monthly_returns(res.returns)
    assert np.prod(1 + t["Year"]) - 1 == pytest.approx(res.metrics["total_return"], rel=1e-9)
    months = t.drop(columns="Year").stack()
    assert np.prod(1 + months) - 1 == pytest.approx(res.metrics["total_return"], rel=1e-9)


def test_underwater_equals_the_engine_drawdown(btc):
    _, res = btc
    pd.testing.assert_series_equal(underwater(res.returns), res.drawdown, check_names=False,
                                   rtol=1e-9)


def test_full_window_rolling_sharpe_is_the_sharpe(btc):
    _, res = btc
    s = rolling_sharpe(res.returns, len(res.returns), res.periods_per_year)
    assert s.iloc[-1] == pytest.approx(res.metrics["sharpe"], rel=1e-9)


def test_regimes_of_bitcoin_against_its_own_200_hour_sma_cover_all_known_bars(btc):
    bars, res = btc
    out = regime_performance(res.returns, bars["close"], res.periods_per_year, window=200)
    assert out["bars"].sum() == len(bars) - 200
    assert out["share"].sum() == pytest.approx(1.0)
    growth = np.prod(1 + out["total_return"]) * np.prod(1 + res.returns.iloc[:200])
    assert growth - 1 == pytest.approx(res.metrics["total_return"], rel=1e-9)


def test_regimes_of_apple_against_the_spx_trend(sample_catalog, spx):
    bars = sample_catalog.load("AAPL", "1d")
    res = run_backtest(bars, "buy_and_hold", None, ExecutionConfig(), asset_class="equity",
                       timeframe="1d", symbol="AAPL")
    out = regime_performance(res.returns, spx["close"], res.periods_per_year)
    assert set(out.index) == {BULL, BEAR}
    assert out.loc[BULL, "share"] > 0.5           # SPX spent most of 2007-2020 above its SMA
