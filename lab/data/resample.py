"""Resampling bars to a coarser timeframe with DuckDB.

Buckets are aligned to the Unix epoch in UTC: 4h buckets open at 00:00, 04:00, ...;
1d buckets at 00:00 UTC; 1w buckets on Monday 00:00 UTC. A bucket's bar has
open = first open, high = max high, low = min low, close = last close and
volume = sum of volumes added in time order (deterministic to the last bit). Empty
buckets produce no bar.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from lab.core.errors import DataError
from lab.core.types import TIMEFRAME_SECONDS
from lab.data.frames import check_bars, empty_bars, make_bars, to_arrow
from lab.data.quality import NS, infer_timeframe

_MONDAY_NS = 4 * 86_400 * NS   # 1970-01-05 00:00 UTC, the first Monday after the epoch


def bucket_origin_ns(timeframe: str) -> int:
    """Origin of the bucket grid of ``timeframe``.

    Parameters
    ----------
    timeframe : str
        Bar size, a key of ``TIMEFRAME_SECONDS``.

    Returns
    -------
    int
        Nanoseconds since the epoch: 0 (1970-01-01 00:00 UTC), or Monday 1970-01-05 for
        weekly bars.
    """
    return _MONDAY_NS if TIMEFRAME_SECONDS[timeframe] >= 7 * 86_400 else 0


def resample_sql(source: str, timeframe: str, where: str = "") -> str:
    """SQL that resamples bars of ``source`` to ``timeframe``.

    Parameters
    ----------
    source : str
        A DuckDB table expression with columns ``ts_event`` (timestamp, UTC) and
        ``open, high, low, close, volume`` (e.g. ``read_parquet('...')``).
    timeframe : str
        Target bar size, a key of ``TIMEFRAME_SECONDS``.
    where : str
        Optional SQL condition on ``ts`` (int64 ns since the epoch) of the source bars.

    Returns
    -------
    str
        A query returning ``ts`` (int64 ns, bucket open) and the five bar columns,
        ordered by ``ts``.
    """
    width = TIMEFRAME_SECONDS[timeframe] * NS
    origin = bucket_origin_ns(timeframe)
    condition = f"WHERE {where}" if where else ""
    return f"""
        WITH src AS (
            SELECT epoch_ns(ts_event) AS ts, open, high, low, close, volume FROM {source}
        ), b AS (
            SELECT ts - ((((ts - {origin}) % {width}) + {width}) % {width}) AS bucket, *
            FROM src {condition}
        )
        SELECT bucket AS ts, arg_min(open, ts) AS open, max(high) AS high, min(low) AS low,
               arg_max(close, ts) AS close, sum(volume ORDER BY ts) AS volume
        FROM b GROUP BY bucket ORDER BY bucket
    """


def fetch_bars(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """Run a bar query and return a canonical bar frame.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Open connection.
    sql : str
        Query returning ``ts`` (int64 ns since the epoch) and ``open, high, low, close,
        volume``, ordered by ``ts``.

    Returns
    -------
    DataFrame
        Canonical bars (empty when the query returns no rows).
    """
    result = con.execute(sql).fetchnumpy()
    if len(result["ts"]) == 0:
        return empty_bars()
    return make_bars(np.asarray(result["ts"], dtype="int64"),
                     {c: np.asarray(result[c], dtype="float64") for c in
                      ("open", "high", "low", "close", "volume")})


def check_resample(from_timeframe: str | None, timeframe: str) -> None:
    """Refuse a resample that cannot be exact.

    Parameters
    ----------
    from_timeframe : str or None
        Bar size of the input (None: only ``timeframe`` is checked).
    timeframe : str
        Target bar size.

    Raises
    ------
    DataError
        If ``timeframe`` is unknown, finer than ``from_timeframe``, or not a whole
        multiple of it (4h bars cannot make 6h bars).
    """
    if timeframe not in TIMEFRAME_SECONDS:
        raise DataError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAME_SECONDS)}")
    if from_timeframe is None:
        return
    src, dst = TIMEFRAME_SECONDS[from_timeframe], TIMEFRAME_SECONDS[timeframe]
    if dst < src:
        raise DataError(f"cannot resample {from_timeframe} bars to the finer {timeframe}; "
                        "load or ingest finer bars")
    if dst % src:
        raise DataError(f"{timeframe} is not a whole multiple of {from_timeframe}; choose a "
                        "timeframe whose length divides evenly by the bar size")


def resample(bars: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Aggregate bars to a coarser timeframe (DuckDB SQL over the frame).

    Parameters
    ----------
    bars : DataFrame
        Bars indexed by UTC ``ts_event`` with float64 ``open, high, low, close, volume``.
    timeframe : str
        Target bar size, e.g. ``"4h"``, ``"1d"``, ``"1w"``. Buckets are aligned to the
        epoch in UTC (weeks start Monday 00:00 UTC).

    Returns
    -------
    DataFrame
        Canonical bars of ``timeframe``, one per non-empty bucket, indexed by bucket
        open time.

    Raises
    ------
    DataError
        If ``bars`` is not a valid bar frame, or ``timeframe`` is unknown, finer than
        the bars' spacing, or not a whole multiple of it.
    """
    bars = check_bars(bars)
    check_resample(None, timeframe)
    check_resample(infer_timeframe(np.asarray(bars.index.asi8)), timeframe)
    if bars.empty:
        return empty_bars()
    with duckdb.connect() as con:
        con.register("input_bars", to_arrow(bars))
        return fetch_bars(con, resample_sql("input_bars", timeframe))
