"""Read OHLCV bars from a CSV or Parquet file (or an uploaded buffer) and validate them.

Column names are matched case-insensitively, with ``_``, ``-`` and ``.`` read as spaces.
Times: ``ts_event``, ``timestamp``, ``datetime``, ``date``, ``time``, ``Open time`` and
similar; ISO strings (an offset converts to UTC, no offset means UTC), Unix seconds,
milliseconds, microseconds or nanoseconds (told apart by magnitude), ``YYYYMMDD``
integers, or separate ``date`` and ``time`` columns.
"""

from __future__ import annotations

import csv as _csv
import io
import re
import warnings
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from lab.core.errors import DataError
from lab.core.types import TIMEFRAME_SECONDS, AssetClass
from lab.data.frames import PRICE_COLUMNS, make_bars
from lab.data.quality import QualityReport, assess_quality, timeframe_mismatch
from lab.data.validate import check_values, problem, refuse, row_problem

TIME_NAMES = ("ts event", "timestamp", "datetime", "date time", "open time", "gmt time",
              "time utc", "date", "time", "ts", "unix", "index")
ALIASES: dict[str, tuple[str, ...]] = {
    "open": ("open", "o", "open price", "opening price"),
    "high": ("high", "h", "high price"),
    "low": ("low", "l", "low price"),
    "close": ("close", "c", "close price", "closing price", "last"),
    "volume": ("volume", "vol", "v", "tick volume", "tickvol", "real volume"),
}
ADJ_CLOSE = ("adj close", "adjclose", "adjusted close")
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz", ".zst": "zstd"}
_NS_MIN = pd.Timestamp("1900-01-01", tz="UTC").value
_NS_MAX = pd.Timestamp("2200-01-01", tz="UTC").value


def _norm(name: Any) -> str:
    return " ".join(re.sub(r"[_\-.]+", " ", str(name)).lower().split())


def _kind(name: str) -> tuple[str | None, str | None]:
    """(``"csv"``/``"parquet"``/None, compression) from a file name."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if ext in CSV_SUFFIXES:
        return "csv", compression
    if ext in PARQUET_SUFFIXES and compression is None:
        return "parquet", None
    return None, None


def _sniff_sep(head: bytes) -> str:
    text = head.decode("utf-8", errors="replace")
    try:
        return _csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
    except _csv.Error:
        return ","


def _read_table(source: Path | IO[bytes], name: str) -> pd.DataFrame:
    kind, compression = _kind(name)
    if kind is None:
        refuse(name, [problem("unsupported_format",
                              f"{name!r} is not a .csv, .csv.gz, .txt or .parquet file")])
    try:
        if isinstance(source, Path):
            if source.stat().st_size == 0:
                refuse(name, [problem("empty_file", "the file is empty (0 bytes)")])
        elif source.getbuffer().nbytes == 0:  # type: ignore[union-attr]
            refuse(name, [problem("empty_file", "the file is empty (0 bytes)")])
        if kind == "parquet":
            frame = pd.read_parquet(source)
            if not isinstance(frame.index, pd.RangeIndex):
                frame = frame.reset_index()
            return frame
        sep = ","
        if compression is None:
            if isinstance(source, Path):
                with open(source, "rb") as fh:
                    sep = _sniff_sep(fh.read(8192))
            else:
                sep = _sniff_sep(source.getvalue()[:8192])  # type: ignore[union-attr]
        return pd.read_csv(source, sep=sep, compression=compression, skipinitialspace=True,
                           encoding="utf-8-sig")  # -sig: Excel's byte-order mark
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError(f"no such file: {source}") from None
    except pd.errors.EmptyDataError:
        refuse(name, [problem("empty_file", "the file has no header and no rows")])
    except Exception as exc:  # pandas/pyarrow raise many types for a malformed file
        refuse(name, [problem("unreadable_file",
                              f"could not read it as {kind}: {type(exc).__name__}: "
                              f"{str(exc).strip()}")])
    raise AssertionError("unreachable")


def _find_columns(frame: pd.DataFrame, name: str, notes: list[str]) -> dict[str, Any]:
    """Map bar fields to input columns; refuse when a required one is missing."""
    by_norm: dict[str, Any] = {}
    for col in frame.columns:
        by_norm.setdefault(_norm(col), col)
    found: dict[str, Any] = {}
    for role, names in ALIASES.items():
        found[role] = next((by_norm[n] for n in names if n in by_norm), None)
    if found["close"] is None:
        adj = next((by_norm[n] for n in ADJ_CLOSE if n in by_norm), None)
        if adj is not None:
            found["close"] = adj
            notes.append(f"no Close column; used {adj!r} as close (open/high/low may not be "
                         "adjusted the same way)")
    if found["volume"] is None:
        prefixed = [c for n, c in by_norm.items() if n.startswith("volume ")]
        if prefixed:
            found["volume"] = prefixed[0]
            notes.append(f"used {prefixed[0]!r} as volume (other volume columns: "
                         f"{prefixed[1:] or 'none'})")
    time_col = next((by_norm[n] for n in TIME_NAMES if n in by_norm), None)
    found["ts_event"] = time_col
    if "date" in by_norm and "time" in by_norm and time_col in (by_norm["date"], by_norm["time"]):
        first = frame[by_norm["time"]].dropna().astype(str).head(1).tolist()
        if first and re.match(r"^\d{1,2}:\d{2}", first[0]):
            found["ts_event"] = (by_norm["date"], by_norm["time"])
    if time_col is None and len(frame.columns) and _norm(frame.columns[0]).startswith("unnamed"):
        found["ts_event"] = frame.columns[0]
    missing = [r for r in ("ts_event", "open", "high", "low", "close") if found[r] is None]
    if missing:
        refuse(name, [problem("missing_columns", f"no column for {', '.join(missing)}; the file "
                              f"has columns {[str(c) for c in frame.columns]}")])
    return found


def _datetimes_to_ns(stamps: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """tz-aware or naive (= UTC) datetimes -> (ns since epoch, parsed); times outside
    1900..2200 get a sentinel just outside the range so the range rule names them."""
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    ok = stamps.notna().to_numpy()
    raw = stamps.to_numpy()
    per_unit = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[np.datetime_data(raw.dtype)[0]]
    ticks = raw.view("int64")
    low, high = _NS_MIN // per_unit, _NS_MAX // per_unit
    ns = np.where(ticks < low, _NS_MIN - 1, np.where(ticks >= high, _NS_MAX, ticks * per_unit))
    return np.where(ok, ns, 0).astype("int64"), ok


def _epoch_to_ns(values: pd.Series) -> tuple[np.ndarray, np.ndarray, str]:
    """Numeric times -> (ns since epoch, parsed, unit read)."""
    x = values.to_numpy(dtype="float64", na_value=np.nan)
    ok = np.isfinite(x)
    if not ok.any():
        return np.zeros(len(x), dtype="int64"), ok, "numbers"
    if np.all(x[ok] == np.round(x[ok])) and np.all((x[ok] >= 19000101) & (x[ok] <= 22001231)):
        text = pd.Series(np.where(ok, x, 0).astype("int64").astype(str)).where(ok)
        ns, parsed = _datetimes_to_ns(pd.to_datetime(text, format="%Y%m%d", errors="coerce"))
        return ns, parsed, "YYYYMMDD dates"
    magnitude = float(np.median(np.abs(x[ok])))
    unit, factor = next((u, f) for limit, u, f in ((1e11, "s", 10**9), (1e14, "ms", 10**6),
                                                    (1e17, "us", 10**3), (np.inf, "ns", 1))
                        if magnitude < limit)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.where(ok, x, 0.0) * factor
        if pd.api.types.is_integer_dtype(values.dtype):   # exact, no float rounding
            exact = values.to_numpy(dtype="int64", na_value=0)
            scaled_int = exact * factor
        else:
            scaled_int = np.round(scaled).astype("int64")
    ns = np.where(scaled < _NS_MIN, _NS_MIN - 1, np.where(scaled >= _NS_MAX, _NS_MAX, scaled_int))
    return ns.astype("int64"), ok, f"Unix {unit}"


def _strings_to_ns(values: pd.Series, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    present = values.notna().to_numpy()
    best = None
    attempts = ({"format": "ISO8601"}, {}, {"dayfirst": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kwargs in attempts:
            try:
                parsed = pd.to_datetime(values, utc=True, errors="coerce", **kwargs)
            except (ValueError, TypeError, OverflowError):
                continue
            bad = int((parsed.isna().to_numpy() & present).sum())
            if best is None or bad < best[0]:
                best = (bad, parsed, kwargs)
            if bad == 0:
                break
    if best is None:
        return np.zeros(len(values), dtype="int64"), np.zeros(len(values), dtype=bool)
    if best[2].get("dayfirst"):
        notes.append("times were read day first (DD.MM.YYYY); check a few against the source")
    return _datetimes_to_ns(best[1])


def _parse_times(frame: pd.DataFrame, col: Any, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(col, tuple):
        values = frame[col[0]].astype(str) + " " + frame[col[1]].astype(str)
        values = values.where(frame[col[0]].notna() & frame[col[1]].notna())
    else:
        values = frame[col]
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return _datetimes_to_ns(values)
    if pd.api.types.is_bool_dtype(values.dtype):
        return np.zeros(len(values), dtype="int64"), np.zeros(len(values), dtype=bool)
    if not pd.api.types.is_numeric_dtype(values.dtype):
        numeric = pd.to_numeric(values, errors="coerce")
        if values.notna().any() and numeric.notna().sum() == values.notna().sum():
            values = numeric
    if pd.api.types.is_numeric_dtype(values.dtype):
        ns, ok, unit = _epoch_to_ns(values)
        notes.append(f"times read as {unit}")
        return ns, ok
    return _strings_to_ns(values.astype(object), notes)


def _numbers(frame: pd.DataFrame, col: Any) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, rows holding text that is not a number)."""
    values = frame[col]
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype="float64", na_value=np.nan), np.empty(0, dtype="int64")
    numeric = pd.to_numeric(values, errors="coerce")
    text = np.flatnonzero(values.notna().to_numpy() & numeric.isna().to_numpy())
    return numeric.to_numpy(dtype="float64", na_value=np.nan), text


def read_bars_file(path: str | Path | IO[bytes] | bytes, timeframe: str | None = None,
                   asset_class: str = "equity",
                   filename: str | None = None) -> tuple[pd.DataFrame, QualityReport]:
    """Read, validate and assess bars from a CSV or Parquet file.

    Parameters
    ----------
    path : str, Path, binary file-like or bytes
        The file, or its content (then ``filename`` gives the format). Formats: .csv,
        .txt, .tsv (optionally .gz/.bz2/.zip/.xz/.zst compressed; the separator is
        sniffed among ``, ; tab |``) and .parquet/.pq.
    timeframe : str, optional
        Declared bar size (``"1h"``, ``"1d"``, ...); inferred from the median bar
        spacing when omitted. A size the bars' median spacing contradicts (1-minute
        bars declared ``1d``) is refused (``timeframe_mismatch``), naming the spacing.
    asset_class : str
        ``equity``, ``index``, ``fx``, ``crypto`` or ``future``; selects the calendar of
        the gap check.
    filename : str, optional
        Name of the file when ``path`` is a buffer or bytes.

    Returns
    -------
    bars : DataFrame
        Canonical bars: UTC ``DatetimeIndex`` named ``ts_event`` (ns, sorted, unique)
        and float64 ``open, high, low, close, volume`` (volume 0 when the file has none).
    report : QualityReport
        Soft findings: gaps, zero-volume bars, extreme moves, inferred timeframe,
        warnings, and which column was read for each field.

    Raises
    ------
    DataValidationError
        When a hard rule breaks (empty or unreadable file, unsupported format, missing
        columns, unparseable/out-of-range/duplicate/unsorted times, times after now,
        missing, non-numeric or non-positive prices, OHLC inconsistency, negative
        volume, a timeframe the spacing contradicts). ``.problems`` lists
        each rule with up to 20 0-based row numbers and a count.
    DataError
        If the file does not exist, or ``timeframe``/``asset_class`` is unknown.
    """
    if timeframe is not None and timeframe not in TIMEFRAME_SECONDS:
        raise DataError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAME_SECONDS)}")
    try:
        asset_class = AssetClass(asset_class).value
    except ValueError:
        raise DataError(f"unknown asset class {asset_class!r}; use one of "
                        f"{', '.join(a.value for a in AssetClass)}") from None
    if isinstance(path, (bytes, bytearray)):
        path = io.BytesIO(bytes(path))
    if isinstance(path, (str, Path)):
        source: Path | IO[bytes] = Path(path)
        name = filename or Path(path).name
    else:
        source = path if isinstance(path, io.BytesIO) else io.BytesIO(path.read())
        name = filename or getattr(path, "name", None) or "upload"
    frame = _read_table(source, str(name))
    notes: list[str] = []
    if len(frame) == 0:
        refuse(name, [problem("empty_file", "the file has a header but no rows "
                              f"(columns {[str(c) for c in frame.columns]})")])
    cols = _find_columns(frame, name, notes)
    problems: list[dict | None] = []
    ts, ts_ok = _parse_times(frame, cols["ts_event"], notes)
    problems.append(row_problem("unparseable_timestamp", "have a time that could not be read",
                                np.flatnonzero(~ts_ok)))
    out_of_range = ts_ok & ((ts < _NS_MIN) | (ts >= _NS_MAX))
    problems.append(row_problem("timestamp_out_of_range", "have a time before 1900 or after 2200",
                                np.flatnonzero(out_of_range)))
    ts_ok = ts_ok & ~out_of_range
    prices: dict[str, np.ndarray] = {}
    text_rows = []
    for role in PRICE_COLUMNS:
        prices[role], text = _numbers(frame, cols[role])
        text_rows.append(text)
    if cols["volume"] is None:
        volume = np.zeros(len(frame))
        notes.append("the file has no volume column; volume set to 0")
    else:
        volume, text = _numbers(frame, cols["volume"])
        text_rows.append(text)
        nan_volume = int(np.isnan(volume).sum()) - len(text)
        if nan_volume:
            notes.append(f"{nan_volume} bar(s) have no volume; set to 0")
        volume = np.where(np.isnan(volume), 0.0, volume)
    problems.append(row_problem("non_numeric", "hold text where a number is expected",
                                np.unique(np.concatenate(text_rows)).astype("int64")))
    problems += check_values(ts, ts_ok, prices, volume)
    refuse(name, [p for p in problems if p is not None])
    if timeframe is not None:
        wrong = timeframe_mismatch(ts, timeframe)
        if wrong:
            refuse(name, [problem("timeframe_mismatch", wrong)])
    bars = make_bars(ts, {**prices, "volume": volume})
    columns = {k: (" + ".join(map(str, v)) if isinstance(v, tuple) else str(v))
               for k, v in cols.items() if v is not None}
    return bars, assess_quality(bars, timeframe, asset_class, notes, columns)
