"""The bar catalog: a Parquet store queried through DuckDB.

Layout under ``<root>/store/``::

    symbol=<url-quoted symbol>/timeframe=<tf>/bars.parquet   ts_event + OHLCV, zstd
    symbol=<url-quoted symbol>/timeframe=<tf>/meta.json      sidecar (see ``info``)

A dataset exists when its ``meta.json`` does. Files are written to a temporary name in
the same folder and moved into place with ``os.replace`` (atomic on POSIX and Windows),
so readers in other processes see the old or the new dataset, never half of one.
DuckDB runs in memory, one short-lived connection per call; no database file is held
open, so the Streamlit server, the CLI and test workers can share one store.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from lab.core.errors import DataError
from lab.core.files import write_atomic
from lab.core.paths import data_root
from lab.core.sql import literal
from lab.core.types import TIMEFRAME_SECONDS, AssetClass
from lab.data.frames import check_bars, fingerprint, to_arrow, to_utc
from lab.data.quality import NS, QualityReport, assess_quality
from lab.data.resample import check_resample, fetch_bars, resample_sql

BARS_FILE = "bars.parquet"
META_FILE = "meta.json"
DATASET_COLUMNS = ["symbol", "timeframe", "asset_class", "start", "end", "rows",
                   "fingerprint", "source", "description"]
MAX_SYMBOL_LENGTH = 64


def check_symbol(symbol: str) -> str:
    """Validate a symbol; returns it stripped of surrounding spaces.

    Raises
    ------
    DataError
        If the symbol is empty, longer than 64 characters, or has control characters.
    """
    if not isinstance(symbol, str) or not symbol.strip():
        raise DataError(f"symbol must be a non-empty string, got {symbol!r}")
    symbol = symbol.strip()
    if len(symbol) > MAX_SYMBOL_LENGTH or not symbol.isprintable():
        raise DataError(f"symbol {symbol!r} must be at most {MAX_SYMBOL_LENGTH} printable "
                        "characters (e.g. 'AAPL', 'BTC/USD', 'ES=F')")
    return symbol


def _check_timeframe(timeframe: str) -> str:
    if timeframe not in TIMEFRAME_SECONDS:
        raise DataError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAME_SECONDS)}")
    return timeframe


class Catalog:
    """Bars stored as Parquet under ``<root>/store`` and queried with DuckDB.

    Parameters
    ----------
    root : str or Path, optional
        Data folder (default ``lab.core.paths.data_root()``); the store is
        ``<root>/store`` (created on first write).

    Examples
    --------
    >>> cat = Catalog("data")                                     # doctest: +SKIP
    >>> bars = cat.load("BTCUSD_COINBASE", "4h", start="2019-01-01")  # doctest: +SKIP
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else data_root()
        self.store = self.root / "store"

    def __repr__(self) -> str:
        return f"Catalog({str(self.root)!r})"

    # -- layout -----------------------------------------------------------------------
    def _dir(self, symbol: str, timeframe: str) -> Path:
        return self.store / f"symbol={quote(symbol, safe='')}" / f"timeframe={timeframe}"

    def dataset_dir(self, symbol: str, timeframe: str) -> Path:
        """Folder of a dataset (it may not exist yet); ``delete`` removes it whole, so
        per-dataset state such as a download's progress file belongs here.

        Raises
        ------
        DataError
            For an invalid symbol or timeframe.
        """
        return self._dir(check_symbol(symbol), _check_timeframe(timeframe))

    def _metas(self, symbol: str | None = None) -> list[dict[str, Any]]:
        pattern = f"symbol={quote(symbol, safe='')}" if symbol is not None else "symbol=*"
        metas = []
        for path in sorted(self.store.glob(f"{pattern}/timeframe=*/{META_FILE}")):
            try:
                meta = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # removed or replaced while listing
            if (path.parent / BARS_FILE).exists():
                metas.append(meta)
        return sorted(metas, key=lambda m: (m["symbol"], TIMEFRAME_SECONDS[m["timeframe"]]))

    def _meta(self, symbol: str, timeframe: str) -> dict[str, Any]:
        symbol = check_symbol(symbol)
        _check_timeframe(timeframe)
        path = self._dir(symbol, timeframe) / META_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(self._not_stored(symbol, timeframe)) from None

    def _not_stored(self, symbol: str, timeframe: str | None = None) -> str:
        mine = [m["timeframe"] for m in self._metas(symbol)]
        if mine:
            return (f"{symbol} is not stored as {timeframe} and cannot be resampled to it; "
                    f"stored timeframes of {symbol}: {', '.join(mine)} (coarser timeframes "
                    "that are whole multiples of one of these are resampled on load)")
        known = sorted({m["symbol"] for m in self._metas()})
        shown = ", ".join(known[:40]) + (" ..." if len(known) > 40 else "")
        return (f"no data stored for symbol {symbol!r}; stored symbols: {shown or 'none'}. "
                "Ingest a file first (lab.data.ingest_file)")

    # -- listing ----------------------------------------------------------------------
    def datasets(self) -> pd.DataFrame:
        """One row per stored (symbol, timeframe).

        Returns
        -------
        DataFrame
            Columns ``symbol, timeframe, asset_class, start, end`` (UTC Timestamps of
            the first and last bar open), ``rows, fingerprint, source, description``;
            sorted by symbol, then bar size.
        """
        metas = self._metas()
        frame = pd.DataFrame([{**{k: m.get(k) for k in DATASET_COLUMNS},
                               "start": m["first"], "end": m["last"]} for m in metas],
                             columns=DATASET_COLUMNS)
        for col in ("start", "end"):
            frame[col] = pd.to_datetime(frame[col], utc=True)
        frame["rows"] = frame["rows"].astype("int64")
        return frame

    def has(self, symbol: str, timeframe: str) -> bool:
        """Whether ``symbol`` is stored at exactly ``timeframe`` (no resampling).

        Parameters
        ----------
        symbol : str
            Symbol, e.g. ``"SPX"``.
        timeframe : str
            Bar size, e.g. ``"1d"``.

        Returns
        -------
        bool
        """
        return (self._dir(check_symbol(symbol), timeframe) / META_FILE).exists()

    def info(self, symbol: str, timeframe: str) -> dict[str, Any]:
        """The dataset's sidecar.

        Returns
        -------
        dict
            ``symbol, timeframe, asset_class, source, description, fingerprint, rows,
            first, last`` (ISO strings, UTC), ``quality`` (``QualityReport.to_dict()``),
            ``ingested_at`` (ISO, UTC) and ``schema``.

        Raises
        ------
        DataError
            If the dataset is not stored.
        """
        return self._meta(symbol, timeframe)

    def quality(self, symbol: str, timeframe: str) -> QualityReport:
        """The quality report kept with a stored dataset.

        Parameters
        ----------
        symbol : str
            Stored symbol.
        timeframe : str
            Stored bar size.

        Returns
        -------
        QualityReport

        Raises
        ------
        DataError
            If the dataset is not stored.
        """
        return QualityReport.from_dict(self._meta(symbol, timeframe)["quality"])

    def asset_class(self, symbol: str) -> str:
        """Asset class of ``symbol`` (``equity``, ``index``, ``fx``, ``crypto``, ``future``).

        Raises
        ------
        DataError
            If the symbol is not stored.
        """
        metas = self._metas(check_symbol(symbol))
        if not metas:
            raise DataError(self._not_stored(symbol))
        return metas[0]["asset_class"]

    def fingerprint(self, symbol: str, timeframe: str) -> str:
        """Content fingerprint of a stored dataset (``lab.data.fingerprint`` of its bars).

        Parameters
        ----------
        symbol : str
            Stored symbol.
        timeframe : str
            Stored bar size (a resampled load has its own fingerprint: call
            ``lab.data.fingerprint`` on the loaded frame).

        Returns
        -------
        str
            16 hex digits.

        Raises
        ------
        DataError
            If the dataset is not stored.
        """
        return self._meta(symbol, timeframe)["fingerprint"]

    # -- reading ----------------------------------------------------------------------
    def load(self, symbol: str, timeframe: str, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Bars of ``symbol`` at ``timeframe`` between ``start`` and ``end`` inclusive.

        When ``timeframe`` is not stored but a finer timeframe that divides it is, the
        finer bars are resampled in DuckDB (the coarsest such one is used; see
        ``lab.data.resample`` for the bucket rules).

        Parameters
        ----------
        symbol : str
            Stored symbol, e.g. ``"SPX"``.
        timeframe : str
            Bar size, e.g. ``"1h"``, ``"4h"``, ``"1d"``, ``"1w"``.
        start, end : str, datetime.date, datetime.datetime or Timestamp, optional
            Inclusive bounds on the bar open time; naive values are UTC. ``end`` is a
            point in time: ``"2020-01-31"`` means 2020-01-31 00:00 UTC.

        Returns
        -------
        DataFrame
            Indexed by tz-aware UTC ``ts_event`` (sorted); float64 ``open, high, low,
            close, volume``.

        Raises
        ------
        DataError
            For an unknown symbol or timeframe (the message lists what is stored), a
            start after the end, or a range with no bars.
        """
        symbol = check_symbol(symbol)
        _check_timeframe(timeframe)
        lo = to_utc(start, "start") if start is not None else None
        hi = to_utc(end, "end") if end is not None else None
        if lo is not None and hi is not None and lo > hi:
            raise DataError(f"start {lo} is after end {hi}")
        stored = {m["timeframe"]: m for m in self._metas(symbol)}
        if timeframe in stored:
            meta, source_tf = stored[timeframe], timeframe
        else:
            target = TIMEFRAME_SECONDS[timeframe]
            finer = [tf for tf in stored if TIMEFRAME_SECONDS[tf] < target
                     and target % TIMEFRAME_SECONDS[tf] == 0]
            if not finer:
                raise DataError(self._not_stored(symbol, timeframe))
            source_tf = max(finer, key=TIMEFRAME_SECONDS.get)
            meta = stored[source_tf]
            check_resample(source_tf, timeframe)
        path = self._dir(symbol, source_tf) / BARS_FILE
        source = f"read_parquet({literal(str(path))})"
        width = TIMEFRAME_SECONDS[timeframe] * NS
        conditions = []
        if source_tf == timeframe:
            if lo is not None:
                conditions.append(f"ts >= {lo.value}")
            if hi is not None:
                conditions.append(f"ts <= {hi.value}")
            where = " AND ".join(conditions)
            sql = (f"SELECT * FROM (SELECT epoch_ns(ts_event) AS ts, open, high, low, close, "
                   f"volume FROM {source}) {'WHERE ' + where if where else ''} ORDER BY ts")
        else:
            # the fine bars of every bucket that opens inside [lo, hi]
            if lo is not None:
                conditions.append(f"ts >= {lo.value}")
            if hi is not None:
                conditions.append(f"ts < {hi.value + width}")
            inner = resample_sql(source, timeframe, " AND ".join(conditions))
            outer = [f"ts >= {lo.value}"] if lo is not None else []
            if hi is not None:
                outer.append(f"ts <= {hi.value}")
            sql = f"SELECT * FROM ({inner}) {'WHERE ' + ' AND '.join(outer) if outer else ''} ORDER BY ts"
        try:
            with duckdb.connect() as con:
                bars = fetch_bars(con, sql)
        except duckdb.IOException as exc:
            raise DataError(f"{symbol} {source_tf} could not be read ({exc}); it may have been "
                            "deleted meanwhile, list the datasets again") from None
        if bars.empty:
            raise DataError(f"no {symbol} {timeframe} bars between {lo or 'the start'} and "
                            f"{hi or 'the end'}; stored {source_tf} bars run from "
                            f"{meta['first']} to {meta['last']}")
        return bars

    def query(self, sql: str) -> pd.DataFrame:
        """Run read-only SQL over a DuckDB view ``bars`` of every stored dataset.

        Parameters
        ----------
        sql : str
            A query over ``bars(symbol VARCHAR, timeframe VARCHAR, ts_event
            TIMESTAMPTZ, open, high, low, close, volume DOUBLE)``, e.g.
            ``"SELECT symbol, count(*) FROM bars GROUP BY symbol"``.

        Returns
        -------
        DataFrame
            The result (timestamps come back as UTC).

        Raises
        ------
        DataError
            If the store is empty.
        """
        if not self._metas():
            raise DataError(f"the store {self.store} is empty; ingest data first")
        glob = str(self.store / "symbol=*" / "timeframe=*" / BARS_FILE)
        with duckdb.connect() as con:
            con.execute("SET TimeZone = 'UTC'")
            con.execute(
                "CREATE VIEW bars AS SELECT symbol, timeframe, ts_event, open, high, low, close, "
                f"volume FROM read_parquet({literal(glob)}, hive_partitioning = true, "
                "hive_types = {'symbol': VARCHAR, 'timeframe': VARCHAR})")
            frame = con.execute(sql).df()
        for col in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[col]) and frame[col].dt.tz is None:
                frame[col] = frame[col].dt.tz_localize("UTC")
        return frame

    # -- writing ----------------------------------------------------------------------
    def store_bars(self, bars: pd.DataFrame, symbol: str, timeframe: str, asset_class: str,
                   source: str, description: str = "",
                   report: QualityReport | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Store validated bars as ``symbol``/``timeframe`` (replacing any existing data).

        Parameters
        ----------
        bars : DataFrame
            Canonical bars (UTC ``ts_event`` index, float64 OHLCV), already validated
            (``read_bars_file`` does that).
        symbol : str
            Symbol to store under (at most 64 printable characters).
        timeframe : str
            Bar size, a key of ``lab.core.types.TIMEFRAME_SECONDS``.
        asset_class : str
            ``equity``, ``index``, ``fx``, ``crypto`` or ``future``.
        source : str
            Where the bars came from (file, package==version and path, exchange ...).
        description : str
            One line for the Data page.
        report : QualityReport, optional
            Quality report to keep in the sidecar; computed with ``assess_quality``
            when omitted.
        extra : dict, optional
            More JSON-serializable sidecar entries (e.g. ``download``: how a source
            fetched the bars, for ``refresh``; ``events``: splits and dividends).
            They cannot replace the standard keys.

        Returns
        -------
        dict
            The sidecar written (see ``info``).

        Raises
        ------
        DataError
            For an invalid symbol, timeframe, asset class or bar frame, or no bars.
        """
        symbol = check_symbol(symbol)
        _check_timeframe(timeframe)
        try:
            asset_class = AssetClass(asset_class).value
        except ValueError:
            raise DataError(f"unknown asset class {asset_class!r}; use one of "
                            f"{', '.join(a.value for a in AssetClass)}") from None
        bars = check_bars(bars)
        if bars.empty:
            raise DataError(f"no bars to store for {symbol} {timeframe}")
        if report is None:
            report = assess_quality(bars, timeframe, asset_class)
        meta = {
            "symbol": symbol, "timeframe": timeframe, "asset_class": asset_class,
            "source": source or "", "description": description or "",
            "fingerprint": fingerprint(bars), "rows": int(len(bars)),
            "first": bars.index[0].isoformat(), "last": bars.index[-1].isoformat(),
            "quality": report.to_dict(),
            "ingested_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "schema": 1,
        }
        for key, value in (extra or {}).items():
            if key in meta:
                raise DataError(f"extra sidecar key {key!r} would replace a standard one")
            meta[key] = value
        folder = self._dir(symbol, timeframe)
        folder.mkdir(parents=True, exist_ok=True)
        table = to_arrow(bars)
        write_atomic(folder / BARS_FILE,
                      lambda fh: pq.write_table(table, fh, compression="zstd"))
        write_atomic(folder / META_FILE,
                      lambda fh: fh.write(json.dumps(meta, indent=1).encode("utf-8")))
        return meta

    def delete(self, symbol: str, timeframe: str) -> None:
        """Remove a stored dataset (other timeframes of the symbol stay).

        Parameters
        ----------
        symbol : str
            Stored symbol.
        timeframe : str
            Stored bar size.

        Raises
        ------
        DataError
            If it is not stored.
        """
        symbol = check_symbol(symbol)
        _check_timeframe(timeframe)
        folder = self._dir(symbol, timeframe)
        try:
            (folder / META_FILE).unlink()  # first: the dataset disappears at once
        except FileNotFoundError:
            raise DataError(self._not_stored(symbol, timeframe)) from None
        shutil.rmtree(folder, ignore_errors=True)
        try:
            folder.parent.rmdir()
        except OSError:
            pass  # other timeframes remain
