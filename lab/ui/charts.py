"""Plotly figures for the pages. Pure functions: frames in, ``go.Figure`` out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

#: Above this many bars a candlestick chart shows coarser candles (trades stay exact):
#: a browser draws each candle as its own shapes, ~0.2 ms apiece.
MAX_CANDLES = 300

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
MAX_LINE_POINTS = 1_000


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


def price_move(trades: pd.DataFrame) -> pd.Series:
    """Each trade's price move in its own direction, a fraction: ``exit / entry - 1`` for
    a long, ``1 - exit / entry`` for a short. Unlike PnL it does not depend on the
    position size, so leverage and sizing leave it (and the marked trades) unchanged."""
    move = trades["exit_price"].to_numpy(dtype=float) / trades["entry_price"].to_numpy(
        dtype=float) - 1.0
    sign = np.where(trades["side"].to_numpy() == "short", -1.0, 1.0)
    return pd.Series(move * sign, index=trades.index, name="price_move")


def marked_trades(trades: pd.DataFrame, max_markers: int = MAX_TRADE_MARKERS) -> pd.DataFrame:
    """The trades a price chart marks: all of them, or the ``max_markers`` wins and
    losses (by PnL sign) with the largest price move (``price_move``), half wins and
    half losses when both exist, in time order.

    Thousands of markers on one chart draw as a solid band; the Trades tab lists all.
    The choice depends on the trades' prices and PnL signs only, so a change of leverage
    or position size marks the same trades.
    """
    if len(trades) <= max_markers:
        return trades
    pnl = trades["pnl"].to_numpy(dtype=float)
    order = np.argsort(-np.abs(price_move(trades).to_numpy()), kind="stable")
    wins, losses = order[pnl[order] > 0], order[pnl[order] <= 0]
    half = max_markers // 2
    take_w = min(len(wins), max(half, max_markers - len(losses)))
    take_l = min(len(losses), max_markers - take_w)
    pick = np.sort(np.concatenate([wins[:take_w], losses[:take_l]]))
    return trades.iloc[pick]


def epoch_ms(times) -> np.ndarray:
    """Times as float64 milliseconds since 1970-01-01 UTC: what a Plotly date axis
    reads. Sent as one typed array instead of one date string per point (a third of the
    bytes, and the browser parses no dates).

    Parameters
    ----------
    times : DatetimeIndex, Series or array of datetime64
        Tz-aware (converted to UTC) or naive (taken as UTC).
    """
    idx = pd.DatetimeIndex(times)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.as_unit("ms").asi8.astype(np.float64)


def light_figure(data: list[dict], layout: dict) -> go.Figure:
    """A ``go.Figure`` of plain trace and layout dicts without plotly's property
    validation (the slowest part of building a figure on a page that redraws on every
    slider change). Callers pass only properties they know are valid."""
    return go.Figure({"data": data, "layout": layout}, _validate=False)


#: Fixed margins: Plotly otherwise measures the labels and draws the figure twice; tick
#: labels allowed past the plot area: otherwise Plotly measures each one after every
#: draw to hide those that overflow (~6 ms of a Backtest-page slider change).
_VALUE_AXIS = {"automargin": False, "ticklabeloverflow": "allow"}

#: Time axis of the figures drawn from ``epoch_ms`` values (a date axis in UTC).
_TIME_AXIS = {"type": "date", **_VALUE_AXIS}


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
        exits as crosses coloured by exit reason, each with its price move on hover;
        above ``max_markers`` trades only the largest wins and losses are marked
        (``marked_trades``) and the title says so.
    title : str
        Figure title (e.g. the symbol and timeframe); notes on aggregation are appended.
    shown : (DataFrame, str or None), optional
        ``display_bars(bars)`` when the caller has it already (it is cached per dataset).
    """
    shown, agg = shown if shown is not None else display_bars(bars)
    notes = []
    data = [{"type": "candlestick", "name": "price", "x": epoch_ms(shown.index),
             "open": shown["open"].to_numpy(float), "high": shown["high"].to_numpy(float),
             "low": shown["low"].to_numpy(float), "close": shown["close"].to_numpy(float),
             "increasing": {"line": {"color": "#26a69a"}},
             "decreasing": {"line": {"color": "#ef5350"}}}]
    if trades is not None and len(trades):
        if len(trades) > max_markers:
            notes.append(f"{max_markers} of {len(trades):,} trades marked: the largest "
                         "wins and losses")
            trades = marked_trades(trades, max_markers)
        moves = price_move(trades).to_numpy()[:, None] * 100.0
        for side, symbol, color in (("long", "triangle-up", "#1565c0"),
                                    ("short", "triangle-down", "#ef6c00")):
            t = trades[trades["side"] == side]
            if len(t):
                data.append({
                    "type": "scatter", "mode": "markers", "name": f"{side} entry",
                    "x": epoch_ms(t["entry_time"]), "y": t["entry_price"].to_numpy(float),
                    "marker": {"symbol": symbol, "size": 9, "color": color,
                               "line": {"width": 1, "color": "white"}},
                    "hovertemplate": "%{x}<br>entry %{y:.4f}<extra>" + side + "</extra>"})
        reasons = trades["exit_reason"].to_numpy()
        for reason in sorted(set(reasons)):
            pick = reasons == reason
            t = trades[pick]
            data.append({
                "type": "scatter", "mode": "markers", "name": f"exit: {reason}",
                "x": epoch_ms(t["exit_time"]), "y": t["exit_price"].to_numpy(float),
                "marker": {"symbol": "x", "size": 8,
                           "color": _EXIT_COLORS.get(reason, "#000")},
                "customdata": moves[pick],
                "hovertemplate": "%{x}<br>exit %{y:.4f}<br>price move "
                                 "%{customdata[0]:+.2f} %<extra>" + str(reason) + "</extra>"})
    if agg:
        notes.insert(0, f"candles aggregated to {agg} for display")
    text = title + (f"<br><sup>{'; '.join(notes)}</sup>" if notes else "")
    top = 60 if notes else (40 if text else 20)
    layout = {"height": height, "showlegend": True,
              "margin": {"l": 70, "r": 10, "t": top, "b": 70, "autoexpand": False},
              "xaxis": {**_TIME_AXIS, "rangeslider": {"visible": False}},
              "yaxis": {**_VALUE_AXIS, "title": {"text": "price"}},
              "legend": {"orientation": "h", "y": -0.08, "x": 0, "yanchor": "top"}}
    if text:
        layout["title"] = {"text": text}
    return light_figure(data, layout)


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
    def line(s: pd.Series, name: str, style: dict, scale: float = 1.0, **extra) -> dict:
        s = display_series(s)
        return {"type": "scatter", "mode": "lines", "name": name, "x": epoch_ms(s.index),
                "y": s.to_numpy(dtype=float) * scale, "line": style, **extra}

    data = [line(equity, "equity", {"color": "#1565c0", "width": 1.6})]
    if benchmark is not None:
        data.append(line(benchmark, "buy & hold", {"color": "#9e9e9e", "width": 1}))
    data.append(line(drawdown, "drawdown", {"color": "#d32f2f", "width": 1}, 100.0,
                     fill="tozeroy", xaxis="x2", yaxis="y2"))
    layout = {          # two stacked panels sharing x (make_subplots costs ~0.1 s)
        "height": height, "showlegend": True,
        "margin": {"l": 70, "r": 10, "t": 30, "b": 30, "autoexpand": False},
        "xaxis": {**_TIME_AXIS, "domain": [0, 1], "anchor": "y", "matches": "x2",
                  "showticklabels": False},
        "yaxis": {**_VALUE_AXIS, "domain": [0.34, 1], "anchor": "x",
                  "title": {"text": "equity"}},
        "xaxis2": {**_TIME_AXIS, "domain": [0, 1], "anchor": "y2"},
        "yaxis2": {**_VALUE_AXIS, "domain": [0, 0.30], "anchor": "x2",
                   "title": {"text": "drawdown %"}},
        "legend": {"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"}}
    return light_figure(data, layout)
