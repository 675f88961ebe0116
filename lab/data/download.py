"""Download bars from a source into the store: chunk by chunk, validated, incremental,
resumable, with progress; and ``refresh`` of a stored dataset.

How it works:

- The request ``[start, end)`` (``end`` defaults to now) is cut to closed bars only (a
  bar is closed once its open time + bar size has passed) and to what is *missing*:
  the parts not covered by the dataset's stored range nor by windows an earlier run
  already fetched (the progress file ``download.json`` in the dataset's folder, which
  also remembers windows that held no bars, e.g. before a market listed).
- The missing ranges are split into windows of ``source.chunk_span(timeframe)``,
  fetched oldest first. Each window passes the quality gate of an upload
  (``lab.data.sources.base.gate_chunk``); a refused window stops the download with an
  error naming its rows and times, and nothing of it is stored.
- Validated windows are merged with the stored bars and written atomically (the
  catalog's ``store_bars``), then the progress file is updated; writes are grouped so
  that writing never takes more than about a third of the time (a long 1m download
  does not rewrite its file after every request). On any error the validated windows
  not yet written are written first, so the store keeps every good bar fetched.
- A download killed at any point leaves the store with whole windows only; running
  the same download again (or ``resume`` on its job) fetches only what is missing, and
  ends with the same bars an uninterrupted download stores.
- One download per dataset at a time (an exclusive lock on ``download.lock``).
"""

from __future__ import annotations

import fcntl
import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from lab.core.errors import DataError
from lab.core.files import write_atomic
from lab.core.types import AssetClass
from lab.data.catalog import Catalog, check_symbol
from lab.data.frames import to_utc
from lab.data.quality import assess_quality, explain_moves
from lab.data.download_spec import (CostNotAccepted, DownloadCancelled, DownloadPlan,
                                    DownloadProgress, DownloadResult, DownloadSpec, _merge,
                                    missing_ranges, plan_windows)
from lab.data.sources.base import Source, gate_chunk, get_source, timeframe_delta

__all__ = ["CostNotAccepted", "DownloadCancelled", "DownloadPlan", "DownloadProgress",
           "DownloadResult", "DownloadSpec", "download", "missing_ranges", "plan_download",
           "plan_windows", "refresh", "stored_spec"]

STATE_FILE = "download.json"
LOCK_FILE = "download.lock"


# -- state ------------------------------------------------------------------------------
def _read_state(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_state(folder: Path, state: dict[str, Any]) -> None:
    write_atomic(folder / STATE_FILE,
                 lambda fh: fh.write(json.dumps(state, indent=1).encode("utf-8")))


@contextmanager
def _locked(folder: Path, what: str) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(f"a download of {what} is already running; wait for it or "
                            "cancel it first") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# -- driver -----------------------------------------------------------------------------
def _normalize(spec: DownloadSpec, source: Source) -> DownloadSpec:
    if spec.timeframe not in source.timeframes:
        raise DataError(f"{source.name} does not serve {spec.timeframe!r} bars; choose one "
                        f"of {', '.join(source.timeframes)}")
    asset_class = spec.asset_class or (source.asset_class_of(spec.symbol)
                                        if hasattr(source, "asset_class_of")
                                        else source.default_asset_class)
    try:
        asset_class = AssetClass(asset_class).value
    except ValueError:
        raise DataError(f"unknown asset class {asset_class!r}; use one of "
                        f"{', '.join(a.value for a in AssetClass)}") from None
    start = to_utc(spec.start, "start").isoformat()
    end = to_utc(spec.end, "end").isoformat() if spec.end else None
    default_name = source.store_name(spec.symbol) if hasattr(source, "store_name") \
        else spec.symbol
    return DownloadSpec(spec.source, spec.symbol, spec.timeframe, start, end,
                        check_symbol(spec.store_as or default_name), asset_class,
                        dict(source.options()))


def _check_same_dataset(catalog: Catalog, spec: DownloadSpec) -> dict[str, Any] | None:
    if not catalog.has(spec.store_as, spec.timeframe):
        return None
    meta = catalog.info(spec.store_as, spec.timeframe)
    stored = meta.get("download")
    if stored is None or DownloadSpec.from_dict(stored).identity() != spec.identity():
        where = (f"from {stored['source']} {stored['symbol']} {stored.get('options')}"
                 if stored else f"from {meta.get('source') or 'a file'}")
        raise DataError(f"{spec.store_as} {spec.timeframe} is already stored {where}; store "
                        "this download under another name (--as NAME) or delete that "
                        "dataset first")
    return meta


class _Writer:
    """Merges validated windows into the stored dataset, grouping writes in time."""

    def __init__(self, catalog: Catalog, spec: DownloadSpec, source: Source,
                 folder: Path, state: dict[str, Any], replace: bool = False):
        self.catalog, self.spec, self.source = catalog, spec, source
        self.folder, self.state = folder, state
        self.replace = replace
        self.pending: list[pd.DataFrame] = []
        self.pending_windows: list[tuple[int, int]] = []
        self.events: dict[str, Any] = {}
        self.notes: list[str] = []
        self.last_write_s = 0.0
        self.last_write_at = 0.0
        self.rows = 0
        self.first: str | None = None
        self.last: str | None = None
        if catalog.has(spec.store_as, spec.timeframe) and not replace:
            meta = catalog.info(spec.store_as, spec.timeframe)
            self.rows, self.first, self.last = meta["rows"], meta["first"], meta["last"]
            self.events = dict(meta.get("events") or {})

    def add(self, bars: pd.DataFrame, window: tuple[int, int], events: dict[str, Any],
            notes: list[str]) -> None:
        self.pending.append(bars)
        self.pending_windows.append(window)
        for key, items in events.items():
            merged = {json.dumps(x, sort_keys=True): x for x in self.events.get(key, [])}
            merged.update({json.dumps(x, sort_keys=True): x for x in items})
            self.events[key] = sorted(merged.values(), key=lambda x: str(x.get("date", "")))
        self.notes.extend(n for n in notes if n not in self.notes)

    def due(self) -> bool:
        """Write now? After at least 1 s and 2x the last write's duration."""
        return time.monotonic() - self.last_write_at >= max(1.0, 2.0 * self.last_write_s)

    def flush(self) -> None:
        if not self.pending_windows:
            return
        t0 = time.monotonic()
        spec = self.spec
        new = [b for b in self.pending if len(b)]
        if new:
            parts = []
            if self.catalog.has(spec.store_as, spec.timeframe) and not self.replace:
                parts.append(self.catalog.load(spec.store_as, spec.timeframe))
            parts += new
            merged = pd.concat(parts)
            merged = merged[~merged.index.duplicated(keep="first")].sort_index()
            report = assess_quality(merged, spec.timeframe, spec.asset_class, self.notes,
                                    {"ts_event": "bar open time (UTC)"})
            explain_moves(report, self.events)
            extra = {"download": spec.to_dict()}
            if self.events:
                extra["events"] = self.events
            meta = self.catalog.store_bars(
                merged, spec.store_as, spec.timeframe, spec.asset_class,
                self.source.describe(spec.symbol), self._description(), report, extra)
            self.rows, self.first, self.last = meta["rows"], meta["first"], meta["last"]
            self.replace = False
        covered = [tuple(c) for c in self.state.get("covered", [])] + self.pending_windows
        self.state["covered"] = [list(c) for c in _merge(covered)]
        self.state["spec"] = spec.to_dict()
        _write_state(self.folder, self.state)
        self.pending, self.pending_windows = [], []
        self.last_write_at = time.monotonic()
        self.last_write_s = self.last_write_at - t0

    def _description(self) -> str:
        s = self.spec
        extra = ", ".join(f"{k}={v}" for k, v in s.options.items() if v not in (None, ""))
        return f"{s.source} {s.symbol} {s.timeframe}" + (f" ({extra})" if extra else "")


def download(catalog: Catalog, spec: DownloadSpec, source: Source | None = None, *,
             progress: Callable[[DownloadProgress], None] | None = None,
             cancel: Callable[[], bool] | None = None,
             now: Any = None, replace: bool = False,
             max_cost: float | None = None) -> DownloadResult:
    """Download the bars ``spec`` asks for that the store lacks, window by window.

    Parameters
    ----------
    catalog : Catalog
        Where the bars go (``spec.store_as`` at ``spec.timeframe``).
    spec : DownloadSpec
        Source, its symbol, timeframe, range, store name, asset class, options.
    source : Source, optional
        Built from ``spec`` with ``get_source(spec.source, **spec.options)`` when
        omitted.
    progress : callable, optional
        Called with a ``DownloadProgress`` after each window.
    cancel : callable, optional
        Checked between windows; when it returns True the windows fetched so far are
        stored and ``DownloadCancelled`` is raised.
    now : time, optional
        The present (UTC; default the clock): only bars closed by then are fetched.
    replace : bool
        Fetch the whole range again and replace the stored bars (an adjusted series
        changes backwards when a split or dividend arrives); the first write replaces.
    max_cost : float, optional
        For a source that charges (Databento): the most, in US dollars, the caller
        accepted to pay for this download (after showing ``plan_download``'s cost).
        The cost is asked again before fetching; above ``max_cost`` (or with None)
        nothing is fetched and ``CostNotAccepted`` is raised.

    Returns
    -------
    DownloadResult

    Raises
    ------
    SourceError
        The source failed (network, timeout, refusal, unknown symbol, a request beyond
        its limits); nothing of the failed window is stored, earlier ones are.
    DataValidationError
        A window broke a hard rule of the quality gate (the message names its rows and
        times); nothing of it is stored, earlier ones are.
    DownloadCancelled
        ``cancel`` returned True; finished windows are stored.
    CostNotAccepted
        The source charges and the cost exceeds ``max_cost``; nothing was fetched.
    DataError
        Invalid spec, the dataset is stored from elsewhere, or another download of it
        is running.
    """
    source = source or get_source(spec.source, **spec.options)
    spec = _normalize(spec, source)
    folder = catalog.dataset_dir(spec.store_as, spec.timeframe)
    what = f"{spec.store_as} {spec.timeframe}"
    with _locked(folder, what):
        spec, (state, ranges, windows) = _plan(catalog, spec, source, now, replace)
        cost = None
        if hasattr(source, "estimate_cost") and windows:
            cost = source.estimate_cost(spec.symbol, spec.timeframe, [
                (pd.Timestamp(lo, tz="UTC"), pd.Timestamp(hi, tz="UTC")) for lo, hi in ranges])
            if max_cost is None or cost > max_cost + 1e-9:
                raise CostNotAccepted(cost, source.describe(spec.symbol), max_cost)
        writer = _Writer(catalog, spec, source, folder, state, replace)
        fetched = 0
        name = f"{source.describe(spec.symbol)} {spec.timeframe}"
        try:
            for i, (lo, hi) in enumerate(windows):
                if cancel is not None and cancel():
                    raise DownloadCancelled(
                        f"download of {what} cancelled after {i} of {len(windows)} "
                        "window(s); the finished ones are stored, run it again to resume")
                lo_ts, hi_ts = pd.Timestamp(lo, tz="UTC"), pd.Timestamp(hi, tz="UTC")
                chunk = source.fetch(spec.symbol, spec.timeframe, lo_ts, hi_ts)
                bars = gate_chunk(chunk, name, lo_ts, hi_ts)
                fetched += len(bars)
                writer.add(bars, (lo, hi), chunk.events, chunk.notes)
                if writer.due() or i == len(windows) - 1:
                    writer.flush()
                if progress is not None:
                    progress(DownloadProgress(i + 1, len(windows), fetched, writer.rows
                                              + sum(len(b) for b in writer.pending),
                                              writer.last, f"{lo_ts} .. {hi_ts}"))
        finally:
            writer.flush()          # every validated window fetched so far is kept
    return DownloadResult(spec.store_as, spec.timeframe, fetched, writer.rows, writer.first,
                          writer.last, len(windows), complete=True, cost=cost)


def _plan(catalog: Catalog, spec: DownloadSpec, source: Source, now: Any, replace: bool):
    """(normalized spec, (state, missing ranges, windows)) of a download."""
    spec = _normalize(spec, source)
    step = timeframe_delta(spec.timeframe)
    now_ts = to_utc(now, "now") if now is not None else pd.Timestamp.now(tz="UTC")
    start = to_utc(spec.start, "start")
    closed_end = now_ts - step + pd.Timedelta(1, "ns")  # opens <= now - step are closed
    end = min(to_utc(spec.end, "end"), closed_end) if spec.end else closed_end
    if start >= end:
        raise DataError(f"nothing to download: start {start} is not before the end "
                        f"{end} (bars must have closed by now, {now_ts})")
    source.check_request(spec.symbol, spec.timeframe, start, end, now_ts)
    folder = catalog.dataset_dir(spec.store_as, spec.timeframe)
    meta = _check_same_dataset(catalog, spec)
    state = _read_state(folder)
    if replace or (state.get("spec") and
                   DownloadSpec.from_dict(state["spec"]).identity() != spec.identity()):
        state = {}                          # left by a different download of this name
    covered = [tuple(c) for c in state.get("covered", [])]
    if meta is not None and not replace:
        covered.append((to_utc(meta["first"]).value, (to_utc(meta["last"]) + step).value))
    ranges = missing_ranges(start.value, end.value, covered)
    return spec, (state, ranges, plan_windows(ranges, source.chunk_span(spec.timeframe).value))


def plan_download(catalog: Catalog, spec: DownloadSpec, source: Source | None = None, *,
                  now: Any = None, replace: bool = False) -> DownloadPlan:
    """What ``download`` would fetch, and its cost, without fetching any bars.

    Raises
    ------
    SourceError, DataError
        As for ``download`` (before anything is fetched).
    """
    source = source or get_source(spec.source, **spec.options)
    spec, (_, ranges, windows) = _plan(catalog, spec, source, now, replace)
    stamps = [(pd.Timestamp(lo, tz="UTC"), pd.Timestamp(hi, tz="UTC")) for lo, hi in ranges]
    cost = source.estimate_cost(spec.symbol, spec.timeframe, stamps) \
        if hasattr(source, "estimate_cost") and windows else None
    return DownloadPlan(spec, [(a.isoformat(), b.isoformat()) for a, b in stamps],
                        len(windows), cost)


def stored_spec(catalog: Catalog, symbol: str, timeframe: str) -> DownloadSpec:
    """The download spec a stored dataset came from.

    Raises
    ------
    DataError
        Not stored, or not stored by a download (an uploaded file cannot be refreshed).
    """
    meta = catalog.info(symbol, timeframe)
    if not meta.get("download"):
        raise DataError(f"{symbol} {timeframe} came from {meta.get('source') or 'a file'}, "
                        "not from a download; only downloaded datasets can be refreshed")
    return DownloadSpec.from_dict(meta["download"])


def refresh(catalog: Catalog, symbol: str, timeframe: str | None = None, *,
            progress: Callable[[DownloadProgress], None] | None = None,
            cancel: Callable[[], bool] | None = None, now: Any = None,
            source: Source | None = None,
            max_cost: float | None = None) -> list[DownloadResult]:
    """Append the bars closed since the last stored one, from the same source (a
    source whose prices are adjusted backwards, e.g. Yahoo adjusted for splits and
    dividends, downloads the whole range again instead).

    Parameters
    ----------
    catalog : Catalog
        The store.
    symbol : str
        Stored symbol.
    timeframe : str, optional
        One stored timeframe; default every downloaded timeframe of ``symbol``.
    progress, cancel, now, source, max_cost
        As for ``download``.

    Returns
    -------
    list of DownloadResult
        One per refreshed timeframe.

    Raises
    ------
    DataError
        Nothing downloaded is stored under ``symbol`` (or at ``timeframe``).
    SourceError, DataValidationError, DownloadCancelled
        As for ``download``.
    """
    symbol = check_symbol(symbol)
    ds = catalog.datasets()
    tfs = ds.loc[ds["symbol"] == symbol, "timeframe"].tolist()
    if timeframe is not None:
        tfs = [timeframe] if timeframe in tfs else []
    specs = []
    for tf in tfs:
        meta = catalog.info(symbol, tf)
        if meta.get("download"):
            specs.append(DownloadSpec.from_dict(meta["download"]))
    if not specs:
        catalog.asset_class(symbol)         # not stored at all: the error lists symbols
        if not tfs:
            raise DataError(f"{symbol} is not stored at {timeframe}; stored: "
                            f"{', '.join(ds.loc[ds['symbol'] == symbol, 'timeframe'])}")
        stored_spec(catalog, symbol, tfs[0])  # raises: it came from a file
    out = []
    for spec in specs:
        spec = DownloadSpec(**{**spec.to_dict(), "end": None})
        src = source or get_source(spec.source, **spec.options)
        out.append(download(catalog, spec, src, progress=progress, cancel=cancel, now=now,
                            replace=bool(getattr(src, "adjusts_history", False)),
                            max_cost=max_cost))
    return out
