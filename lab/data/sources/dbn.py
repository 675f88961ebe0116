"""Databento DBN files (``.dbn``, ``.dbn.zst``) of OHLCV records -> bars.

A DBN file carries its own metadata (dataset, schema, symbols); ``ohlcv-1s``, ``-1m``,
``-1h`` and ``-1d`` records become bars of ``1s``, ``1m``, ``1h``, ``1d``. ``ts_event``
(the bar's open time, UTC, nanoseconds) stays the timestamp; prices are converted from
DBN's fixed point (1e-9 units) by databento's own ``to_df``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from lab.core.errors import DataError
from lab.data.validate import problem, refuse

#: DBN OHLCV schema -> timeframe.
SCHEMA_TIMEFRAMES = {"ohlcv-1s": "1s", "ohlcv-1m": "1m", "ohlcv-1h": "1h", "ohlcv-1d": "1d"}
TIMEFRAME_SCHEMAS = {v: k for k, v in SCHEMA_TIMEFRAMES.items()}


def is_dbn_name(name: str) -> bool:
    """True for ``*.dbn`` and ``*.dbn.zst`` file names."""
    lower = str(name).lower()
    return lower.endswith(".dbn") or lower.endswith(".dbn.zst")


def store_to_frame(store, name: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A ``databento.DBNStore`` of OHLCV records -> (frame, info).

    Returns
    -------
    frame : DataFrame
        UTC ``ts_event`` index (as received, not yet validated), float64 ``open, high,
        low, close, volume`` and int ``instrument_id``.
    info : dict
        ``dataset``, ``schema``, ``timeframe``, ``symbols``, ``instrument_ids``.

    Raises
    ------
    DataValidationError
        Not OHLCV records (e.g. a ``definition`` or ``trades`` file), or records of
        several instruments at once.
    """
    import warnings

    schema = str(store.schema) if store.schema is not None else ""
    if schema not in SCHEMA_TIMEFRAMES:
        refuse(name, [problem("unsupported_format",
                              f"{name!r} holds {schema or 'mixed'} records, not OHLCV bars "
                              f"({', '.join(SCHEMA_TIMEFRAMES)})")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")               # databento's pandas deprecations
        df = store.to_df(price_type="float", pretty_ts=True, map_symbols=True)
    ids = sorted(int(i) for i in pd.unique(df["instrument_id"])) if len(df) else []
    info = {"dataset": str(store.dataset), "schema": schema,
            "timeframe": SCHEMA_TIMEFRAMES[schema],
            "symbols": [str(s) for s in (store.symbols or [])], "instrument_ids": ids}
    index = pd.DatetimeIndex(df.index)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    frame = pd.DataFrame({c: df[c].to_numpy("float64") for c in
                          ("open", "high", "low", "close", "volume")},
                         index=index.as_unit("ns").rename("ts_event"))
    frame["instrument_id"] = df["instrument_id"].to_numpy("int64") if len(df) else \
        np.empty(0, dtype="int64")
    if "symbol" in df.columns:
        frame["raw_symbol"] = df["symbol"].astype(str).to_numpy()
    return frame, info


#: Databento datasets of futures exchanges (their DBN files default to ``future``).
FUTURES_DATASETS = ("GLBX.", "IFEU.", "IFUS.", "NDEX.", "XEUR.", "IFLL.")


def read_dbn(source: str | Path | IO[bytes] | bytes, filename: str | None = None,
             asset_class: str | None = None):
    """Read, validate and assess bars from a DBN file of OHLCV records.

    Parameters
    ----------
    source : str, Path, binary file-like or bytes
        The file or its content (``.dbn`` or zstd-compressed ``.dbn.zst``).
    filename : str, optional
        Name for messages when ``source`` is a buffer.
    asset_class : str, optional
        Calendar of the gap check; default ``future`` for futures datasets (GLBX.MDP3
        ...), else ``equity`` (XNAS.ITCH ...).

    Returns
    -------
    bars : DataFrame
        Canonical bars (UTC ``ts_event`` index = bar open, float64 OHLCV).
    report : QualityReport
        With the dataset, schema and instrument in its warnings.
    info : dict
        See ``store_to_frame``; plus ``asset_class``.

    Raises
    ------
    DataValidationError
        Unreadable file, non-OHLCV records, several instruments in one file, or a hard
        rule broken by a bar (rows named); nothing is stored.
    """
    import databento as db

    from lab.data.frames import make_bars
    from lab.data.quality import assess_quality
    from lab.data.validate import check_values

    name = filename or (Path(source).name if isinstance(source, (str, Path)) else "upload.dbn")
    try:
        if isinstance(source, (str, Path)):
            if not Path(source).exists():
                raise DataError(f"no such file: {source}")
            store = db.DBNStore.from_file(source)
        else:
            data = bytes(source) if isinstance(source, (bytes, bytearray, memoryview)) \
                else source.read()
            if not data:
                refuse(name, [problem("empty_file", "the file is empty (0 bytes)")])
            store = db.DBNStore.from_bytes(io.BytesIO(data))
    except DataError:
        raise
    except Exception as exc:  # databento / dbn raise several types for a bad file
        refuse(name, [problem("unreadable_file", f"could not read it as DBN: "
                              f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")])
    frame, info = store_to_frame(store, name)
    if len(info["instrument_ids"]) > 1:
        refuse(name, [problem("several_instruments",
                              f"the file holds {len(info['instrument_ids'])} instruments "
                              f"(instrument_id {info['instrument_ids'][:10]}); one dataset is "
                              "one instrument: request a continuous symbol (e.g. MCL.c.0) or "
                              "one contract")])
    if frame.empty:
        refuse(name, [problem("empty_file", "the file has no OHLCV records")])
    ts = frame.index.asi8
    prices = {k: frame[k].to_numpy() for k in ("open", "high", "low", "close")}
    refuse(name, check_values(ts, np.ones(len(ts), dtype=bool), prices,
                              frame["volume"].to_numpy()))
    bars = make_bars(ts, {**prices, "volume": frame["volume"].to_numpy()})
    notes = [f"Databento {info['dataset']} {info['schema']}, symbols "
             f"{', '.join(info['symbols']) or '?'}, instrument_id "
             f"{', '.join(map(str, info['instrument_ids']))}"]
    if asset_class is None:
        asset_class = "future" if info["dataset"].startswith(FUTURES_DATASETS) else "equity"
    info["asset_class"] = asset_class
    report = assess_quality(bars, info["timeframe"], asset_class, notes,
                            {"ts_event": "ts_event (DBN)", "open": "open", "high": "high",
                             "low": "low", "close": "close", "volume": "volume"})
    return bars, report, info
