"""Cached access to the catalog and bars for the pages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lab.api import open_catalog


@st.cache_resource(show_spinner="Opening the data store...")
def catalog():
    """The process-wide ``Catalog`` (built from the bundled samples on first use)."""
    return open_catalog()


def datasets() -> pd.DataFrame:
    """Stored datasets (fresh each call: the listing is cheap and changes on ingest)."""
    return catalog().datasets()


@st.cache_data(show_spinner=False, max_entries=64)
def load_bars(symbol: str, timeframe: str, start, end, version: str) -> pd.DataFrame:
    """Bars of ``symbol`` at ``timeframe`` between ``start`` and ``end`` (inclusive).

    ``version`` is the stored dataset's fingerprint, so a re-ingest invalidates the cache.
    """
    return catalog().load(symbol, timeframe, start=start, end=end)


@st.cache_data(show_spinner=False, max_entries=64)
def extreme_moves(symbol: str, timeframe: str, start, end, version: str) -> list[dict]:
    """Extreme one-bar moves (e.g. unadjusted splits) the stored quality report lists
    for ``symbol`` within ``start``..``end``, from its finest stored timeframe."""
    ds = datasets()
    rows = ds[ds["symbol"] == symbol]
    if rows.empty:
        return []
    stored = rows["timeframe"].tolist()
    from lab.core.types import TIMEFRAME_SECONDS

    tf = timeframe if timeframe in stored else min(stored, key=TIMEFRAME_SECONDS.get)
    report = catalog().quality(symbol, tf)
    out = []
    for move in report.extreme_moves:
        ts = pd.Timestamp(move["ts"])
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
        if start <= ts <= end:
            out.append({"ts": ts, "move": float(move["move"])})
    return out


@st.cache_resource
def background():
    """One worker thread for work that must not block a page (recording runs)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="lab-ui-background")


@st.cache_data(show_spinner=False, max_entries=16)
def display_candles(symbol: str, timeframe: str, start, end, version: str):
    """``lab.ui.charts.display_bars`` of the cached bars: the candles a price chart
    draws (aggregated above ``MAX_CANDLES``) and the display timeframe, or None."""
    from lab.ui.charts import display_bars

    return display_bars(load_bars(symbol, timeframe, start, end, version))


def tracking_status() -> str:
    """Where runs are recorded and whether that store works (``lab.tracking.store
    .describe``: the URI without credentials)."""
    from lab.tracking.store import describe

    return describe()
