"""Plotly figures for the pages. Pure functions: frames in, ``go.Figure`` out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

#: Above this many bars a candlestick chart shows coarser candles (trades stay exact).
MAX_CANDLES = 2_500

_DISPLAY_RULES = [("1h", "1h"), ("4h", "4h"), ("1d", "1D"), ("1w", "W-MON"), ("1M", "MS")]

_EXIT_COLORS = {"signal": "#455a64", "stop": "#d32f2f", "target": "#2e7d32",
                "liquidation": "#6a1b9a", "end": "#9e9e9e"}


def display_bars(bars: pd.DataFrame, max_candles: int = MAX_CANDLES) -> tuple[pd.DataFrame, str | None]:
    """Bars for drawing: the bars themselves, or the finest coarser candles that fit.

    Returns
    -------
    (DataFrame, str or None)
        The frame to draw and the display timeframe when it was aggregated.
    """
    if len(bars) <= max_candles:
        return bars, None
    for label, rule in _DISPLAY_RULES:
        agg = bars.resample(rule, label="left", closed="left").agg(
            {"open": "first", "high": "max", "low": "min", "close": "last",
             "volume": "sum"}).dropna(subset=["open"])
        if len(agg) <= max_candles:
            return agg, label
    return agg, label


#: Above this many points a line chart shows each bucket's minimum and maximum.
MAX_LINE_POINTS = 4_000


def display_series(series: pd.Series, max_points: int = MAX_LINE_POINTS) -> pd.Series:
    """A line for drawing: the series itself, or the minimum and the maximum of each of
    ``max_points / 2`` equal buckets, in time order, so peaks and troughs (the
    drawdown's bottom) survive the reduction."""
    n = len(series)
    if n <= max_points:
        return series
    values = series.to_numpy(dtype=float)
    buckets = max(1, max_points // 2)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep = set()
    for lo, hi in zip(edges[:-1], edges[1:]):
        if hi > lo:
            chunk = values[lo:hi]
            keep.add(lo + int(np.nanargmin(chunk)))
            keep.add(lo + int(np.nanargmax(chunk)))
    keep.update((0, n - 1))
    return series.iloc[sorted(keep)]


def candlestick_figure(bars: pd.DataFrame, trades: pd.DataFrame | None = None,
                       title: str = "", height: int = 520) -> go.Figure:
    """Candlesticks with entry and exit markers.

    Parameters
    ----------
    bars : DataFrame
        OHLCV indexed by UTC ``ts_event``.
    trades : DataFrame, optional
        ``BacktestResult.trades``: entries drawn as triangles (up long, down short),
        exits as crosses coloured by exit reason.
    """
    shown, agg = display_bars(bars)
    fig = go.Figure(go.Candlestick(
        x=shown.index, open=shown["open"], high=shown["high"], low=shown["low"],
        close=shown["close"], name="price",
        increasing_line_color="#26a69a", decreasing_line_color="#ef5350"))
    if trades is not None and len(trades):
        for side, symbol, color in (("long", "triangle-up", "#1565c0"),
                                    ("short", "triangle-down", "#ef6c00")):
            t = trades[trades["side"] == side]
            if len(t):
                fig.add_trace(go.Scatter(
                    x=t["entry_time"], y=t["entry_price"], mode="markers",
                    name=f"{side} entry", marker=dict(symbol=symbol, size=10, color=color,
                                                      line=dict(width=1, color="white")),
                    hovertemplate="%{x}<br>entry %{y:.4f}<extra>" + side + "</extra>"))
        for reason, t in trades.groupby("exit_reason"):
            fig.add_trace(go.Scatter(
                x=t["exit_time"], y=t["exit_price"], mode="markers",
                name=f"exit: {reason}",
                marker=dict(symbol="x", size=8, color=_EXIT_COLORS.get(reason, "#000")),
                customdata=t[["pnl"]].to_numpy(),
                hovertemplate="%{x}<br>exit %{y:.4f}<br>PnL %{customdata[0]:,.2f}<extra>"
                              + str(reason) + "</extra>"))
    note = f" (candles aggregated to {agg} for display)" if agg else ""
    fig.update_layout(title=(title + note) if (title or note) else None, height=height,
                      xaxis_rangeslider_visible=False, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", y=-0.06, x=0, yanchor="top"))
    fig.update_yaxes(title_text="price")
    return fig


def equity_drawdown_figure(equity: pd.Series, drawdown: pd.Series,
                           benchmark: pd.Series | None = None, height: int = 460) -> go.Figure:
    """Equity (top) and drawdown in percent (bottom), sharing the time axis (UTC).

    Long series are reduced for drawing with ``display_series`` (extremes kept).

    Parameters
    ----------
    equity : Series
        Account equity per bar, account currency.
    drawdown : Series
        Fractions <= 0.
    benchmark : Series, optional
        Another equity curve on the same scale (e.g. buy and hold).
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32],
                        vertical_spacing=0.04)

    def line(s: pd.Series, scale: float = 1.0) -> dict:
        s = display_series(s)
        return {"x": s.index.tz_localize(None) if s.index.tz is not None else s.index,
                "y": s.to_numpy() * scale}

    fig.add_trace(go.Scatter(**line(equity), name="equity",
                             line=dict(color="#1565c0", width=1.6)), row=1, col=1)
    if benchmark is not None:
        fig.add_trace(go.Scatter(**line(benchmark), name="buy & hold",
                                 line=dict(color="#9e9e9e", width=1)), row=1, col=1)
    fig.add_trace(go.Scatter(**line(drawdown, 100.0), name="drawdown", fill="tozeroy",
                             line=dict(color="#d32f2f", width=1)), row=2, col=1)
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=1.02, x=0, yanchor="bottom"))
    return fig
