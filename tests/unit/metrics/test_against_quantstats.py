"""Our metrics equal QuantStats' on the same returns of real backtests."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lab.api import run_backtest
from lab.core import ExecutionConfig
from lab.metrics import performance_metrics, trade_metrics


@pytest.fixture(scope="module", params=[("BTCUSD_COINBASE", "1h", "crypto", 8760.0),
                                        ("SPX", "1d", "index", 252.0)])
def result(request, sample_catalog):
    symbol, tf, ac, ppy = request.param
    bars = sample_catalog.load(symbol, tf)
    r = run_backtest(bars, "sma_cross", {"fast": 10, "slow": 50},
                     ExecutionConfig(direction="both", sl=0.05),
                     asset_class=ac, timeframe=tf, symbol=symbol)
    assert r.periods_per_year == ppy
    return r


def qs_stats():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import quantstats as qs
    return qs.stats


@pytest.mark.parametrize("ours, theirs", [
    ("sharpe", lambda s, r, p: s.sharpe(r, periods=p)),
    ("sortino", lambda s, r, p: s.sortino(r, periods=p)),
    ("volatility", lambda s, r, p: s.volatility(r, periods=p)),
    ("cagr", lambda s, r, p: s.cagr(r, periods=p)),
    ("max_drawdown", lambda s, r, p: s.max_drawdown(r)),
    ("calmar", lambda s, r, p: s.cagr(r, periods=p) / abs(s.max_drawdown(r))),
])
def test_metric_matches_quantstats(result, ours, theirs):
    expected = float(theirs(qs_stats(), result.returns, result.periods_per_year))
    assert result.metrics[ours] == pytest.approx(expected, rel=1e-9)


def test_total_return_matches_quantstats_compounded_returns(result):
    assert result.metrics["total_return"] == pytest.approx(
        float(qs_stats().comp(result.returns)), rel=1e-9)


def test_total_return_is_final_over_initial_equity(result):
    assert result.metrics["total_return"] == pytest.approx(
        result.equity.iloc[-1] / result.config.cash - 1.0, rel=1e-12)


def test_trade_metrics_on_a_hand_made_list():
    trades = pd.DataFrame({"pnl": [100.0, -50.0, 30.0, -20.0], "return": [0.1, -0.05, 0.03, -0.02]})
    m = trade_metrics(trades)
    assert m["trades"] == 4
    assert m["win_rate"] == 0.5
    assert m["profit_factor"] == pytest.approx(130 / 70)
    assert m["expectancy"] == pytest.approx(15.0)
    assert (m["best_trade_return"], m["worst_trade_return"]) == (0.1, -0.05)


def test_profit_factor_is_infinite_without_a_losing_trade():
    assert trade_metrics(pd.DataFrame({"pnl": [1.0, 2.0], "return": [0.1, 0.2]}))[
        "profit_factor"] == float("inf")


def test_drawdown_duration_counts_bars_under_water_until_recovery():
    idx = pd.date_range("2024-01-01", periods=7, freq="D", tz="UTC")
    equity = pd.Series([100, 110, 100, 105, 111, 90, 95], index=idx, dtype=float)
    m = performance_metrics(equity, 100.0, 252.0)
    assert m["max_drawdown"] == pytest.approx(90 / 111 - 1)
    assert m["max_drawdown_bars"] == 2           # bars 2-3 (recovered at 4); bars 5-6 also 2
    assert m["max_drawdown_days"] == 3.0         # peak on day 1, recovery on day 4


def test_flat_equity_has_undefined_ratios_not_errors():
    idx = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")
    m = performance_metrics(pd.Series(100.0, index=idx), 100.0, 252.0)
    assert m["total_return"] == 0 and np.isnan(m["sharpe"]) and np.isnan(m["calmar"])
