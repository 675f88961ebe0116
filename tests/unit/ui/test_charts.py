"""Chart helpers reduce long series for drawing without losing extremes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lab.core.config import Commission
from lab.ui.charts import (MAX_CANDLES, MAX_TRADE_MARKERS, MAX_LINE_POINTS, candlestick_figure, display_bars,
                           display_series, equity_drawdown_figure)


def test_display_series_keeps_the_minimum_maximum_and_ends(sample_catalog):
    close = sample_catalog.load("BTCUSD_COINBASE", "1h")["close"]
    shown = display_series(close)
    assert len(shown) <= MAX_LINE_POINTS + 2 < len(close)
    assert shown.max() == close.max() and shown.min() == close.min()
    assert shown.index[0] == close.index[0] and shown.index[-1] == close.index[-1]
    assert shown.index.is_monotonic_increasing
    assert (shown == close.loc[shown.index]).all()


def test_short_series_are_drawn_as_they_are():
    s = pd.Series(np.arange(10.0))
    assert display_series(s) is s


def test_long_bar_ranges_are_drawn_as_coarser_candles_with_the_same_extremes(sample_catalog):
    bars = sample_catalog.load("BTCUSD_COINBASE", "1h")
    shown, agg = display_bars(bars)
    assert agg == "3d" and len(shown) <= MAX_CANDLES
    assert shown["high"].max() == bars["high"].max()
    assert shown["low"].min() == bars["low"].min()


def test_figures_carry_price_trades_equity_and_drawdown(sample_catalog):
    from lab.api import run_backtest

    bars = sample_catalog.load("SPX", "1d")
    r = run_backtest(bars, "sma_cross", {}, asset_class="index", timeframe="1d")
    price = candlestick_figure(bars, r.trades)
    names = {t.name for t in price.data}
    assert {"price", "long entry"} <= names and any(n.startswith("exit:") for n in names)
    eq = equity_drawdown_figure(r.equity, r.drawdown)
    assert [t.name for t in eq.data] == ["equity", "drawdown"]
    assert min(eq.data[1].y) == r.drawdown.min() * 100


def test_thousands_of_trades_mark_only_the_largest_wins_and_losses(sample_catalog):
    from lab.api import run_backtest
    from lab.ui.charts import MAX_TRADE_MARKERS, marked_trades, price_move

    bars = sample_catalog.load("BTCUSD_COINBASE", "1h")
    r = run_backtest(bars, "sma_cross", {"fast": 2, "slow": 10}, asset_class="crypto",
                     timeframe="1h")
    trades = r.trades
    assert len(trades) > 10 * MAX_TRADE_MARKERS
    marked = marked_trades(trades)
    assert len(marked) == MAX_TRADE_MARKERS
    assert marked["exit_time"].is_monotonic_increasing
    move = price_move(trades)
    assert move[trades["pnl"] > 0].idxmax() in marked.index
    assert move[trades["pnl"] <= 0].idxmin() in marked.index
    wins = marked["pnl"] > 0
    assert wins.sum() == (~wins).sum() == MAX_TRADE_MARKERS // 2
    rest = trades.drop(marked.index)                        # the largest of each kind
    rest_wins, marked_move = rest["pnl"] > 0, move.loc[marked.index]
    assert move.loc[rest.index][rest_wins].abs().max() <= marked_move[wins].abs().min()
    assert move.loc[rest.index][~rest_wins].abs().max() <= marked_move[~wins].abs().min()

    fig = candlestick_figure(bars, trades, title="BTCUSD_COINBASE 1h")
    markers = sum(len(t.x) for t in fig.data if t.type == "scatter")
    assert markers == 2 * MAX_TRADE_MARKERS                  # an entry and an exit each
    title = fig.layout.title.text
    assert title.startswith("BTCUSD_COINBASE 1h")
    assert f"{MAX_TRADE_MARKERS} of {len(trades):,} trades marked" in title
    short = trades.head(10)
    assert marked_trades(short) is short


def test_a_leverage_change_draws_the_same_price_chart(sample_catalog):
    """Marks and hover depend on prices and PnL signs, not on position size: the page
    re-sends a byte-identical figure, which the browser does not redraw."""
    import plotly.io as pio

    from lab.api import run_backtest
    from lab.core.config import ExecutionConfig

    bars = sample_catalog.load("BTCUSD_COINBASE", "1h")
    figs, equities = [], []
    for leverage in (1.0, 2.5):
        r = run_backtest(bars, "sma_cross", {"fast": 5, "slow": 30},
                         ExecutionConfig(leverage=leverage, commission=Commission(rate=0.001)),
                         asset_class="crypto", timeframe="1h")
        figs.append(pio.to_json(candlestick_figure(bars, r.trades, title="t"),
                                validate=False))
        equities.append(r.equity.iloc[-1])
    assert len(r.trades) > MAX_TRADE_MARKERS and equities[0] != equities[1]
    assert figs[0] == figs[1]


def test_time_axes_are_sent_as_typed_epoch_milliseconds(sample_catalog):
    import json

    import plotly.io as pio

    bars = sample_catalog.load("SPX", "1d").iloc[:300]
    fig = json.loads(pio.to_json(candlestick_figure(bars), validate=False))
    x = fig["data"][0]["x"]
    assert x["dtype"] == "f8" and "bdata" in x                 # not 300 date strings
    assert fig["layout"]["xaxis"]["type"] == "date"
    ms = candlestick_figure(bars).data[0].x
    assert pd.Timestamp(ms[0], unit="ms", tz="UTC") == bars.index[0]
