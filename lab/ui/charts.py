"""Plotly figures for the pages. Pure functions: frames in, ``go.Figure`` out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

#: Above this many bars a candlestick chart shows coarser candles (trades stay exact):
#: a browser draws each candle as its own shapes, ~0.2 ms apiece.
MAX_CANDLES = 500

_DISPLAY_RULES = [("1h", "1h"), ("4h", "4h"), ("12h", "12h"), ("1d", "1D"), ("2d", "2D"),
                  ("3d", "3D"), ("1w", "W-MON"), ("1M", "MS")]

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
MAX_LINE_POINTS = 2_000


def display_series(series: pd.Series, max_points: int = MAX_LINE_POINTS) -> pd.Series:
    """A line for drawing: the series itself, or the minimum and the maximum of each of
    ``max_points / 2`` equal buckets, in time order, so peaks and troughs (the
    drawdown's bottom) survive the reduction.

    Parameters
    ----------
    series : Series
        float values, any index (usually UTC bar times); NaN allowed.
    max_points : int
        Upper bound on the points returned, plus the first and the last.
    """
    n = len(series)
    if n <= max_points:
        return series
    values = series.to_numpy(dtype=float)
    buckets = max(1, max_points // 2)
    width = -(-n // buckets)                       # ceil: every bucket as wide, last padded
    padded = np.full(width * buckets, np.nan)
    padded[:n] = values
    grid = padded.reshape(buckets, width)
    filled = ~np.isnan(grid).all(axis=1)
    safe = np.where(np.isnan(grid), np.inf, grid)
    lo = safe.argmin(axis=1)
    hi = np.where(np.isnan(grid), -np.inf, grid).argmax(axis=1)
    base = np.arange(buckets) * width
    keep = np.concatenate([(base + lo)[filled], (base + hi)[filled], [0, n - 1]])
    return series.iloc[np.unique(keep)]


#: Above this many trades the price chart marks only the largest wins and losses.
MAX_TRADE_MARKERS = 100


def marked_trades(trades: pd.DataFrame, max_markers: int = MAX_TRADE_MARKERS) -> pd.DataFrame:
    """The trades a price chart marks: all of them, or the ``max_markers`` with the
    largest absolute PnL (half wins, half losses when both exist), in time order.

    Thousands of markers on one chart draw as a solid band; the Trades tab lists all.
    """
    if len(trades) <= max_markers:
        return trades
    pnl = trades["pnl"].to_numpy(dtype=float)
    order = np.argsort(-np.abs(pnl), kind="stable")
    wins, losses = order[pnl[order] > 0], order[pnl[order] <= 0]
    half = max_markers // 2
    take_w = min(len(wins), max(half, max_markers - len(losses)))
    take_l = min(len(losses), max_markers - take_w)
    pick = np.sort(np.concatenate([wins[:take_w], losses[:take_l]]))
    return trades.iloc[pick]


def _naive_utc(times) -> np.ndarray:
    """UTC times as tz-naive datetime64 (plotly copies tz-aware times one Timestamp
    object at a time; the axis is labelled UTC by the page)."""
    idx = pd.DatetimeIndex(times)
    return (idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx).to_numpy()


def candlestick_figure(bars: pd.DataFrame, trades: pd.DataFrame | None = None,
                       title: str = "", height: int = 520,
                       shown: tuple[pd.DataFrame, str | None] | None = None,
                       max_markers: int = MAX_TRADE_MARKERS) -> go.Figure:
    """Candlesticks with entry and exit markers.

    Parameters
    ----------
    bars : DataFrame
        OHLCV indexed by UTC ``ts_event``.
    trades : DataFrame, optional
        ``BacktestResult.trades``: entries drawn as triangles (up long, down short),
        exits as crosses coloured by exit reason; above ``max_markers`` trades only
        the largest wins and losses are marked (``marked_trades``) and the title says so.
    title : str
        Figure title (e.g. the symbol and timeframe); notes on aggregation are appended.
    shown : (DataFrame, str or None), optional
        ``display_bars(bars)`` when the caller has it already (it is cached per dataset).
    """
    shown, agg = shown if shown is not None else display_bars(bars)
    notes = []
    fig = go.Figure(go.Candlestick(
        x=_naive_utc(shown.index), open=shown["open"], high=shown["high"], low=shown["low"],
        close=shown["close"], name="price",
        increasing_line_color="#26a69a", decreasing_line_color="#ef5350"))
    if trades is not None and len(trades):
        if len(trades) > max_markers:
            notes.append(f"{max_markers} of {len(trades):,} trades marked: the largest "
                         "wins and losses")
            trades = marked_trades(trades, max_markers)
        for side, symbol, color in (("long", "triangle-up", "#1565c0"),
                                    ("short", "triangle-down", "#ef6c00")):
            t = trades[trades["side"] == side]
            if len(t):
                fig.add_trace(go.Scatter(
                    x=_naive_utc(t["entry_time"]), y=t["entry_price"], mode="markers",
                    name=f"{side} entry", marker=dict(symbol=symbol, size=9, color=color,
                                                      line=dict(width=1, color="white")),
                    hovertemplate="%{x}<br>entry %{y:.4f}<extra>" + side + "</extra>"))
        for reason, t in trades.groupby("exit_reason"):
            fig.add_trace(go.Scatter(
                x=_naive_utc(t["exit_time"]), y=t["exit_price"], mode="markers",
                name=f"exit: {reason}",
                marker=dict(symbol="x", size=8, color=_EXIT_COLORS.get(reason, "#000")),
                customdata=t[["pnl"]].to_numpy(),
                hovertemplate="%{x}<br>exit %{y:.4f}<br>PnL %{customdata[0]:,.2f}<extra>"
                              + str(reason) + "</extra>"))
    if agg:
        notes.insert(0, f"candles aggregated to {agg} for display")
    text = title + (f"<br><sup>{'; '.join(notes)}</sup>" if notes else "")
    fig.update_layout(title=dict(text=text) if text else None, height=height,
                      xaxis_rangeslider_visible=False, margin=dict(l=10, r=10, t=60 if notes else 40, b=10),
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
    fig = go.Figure()       # two stacked panels sharing x (make_subplots costs ~0.1 s)

    def line(s: pd.Series, scale: float = 1.0) -> dict:
        s = display_series(s)
        return {"x": _naive_utc(s.index), "y": s.to_numpy() * scale}

    fig.add_trace(go.Scatter(**line(equity), name="equity",
                             line=dict(color="#1565c0", width=1.6)))
    if benchmark is not None:
        fig.add_trace(go.Scatter(**line(benchmark), name="buy & hold",
                                 line=dict(color="#9e9e9e", width=1)))
    fig.add_trace(go.Scatter(**line(drawdown, 100.0), name="drawdown", fill="tozeroy",
                             line=dict(color="#d32f2f", width=1), xaxis="x2", yaxis="y2"))
    fig.update_layout(
        xaxis=dict(domain=[0, 1], anchor="y", matches="x2", showticklabels=False),
        yaxis=dict(domain=[0.34, 1], anchor="x", title_text="equity"),
        xaxis2=dict(domain=[0, 1], anchor="y2"),
        yaxis2=dict(domain=[0, 0.30], anchor="x2", title_text="drawdown %"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10),
                      legend=dict(orientation="h", y=1.02, x=0, yanchor="bottom"))
    return fig
