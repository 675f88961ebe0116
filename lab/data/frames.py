"""Canonical bar frames: conversion to and from Arrow, checks, and the content fingerprint.

A canonical bar frame is indexed by a tz-aware UTC ``DatetimeIndex`` named ``ts_event``
(nanosecond unit, bar open time, sorted, unique) and has the float64 columns
``open, high, low, close, volume`` (``lab.core.types.BAR_COLUMNS``), in that order.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from lab.core.errors import DataError
from lab.core.types import BAR_COLUMNS, INDEX_NAME

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")

#: Arrow schema of a stored bar file.
ARROW_SCHEMA = pa.schema(
    [pa.field(INDEX_NAME, pa.timestamp("ns", tz="UTC"), nullable=False)]
    + [pa.field(c, pa.float64(), nullable=False) for c in BAR_COLUMNS]
)

_FINGERPRINT_VERSION = b"lab.bars.v1\x00"


def to_utc(value: Any, what: str = "time") -> pd.Timestamp:
    """Read ``value`` as a UTC timestamp.

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime, pandas.Timestamp or numpy.datetime64
        A point in time. Naive values are taken as UTC; tz-aware values are converted.
    what : str
        Name used in the error message (e.g. ``"start"``).

    Returns
    -------
    pandas.Timestamp
        tz-aware, UTC.

    Raises
    ------
    DataError
        If ``value`` cannot be read as a time.
    """
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = pd.NaT
    if ts is pd.NaT:
        raise DataError(f"{what}={value!r} is not a time; use an ISO date or time such as "
                        "'2020-01-31' or '2020-01-31T14:00:00Z' (naive times are UTC)")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def make_bars(ts_ns: np.ndarray, columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Build a canonical bar frame from arrays (no checks on the values).

    Parameters
    ----------
    ts_ns : ndarray of int64, shape (n,)
        Bar open times, nanoseconds since the Unix epoch, UTC.
    columns : mapping of str to ndarray, each shape (n,)
        ``open, high, low, close, volume``; converted to float64.

    Returns
    -------
    DataFrame
        Canonical bar frame (see the module docstring).
    """
    index = pd.DatetimeIndex(np.asarray(ts_ns, dtype="int64").view("datetime64[ns]"),
                             name=INDEX_NAME).tz_localize("UTC")
    return pd.DataFrame({c: np.asarray(columns[c], dtype="float64") for c in BAR_COLUMNS},
                        index=index)


def empty_bars() -> pd.DataFrame:
    """A canonical bar frame with no rows."""
    return make_bars(np.empty(0, dtype="int64"), {c: np.empty(0) for c in BAR_COLUMNS})


def ts_ns(bars: pd.DataFrame) -> np.ndarray:
    """Bar open times of a canonical frame as int64 nanoseconds since the epoch (UTC).

    Parameters
    ----------
    bars : DataFrame
        Canonical bar frame.

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    return np.asarray(bars.index.as_unit("ns").asi8, dtype="int64")


def check_bars(bars: pd.DataFrame, what: str = "bars") -> pd.DataFrame:
    """Validate a bar frame and return it in canonical form.

    Parameters
    ----------
    bars : DataFrame
        Bars indexed by a ``DatetimeIndex`` (or with a ``ts_event`` column). Naive times
        are taken as UTC. Must have the columns ``open, high, low, close, volume``
        (other columns are dropped).
    what : str
        Name used in error messages.

    Returns
    -------
    DataFrame
        A canonical copy: UTC ns index named ``ts_event``, float64 columns in
        ``BAR_COLUMNS`` order.

    Raises
    ------
    DataError
        If the frame has no time index, lacks a column, or its times are not strictly
        increasing. Files should go through ``lab.data.read_bars_file``, which names
        the offending rows.
    """
    if not isinstance(bars, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(bars).__name__}")
    frame = bars.set_index(INDEX_NAME) if INDEX_NAME in bars.columns else bars
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(f"{what} must be indexed by a DatetimeIndex (or have a "
                        f"'{INDEX_NAME}' column); got {type(frame.index).__name__}")
    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{what} lacks column(s) {missing}; has {list(frame.columns)}")
    index = frame.index
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    index = index.as_unit("ns").rename(INDEX_NAME)
    if index.hasnans:
        raise DataError(f"{what} has missing (NaT) times in its index")
    if not index.is_monotonic_increasing or not index.is_unique:
        raise DataError(f"{what} times must be strictly increasing (sorted, no duplicates); "
                        "sort the frame and drop duplicate times first")
    out = pd.DataFrame({c: np.asarray(frame[c], dtype="float64") for c in BAR_COLUMNS},
                       index=index)
    return out


def to_arrow(bars: pd.DataFrame) -> pa.Table:
    """Convert a canonical bar frame to an Arrow table with ``ARROW_SCHEMA``.

    Parameters
    ----------
    bars : DataFrame
        Canonical bar frame (run ``check_bars`` first for anything else).

    Returns
    -------
    pyarrow.Table
        Columns ``ts_event`` (timestamp[ns, UTC]) and the five float64 columns.
    """
    arrays = [pa.array(ts_ns(bars), pa.int64()).cast(pa.timestamp("ns", tz="UTC"))]
    arrays += [pa.array(bars[c].to_numpy(dtype="float64")) for c in BAR_COLUMNS]
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def fingerprint(bars: pd.DataFrame) -> str:
    """Content hash of bars, independent of where and how they were stored.

    The hash covers the canonical bytes of the bar times (int64 nanoseconds since the
    epoch, UTC, little-endian) followed by each of ``open, high, low, close, volume``
    as little-endian float64. Identical bars give identical fingerprints whether they
    came from CSV, Parquet or the store; changing any value or time changes it.

    Parameters
    ----------
    bars : DataFrame
        Bar frame (canonicalized with ``check_bars`` first, so a naive index counts as
        UTC and column order or extra columns do not matter).

    Returns
    -------
    str
        First 16 hex digits of the SHA-256 digest.

    Raises
    ------
    DataError
        If ``bars`` is not a valid bar frame.
    """
    canonical = check_bars(bars)
    digest = hashlib.sha256(_FINGERPRINT_VERSION)
    digest.update(np.ascontiguousarray(ts_ns(canonical), dtype="<i8").tobytes())
    for column in BAR_COLUMNS:
        values = np.ascontiguousarray(canonical[column].to_numpy(), dtype="<f8") + 0.0
        digest.update(values.tobytes())  # "+ 0.0" above turns -0.0 into 0.0
    return digest.hexdigest()[:16]
