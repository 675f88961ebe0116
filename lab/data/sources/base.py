"""The interface every market data source implements, and the chunk quality gate.

A source fetches bars of one instrument for ``(symbol, timeframe, start, end)``; the
download driver (``lab.data.download``) splits a request into windows of at most
``chunk_span(timeframe)`` and asks the source for one window at a time, so a source only
has to answer "the bars whose open time lies in [start, end)" within its own per-call
limits (a ccxt exchange's ``limit``, Yahoo's intraday look-back, Databento's cost).

Sources: ``ccxt`` (``lab.data.sources.ccxt``), ``yfinance`` (``.yahoo``), ``databento``;
IB history plugs in the same way (``register_source("ib", "lab.live.ib...")``, or an
entry in ``SOURCES``). ``get_source(name, **options)`` builds one.

A new source implements the ``Source`` protocol: ``name``, ``timeframes``,
``default_asset_class``, ``describe``, ``options`` (JSON, rebuilds it for ``refresh``),
``check_request`` (refuse what its limits forbid, before anything is fetched),
``chunk_span`` (time per window) and ``fetch`` (bars opening in [start, end) as a
``Chunk``; errors as one-line ``SourceError``). Optional: ``store_name(symbol)`` (default
catalog name), ``asset_class_of(symbol)``, ``estimate_cost(symbol, timeframe, ranges)``
(US dollars; the driver then requires the cost to be accepted) and ``adjusts_history``
(True: ``refresh`` downloads everything again).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from lab.core.errors import DataError, DataValidationError
from lab.core.types import TIMEFRAME_SECONDS
from lab.data.frames import make_bars
from lab.data.validate import FIXES, check_values

#: Source name -> module defining ``make_source(**options) -> Source``.
SOURCES: dict[str, str] = {
    "ccxt": "lab.data.sources.ccxt",
    "yfinance": "lab.data.sources.yahoo",
    "databento": "lab.data.sources.databento",
}


@dataclass
class Chunk:
    """Bars of one window as a source returned them, before the quality gate.

    Attributes
    ----------
    ts_ns : ndarray of int64, shape (n,)
        Bar open times, nanoseconds since the epoch, UTC, in the order received.
    values : dict of str to ndarray of float64, each shape (n,)
        ``open, high, low, close, volume`` as received (NaN where missing).
    events : dict
        Source extras kept in the dataset's sidecar (e.g. ``{"splits": [...],
        "dividends": [...]}`` from Yahoo), JSON-serializable.
    notes : list of str
        Findings to carry into the quality report.
    """

    ts_ns: np.ndarray
    values: dict[str, np.ndarray]
    events: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, **kwargs) -> "Chunk":
        """From a frame indexed by UTC open times with OHLCV columns (any float dtype)."""
        index = pd.DatetimeIndex(frame.index)
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        values = {c: frame[c].to_numpy(dtype="float64", na_value=np.nan)
                  for c in ("open", "high", "low", "close", "volume")}
        return cls(np.asarray(index.as_unit("ns").asi8, dtype="int64"), values, **kwargs)

    def __len__(self) -> int:
        return int(len(self.ts_ns))


@runtime_checkable
class Source(Protocol):
    """A market data source, as the download driver sees it.

    Attributes
    ----------
    name : str
        Source name, a key of ``SOURCES`` (``"ccxt"``).
    timeframes : tuple of str
        Bar sizes it serves (keys of ``lab.core.types.TIMEFRAME_SECONDS``).
    default_asset_class : str
        Asset class of what it serves unless told otherwise (``"crypto"``).
    """

    name: str
    timeframes: tuple[str, ...]
    default_asset_class: str

    def describe(self, symbol: str) -> str:
        """Short provenance, e.g. ``"ccxt binance BTC/USDT"``."""
        ...

    def options(self) -> dict[str, Any]:
        """JSON-serializable options that rebuild this source with ``get_source`` (kept
        in the dataset's sidecar so ``refresh`` fetches from the same place)."""
        ...

    def check_request(self, symbol: str, timeframe: str, start: pd.Timestamp,
                      end: pd.Timestamp, now: pd.Timestamp) -> None:
        """Refuse a request beyond the source's limits (``SourceError`` naming the
        limit) before anything is fetched; e.g. Yahoo's 1m bars reach back 30 days."""
        ...

    def chunk_span(self, timeframe: str) -> pd.Timedelta:
        """Length of time one window covers (the driver stores after each window)."""
        ...

    def fetch(self, symbol: str, timeframe: str, start: pd.Timestamp,
              end: pd.Timestamp) -> Chunk:
        """Bars whose open time lies in ``[start, end)`` (UTC), fetched within the
        source's per-call limits (paginating if needed).

        Raises
        ------
        SourceError
            One line: what failed (network, timeout, refusal, unknown symbol) and what
            to do.
        """
        ...


def register_source(name: str, module: str) -> None:
    """Make ``get_source(name)`` build sources from ``module`` (dotted path of a module
    defining ``make_source(**options) -> Source``), e.g. IB history from
    ``lab.live.ib``. The module is imported only when such a source is built.

    Raises
    ------
    DataError
        ``name`` is already taken by another module.
    """
    if SOURCES.get(name, module) != module:
        raise DataError(f"source {name!r} is already registered to {SOURCES[name]}")
    SOURCES[name] = module


def get_source(name: str, **options: Any) -> Source:
    """Build the source ``name`` (a key of ``SOURCES``) with its options.

    Raises
    ------
    DataError
        Unknown source name.
    """
    if name not in SOURCES:
        raise DataError(f"unknown source {name!r}; sources: {', '.join(SOURCES)}")
    return importlib.import_module(SOURCES[name]).make_source(**options)


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    """``pd.Timedelta`` of a bar size.

    Raises
    ------
    DataError
        Unknown timeframe.
    """
    if timeframe not in TIMEFRAME_SECONDS:
        raise DataError(f"unknown timeframe {timeframe!r}; use one of "
                        f"{', '.join(TIMEFRAME_SECONDS)}")
    return pd.Timedelta(seconds=TIMEFRAME_SECONDS[timeframe])


def _iso(ns: int) -> str:
    return pd.Timestamp(int(ns), tz="UTC").isoformat()


def gate_chunk(chunk: Chunk, name: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The quality gate of a downloaded chunk: the hard rules of an upload.

    Parameters
    ----------
    chunk : Chunk
        Bars as received.
    name : str
        What the chunk is, for the message (``"ccxt binance BTC/USDT 1h"``).
    start, end : Timestamp
        The window asked for; bars must open in ``[start, end)``.

    Returns
    -------
    DataFrame
        Canonical bars (UTC ``ts_event`` index, float64 OHLCV), possibly empty.

    Raises
    ------
    DataValidationError
        When a rule breaks (duplicate or unsorted times, missing / non-positive
        prices, OHLC inconsistency, negative volume, a bar outside the window); the
        message names the rows (0-based, in the order received) and their times.
        Nothing of the chunk may be stored.
    """
    ts = np.asarray(chunk.ts_ns, dtype="int64")
    volume = np.where(np.isnan(chunk.values["volume"]), 0.0, chunk.values["volume"])
    prices = {k: chunk.values[k] for k in ("open", "high", "low", "close")}
    problems = check_values(ts, np.ones(len(ts), dtype=bool), prices, volume)
    outside = np.flatnonzero((ts < start.value) | (ts >= end.value))
    if len(outside):
        problems.append({"rule": "outside_window", "rows": [int(r) for r in outside[:20]],
                         "count": int(len(outside)),
                         "message": f"{len(outside)} row(s) open outside the window asked for"})
    if problems:
        window = f"{start.isoformat()} .. {end.isoformat()}"
        lines = [f"{name}: the chunk {window} was refused and nothing of it was stored "
                 "(earlier chunks stay stored); rows count the bars received from 0:"]
        for p in problems:
            p["times"] = [_iso(ts[r]) for r in p["rows"]]
            fix = FIXES.get(p["rule"], "the source sent a bar outside the range asked for")
            lines.append(f"  - {p['rule']}: {p['message']}; times {', '.join(p['times'][:5])}"
                         f"{' ...' if p['count'] > 5 else ''}. Source data cannot be fixed "
                         f"here ({fix}); report it to the source, or download around it "
                         "with --start/--end")
        raise DataValidationError("\n".join(lines), problems)
    bars = make_bars(ts, {**prices, "volume": volume})
    return bars
