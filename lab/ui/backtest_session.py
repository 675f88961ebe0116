"""The Backtest page's results in this browser session: run a request once, keep the
last few per configuration, decide when a settings change re-runs by itself.

An *entry* is a dict: ``request`` (the page's inputs), ``result`` and ``other``
(``BacktestResult`` of the chosen and the compared engine), ``other_error``, ``data``
(the data picker's values), ``future`` (the MLflow recording, or None when not
recorded) and ``figures`` (plotly figures built on first display).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict

import numpy as np
import pandas as pd
import streamlit as st

from lab.api import run_backtest
from lab.core.errors import LabError
from lab.ui.cache import display_candles, load_bars

#: Engines too slow to follow a slider: with them a change waits for the button.
SLOW_ENGINES = frozenset({"backtrader"})

#: Results kept per session, one per configuration (a slider moved back is instant).
MAX_ENTRIES = 12

_KEY = "bt_results"


def request_key(request: dict) -> str:
    """A stable text key of the page's inputs."""
    return json.dumps(request, sort_keys=True, default=str)


def follows_settings(engine: str, compare: str) -> bool:
    """True when a changed setting may re-run without a click (no slow engine)."""
    return engine not in SLOW_ENGINES and compare not in SLOW_ENGINES


def _store() -> OrderedDict:
    return st.session_state.setdefault(_KEY, OrderedDict())


def cached(request: dict) -> dict | None:
    """The session's entry for ``request``, or None."""
    store = _store()
    key = request_key(request)
    if key in store:
        store.move_to_end(key)
        return store[key]
    return None


def run(request: dict, data: dict, strategy: str, params: dict, config) -> dict:
    """Run the request on its engine (and the compared one) and keep the entry.

    Raises
    ------
    LabError
        The chosen engine refused the configuration (the compared engine's refusal is
        kept in ``other_error``).
    """
    bars = load_bars(data["symbol"], data["timeframe"], data["start"], data["end"],
                     data["version"])
    kw = dict(asset_class=data["asset_class"], timeframe=data["timeframe"],
              symbol=data["symbol"])
    engine, compare = request["engine"], request["compare"]
    with st.spinner(f"Running on {engine}..."):
        result = run_backtest(bars, strategy, params, config, engine=engine, **kw)
    other, other_error = None, None
    if compare != "none":
        try:
            with st.spinner(f"Running on {compare}..."):
                other = run_backtest(bars, strategy, params, config, engine=compare, **kw)
        except LabError as exc:
            other_error = str(exc)
    entry = {"request": request, "result": result, "other": other,
             "other_error": other_error, "data": data, "future": None, "figures": {}}
    store = _store()
    store[request_key(request)] = entry
    while len(store) > MAX_ENTRIES:
        store.popitem(last=False)
    return entry


def record(entry: dict) -> None:
    """Record the entry's run in MLflow, once, in the low-priority recording process
    (``lab.ui.recording``): the sliders stay responsive meanwhile."""
    from lab.ui.recording import record_in_background

    done = entry["future"]
    if done is None or (done.done() and done.exception() is not None):   # again if it died
        d = entry["data"]
        bars = load_bars(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
        entry["future"] = record_in_background(entry["result"], d["asset_class"], bars)


def figure(entry: dict, name: str, build):
    """The entry's figure ``name``, built by ``build()`` on first use and kept."""
    figs = entry.setdefault("figures", {})
    if name not in figs:
        figs[name] = build()
    return figs[name]


#: Session key of the last price charts by content (``price_figure``).
_PRICE_KEY = "bt_price_figures"


def _marks_key(data: dict, title: str, trades: pd.DataFrame) -> str:
    """What a price chart shows: the data, the title and the marked trades' times,
    prices, sides, exit reasons and PnL signs (not their sizes)."""
    from lab.ui.charts import marked_trades

    marked = marked_trades(trades)
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps([data, title, len(trades)], sort_keys=True, default=str).encode())
    for col in ("entry_time", "exit_time", "entry_price", "exit_price"):
        h.update(np.ascontiguousarray(marked[col].to_numpy()).tobytes())
    h.update("|".join(marked["side"].astype(str) + marked["exit_reason"].astype(str)).encode())
    h.update((marked["pnl"].to_numpy() > 0).tobytes())
    return h.hexdigest()


def price_figure(entry: dict):
    """Candles (aggregated per dataset, cached) with the run's trade markers.

    Kept by content: a change that marks the same trades at the same prices (leverage,
    position size) gets the very same figure, which the chart frame
    (``lab.ui.plot_frame``) recognises and does not redraw.
    """
    from lab.ui.charts import candlestick_figure

    d, result = entry["data"], entry["result"]
    title = f"{result.symbol} {result.timeframe} · {result.strategy} trades"
    key = _marks_key(d, title, result.trades)
    kept = st.session_state.setdefault(_PRICE_KEY, OrderedDict())
    if key not in kept:
        bars = load_bars(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
        shown = display_candles(d["symbol"], d["timeframe"], d["start"], d["end"],
                                d["version"])
        kept[key] = candlestick_figure(bars, result.trades, shown=shown, title=title)
        while len(kept) > MAX_ENTRIES:
            kept.popitem(last=False)
    kept.move_to_end(key)
    return kept[key]


def equity_figure(entry: dict):
    """Equity with buy and hold of the same symbol, and the drawdown."""
    from lab.ui.charts import equity_drawdown_figure

    d, result = entry["data"], entry["result"]

    def build():
        bars = load_bars(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
        bench = bars["close"] / bars["close"].iloc[0] * result.config.cash
        return equity_drawdown_figure(result.equity, result.drawdown, bench)

    return figure(entry, "equity", build)
