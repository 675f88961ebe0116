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
