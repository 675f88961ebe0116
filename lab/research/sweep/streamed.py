"""Leaderboard, DSR, stability and trials summary of a stored sweep, computed from its
Parquet chunks with DuckDB and in bounded batches: memory does not grow with the number
of sets.

The same numbers as ``lab.research.sweep.leaderboard`` on the whole results frame:

* the DSR's trial count N and per-bar Sharpe variance V of each (symbol, timeframe) are
  DuckDB aggregates over the chunk files (``var_samp``; equal to pandas' ``var`` to
  rounding, about 1e-15 relative);
* the stability's grid neighbours: one grid at a time with numpy, equal to the last
  bit (``lab.research.sweep.neighbours``), the sums kept in files by ``set_id``;
* the rows are scored chunk by chunk in ``set_id`` order
  (``lab.research.sweep.leaderboard.dsr_columns`` and ``stability_from_sums``) into an
  unsorted work file;
* the ranking (Sharpe, profit factor, total return, all descending, NULLs last, then
  ``set_id`` as the stable sort keeps it): DuckDB sorts those four columns only and the
  rows are written in rank order a bucket of ``BUCKET_BATCHES * BATCH_ROWS`` ranks at a
  time (``lab.research.sweep.ranking``).

The work files (neighbour sums, unsorted and dealt rows: about 2.5 times the chunks'
size) are in a ``<sweep>/.scored-work-*`` folder, removed afterwards; a killed scoring's
are removed by the next one once unchanged for ``STALE_WORK_S``. Freed memory is given
back to the system between chunks and buckets (``lab.core.memory.trim_memory``).

The scored rows, in rank order, are cached as ``<sweep>/scored.parquet`` (with
``scored.json`` naming the chunks they cover): a leaderboard for any trade minimum,
filter or length, the full CSV and the MLflow artifacts are read from it batch by batch.
DuckDB runs with ``memory_limit = MEMORY_LIMIT`` on a database file in ``<sweep>/.duckdb-*``
(removed afterwards), so its tables and sorts spill to disk.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd

from lab.core.files import write_atomic
from lab.core.memory import trim_memory
from lab.core.sql import literal
from lab.research.sweep import store
from lab.research.sweep.leaderboard import (arrange_board, dsr_columns, filter_board,
                                            stability_from_sums)
from lab.research.sweep.neighbours import SumsFile, write_sums
from lab.research.sweep.ranking import rank_array, write_ranked

#: Rows per batch read back from DuckDB or from ``scored.parquet``.
BATCH_ROWS = 20_000
#: DuckDB's memory limit for the ranking, joins and aggregates (it spills beyond it).
MEMORY_LIMIT = "192MB"
#: DuckDB's memory limit for the sort of the ranking keys: as fast as with
#: ``MEMORY_LIMIT`` (7-8 s for 18.7 M rows) and ~110 MB less at its peak.
RANK_MEMORY_LIMIT = "64MB"
SCORED = "scored.parquet"
SCORED_DOC = "scored.json"
#: Bump when the scored columns or their computation change (old caches are rebuilt).
SCORE_VERSION = 1
SCORE_COLUMNS = ["sharpe_bar", "psr", "dsr", "min_trl", "stability", "neighbours",
                 "neighbour_sharpe"]
#: Largest number of rows any function here held in memory at once since the last
#: ``reset_peak_rows()`` (what the bounded-memory test asserts on).
PEAK = {"rows": 0}


def reset_peak_rows() -> None:
    """Set ``PEAK["rows"]`` to 0."""
    PEAK["rows"] = 0


def _held(n: int) -> None:
    PEAK["rows"] = max(PEAK["rows"], int(n))


def chunk_files(path: Path, manifest: dict) -> list[Path]:
    """Files of the finished chunks, in plan (``set_id``) order."""
    done = store.done_chunks(path, manifest)
    return [store.chunk_path(path, c["id"]) for c in manifest["chunks"] if c["id"] in done]


@contextmanager
def connect(path: Path, memory_limit: str = MEMORY_LIMIT, threads: int = 1):
    """A DuckDB connection limited to ``memory_limit``: its database file and spill
    files are in a ``<path>/.duckdb-*`` folder of its own (removed on exit)."""
    import duckdb

    Path(path).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".duckdb-", dir=path))   # one per connection
    con = duckdb.connect(str(tmp / "work.duckdb"))  # on disk: tables leave memory too
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{tmp.as_posix()}'")
        con.execute(f"SET threads = {int(threads)}")
        con.execute("SET preserve_insertion_order = false")
        yield con
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _register(con, files: list[Path]) -> None:
    names = ", ".join(literal(f.as_posix()) for f in files)
    con.execute(f"CREATE OR REPLACE VIEW r AS SELECT * FROM read_parquet([{names}])")


# -- aggregates ------------------------------------------------------------------------
def _dsr_groups(con) -> dict[tuple[str, str], tuple[float, float]]:
    """(symbol, timeframe) -> (N rows, sample variance of the per-bar Sharpe)."""
    rows = con.execute(
        "SELECT symbol, timeframe, count(*), var_samp(sharpe / sqrt(periods_per_year)), "
        "count(sharpe / sqrt(periods_per_year)) FROM r GROUP BY symbol, timeframe").fetchall()
    return {(s, tf): (float(n), float(v) if c > 1 and v is not None else 0.0)
            for s, tf, n, v, c in rows}


def trials_summary(sweep) -> pd.DataFrame:
    """``lab.research.sweep.leaderboard.trials_summary`` of a stored sweep, from its
    chunks (one DuckDB aggregate; nothing per row is held).

    Parameters
    ----------
    sweep : SweepResult
        Uses ``path`` and ``manifest``.

    Returns
    -------
    DataFrame
        As ``trials_summary``.
    """
    from lab.metrics.overfitting import expected_max_sharpe

    cols = ["symbol", "timeframe", "trials", "with_sharpe", "sharpe_variance_bar",
            "expected_max_sharpe", "best_sharpe", "periods_per_year", "bars"]
    files = chunk_files(sweep.path, sweep.manifest)
    if not files:
        return pd.DataFrame(columns=cols)
    with connect(sweep.path) as con:
        _register(con, files)
        # medians from value counts (few distinct values): exact, and no aggregate
        # holds a value per row
        med = {}
        for col in ("periods_per_year", "bars"):
            hist = con.execute(f"SELECT symbol, timeframe, {col}, count(*) FROM r "
                               f"WHERE {col} IS NOT NULL GROUP BY ALL").fetchall()
            frame = pd.DataFrame(hist, columns=["symbol", "timeframe", "v", "n"])
            for key, g in frame.groupby(["symbol", "timeframe"]):
                med.setdefault(key, {})[col] = _weighted_median(g["v"], g["n"])
        con.execute("CREATE OR REPLACE TABLE med (symbol VARCHAR, timeframe VARCHAR, "
                    "ppy DOUBLE)")
        con.executemany("INSERT INTO med VALUES (?, ?, ?)",
                        [[k[0], k[1], v.get("periods_per_year")] for k, v in med.items()])
        rows = []
        for symbol, tf, n, finite, var, best in con.execute("""
                SELECT r.symbol, r.timeframe, count(*),
                       count(*) FILTER (WHERE isfinite(r.sharpe / sqrt(med.ppy))),
                       var_samp(r.sharpe / sqrt(med.ppy))
                           FILTER (WHERE isfinite(r.sharpe / sqrt(med.ppy))),
                       max(r.sharpe)
                FROM r JOIN med ON r.symbol = med.symbol AND r.timeframe = med.timeframe
                GROUP BY r.symbol, r.timeframe ORDER BY r.symbol, r.timeframe""").fetchall():
            m = med[(symbol, tf)]
            rows.append((symbol, tf, n, finite, var, best, m.get("periods_per_year"),
                         m.get("bars", np.nan)))
    out = []
    for symbol, tf, n, finite, var, best, ppy, bars in rows:
        var = float(var) if finite > 1 and var is not None else 0.0
        out.append({"symbol": symbol, "timeframe": tf, "trials": int(n),
                    "with_sharpe": int(finite), "sharpe_variance_bar": var,
                    "expected_max_sharpe": float(expected_max_sharpe(int(n), var))
                    * np.sqrt(float(ppy)),
                    "best_sharpe": float(best) if finite and best is not None else np.nan,
                    "periods_per_year": float(ppy), "bars": float(bars)})
    return pd.DataFrame(out, columns=cols)


def _weighted_median(values: pd.Series, counts: pd.Series) -> float:
    """Median of ``values`` each repeated ``counts`` times (pandas' rule: the mean of
    the two middle values for an even count)."""
    order = np.argsort(values.to_numpy(dtype=float), kind="stable")
    v = values.to_numpy(dtype=float)[order]
    c = np.cumsum(counts.to_numpy(dtype=np.int64)[order])
    total = int(c[-1])
    lo = v[np.searchsorted(c, (total - 1) // 2, side="right")]
    hi = v[np.searchsorted(c, total // 2, side="right")]
    return float((lo + hi) / 2.0)


# -- stability -------------------------------------------------------------------------
# -- scoring ---------------------------------------------------------------------------
def _scored_doc(files: list[Path]) -> dict:
    return {"version": SCORE_VERSION, "chunks": [f.stem for f in files]}


def scored_path(sweep) -> Path:
    """``<sweep>/scored.parquet``, (re)built when missing or older than the chunks:
    every result row with ``SCORE_COLUMNS``, in rank order (Sharpe, profit factor, total
    return, all descending, NaN last; ties by ``set_id``).

    Parameters
    ----------
    sweep : SweepResult

    Returns
    -------
    Path
    """
    path = Path(sweep.path)
    files = chunk_files(path, sweep.manifest)
    target, doc_path = path / SCORED, path / SCORED_DOC
    want = _scored_doc(files)
    try:
        if target.exists() and json.loads(doc_path.read_text()) == want:
            return target
    except (OSError, ValueError):
        pass
    _write_scored(path, sweep.manifest, files, target)
    write_atomic(doc_path, lambda fh: fh.write(json.dumps(want).encode()))
    return target


#: Work files of a scoring that stopped (killed) are removed after this many seconds
#: without a change (a scoring of 18.7 M rows writes its files for about 25 minutes).
STALE_WORK_S = 3 * 3600
_WORK_PREFIXES = (".scored-work-", ".scored-unsorted-", ".scored-buckets-", ".duckdb-",
                  ".scored.parquet.", ".leaderboard.csv.")


def remove_stale_work(path: Path, older_than_s: float = STALE_WORK_S) -> list[Path]:
    """Remove the temporary files and folders a killed scoring left in ``path``
    (unsorted rows, rank buckets, DuckDB spill folders, a half-written
    ``scored.parquet``) that have not changed for ``older_than_s`` seconds; a scoring
    running now in another process keeps writing its own, so they stay.

    Returns
    -------
    list of Path
        What was removed.
    """
    import time

    removed = []
    now = time.time()
    for item in Path(path).glob(".*"):
        if not item.name.startswith(_WORK_PREFIXES):
            continue
        try:
            newest = max([item.stat().st_mtime] + [c.stat().st_mtime for c in item.rglob("*")]
                         if item.is_dir() else [item.stat().st_mtime])
        except OSError:
            continue
        if now - newest < older_than_s:
            continue
        if item.is_dir():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)
        removed.append(item)
    return removed


def _write_scored(path: Path, manifest: dict, files: list[Path], target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(manifest["columns"])
    schema = store.empty_results(manifest["columns"])
    for c in SCORE_COLUMNS:
        schema[c] = pd.Series(dtype="int64" if c == "neighbours" else "float64")
    arrow_schema = pa.Schema.from_pandas(schema, preserve_index=False)
    if not files:
        write_atomic(target, lambda fh: pq.write_table(arrow_schema.empty_table(), fh))
        return
    remove_stale_work(path)
    work = Path(tempfile.mkdtemp(prefix=".scored-work-", dir=path))
    unsorted = work / "unsorted.parquet"
    try:
        # Three steps, each with its own DuckDB connection: a connection's buffer pool
        # keeps up to MEMORY_LIMIT of cached pages until it closes (~190 MB held through
        # the scoring of the 18.7 M-set mega sweep when one connection served all).
        with connect(path) as con:
            _register(con, files)
            groups = _dsr_groups(con)
            strategies = [s for (s,) in con.execute(
                "SELECT DISTINCT strategy FROM r ORDER BY 1").fetchall()]
            n_sets = max(int(manifest.get("total_sets") or 0), 1 + int(
                con.execute("SELECT coalesce(max(set_id), -1) FROM r").fetchone()[0]))
            sums = SumsFile(work, n_sets)
            write_sums(con, strategies, [c for c in columns if c.startswith("param_")],
                       sums, BATCH_ROWS, _held)
        trim_memory()
        # Score the rows chunk by chunk in set_id order, their neighbour sums read from
        # the sums file (a join of 18.7 M rows ran out of DuckDB's memory limit) ...
        with pq.ParquetWriter(unsorted, arrow_schema, compression="zstd") as writer:
            for f in files:
                for batch in pq.ParquetFile(f).iter_batches(BATCH_ROWS):
                    frame = batch.to_pandas()
                    total, count = sums.get(frame["set_id"].to_numpy(dtype=np.int64))
                    frame = _score_batch(frame, groups, manifest["columns"], total, count)
                    writer.write_table(pa.Table.from_pandas(
                        frame, schema=arrow_schema, preserve_index=False))
                trim_memory()
        # ... then rank them (``lab.research.sweep.ranking``).
        with connect(path, RANK_MEMORY_LIMIT) as con:
            ranks = rank_array(con, unsorted, int(manifest.get("total_sets") or 0),
                               BATCH_ROWS)
        trim_memory()
        write_atomic(target, lambda fh: write_ranked(
            unsorted, ranks, work, arrow_schema, fh, BATCH_ROWS,
            BUCKET_BATCHES * BATCH_ROWS, HELD_BATCHES * BATCH_ROWS, _held))
    finally:
        shutil.rmtree(work, ignore_errors=True)


#: Rows per bucket of consecutive ranks (ordered in memory at once), in ``BATCH_ROWS``.
BUCKET_BATCHES = 4
#: Rows dealt in memory before they are appended to the work file, in ``BATCH_ROWS``.
HELD_BATCHES = 4


def _score_batch(frame: pd.DataFrame, groups, dtypes: Mapping[str, str], total: np.ndarray,
                 count: np.ndarray) -> pd.DataFrame:
    _held(len(frame))
    for c, d in dtypes.items():
        if d != "str":
            frame[c] = frame[c].astype(d)
    keys = list(zip(frame["symbol"], frame["timeframe"]))
    n = np.array([groups[k][0] for k in keys], dtype=float)
    var = np.array([groups[k][1] for k in keys], dtype=float)
    dsr_columns(frame, n, var)
    stab = stability_from_sums(frame["sharpe"].to_numpy(dtype=float), total, count,
                               frame.index)
    for c in stab.columns:
        frame[c] = stab[c]
    return frame


# -- leaderboards ----------------------------------------------------------------------
def iter_board(sweep, min_trades: int | None = None,
               batch_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """The ranked rows of a stored sweep, best first, in frames of at most
    ``batch_rows`` rows (default ``BATCH_ROWS``) with a 1-based ``rank`` (rows with
    fewer than ``min_trades`` trades skipped; default the spec's ``min_trades``),
    columns as ``leaderboard``. ``scored.parquet`` is read one row group at a time.
    """
    import pyarrow.parquet as pq

    m = sweep.spec.min_trades if min_trades is None else int(min_trades)
    rank = 0
    path = scored_path(sweep)
    size = int(batch_rows or BATCH_ROWS)
    # One row group at a time from a fresh reader: ParquetFile.iter_batches kept
    # Arrow buffers alive across the whole file (+280 MB over 1.87 M rows).
    for group in range(pq.ParquetFile(path).metadata.num_row_groups):
        table = pq.ParquetFile(path).read_row_group(group)
        _held(table.num_rows)
        for start in range(0, table.num_rows, size):
            frame = _ranked(table.slice(start, size).to_pandas(), m, rank)
            rank += len(frame)
            yield frame
        del table


def _ranked(frame: pd.DataFrame, m: int, rank: int) -> pd.DataFrame:
    """The rows of ``frame`` with at least ``m`` trades, ranked from ``rank + 1``, in
    the column order of ``leaderboard``."""
    frame = frame[frame["trades"].fillna(0) >= m].reset_index(drop=True)
    frame.insert(0, "rank", np.arange(rank + 1, rank + len(frame) + 1))
    return arrange_board(frame, 0, m, 0, 0)


def counts(sweep, min_trades: int | None = None) -> dict[str, int]:
    """``trials`` (rows of the finished chunks) and ``ranked`` (rows with at least
    ``min_trades`` trades) of a stored sweep, counted by DuckDB."""
    m = sweep.spec.min_trades if min_trades is None else int(min_trades)
    files = chunk_files(sweep.path, sweep.manifest)
    if not files:
        return {"trials": 0, "ranked": 0}
    with connect(sweep.path) as con:
        _register(con, files)
        trials, ranked = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE coalesce(trades, 0) >= ?) FROM r",
            [m]).fetchone()
    return {"trials": int(trials), "ranked": int(ranked)}


def leaderboard(sweep, *, min_trades: int | None = None,
                filters: Mapping[str, Any] | None = None,
                top: int | None = None) -> pd.DataFrame:
    """``lab.research.sweep.leaderboard.leaderboard(sweep.results, ...)`` computed from
    the stored chunks: the same rows, ranks, columns and ``attrs``, but only the
    ``top`` rows kept (all ranked rows when None, which holds them all in memory).

    Parameters
    ----------
    sweep : SweepResult
    min_trades : int, optional
        Default the spec's ``min_trades``.
    filters : mapping, optional
        As ``leaderboard``; applied after ranking.
    top : int, optional
        Rows to return.

    Returns
    -------
    DataFrame
        As ``leaderboard``.

    Raises
    ------
    KeyError, ValueError
        As ``filter_board``.
    """
    m = sweep.spec.min_trades if min_trades is None else int(min_trades)
    n = counts(sweep, m)
    kept: list[pd.DataFrame] = []
    have, passed = 0, 0
    for frame in iter_board(sweep, m):
        shown = filter_board(frame, filters)
        passed += len(shown)
        if top is None or have < top:
            part = shown if top is None else shown.head(int(top) - have)
            kept.append(part)
            have += len(part)
            _held(have + len(frame))
        elif not filters:
            break
    if kept:
        board = pd.concat(kept, ignore_index=True)
    else:
        import pyarrow.parquet as pq

        board = pq.read_schema(scored_path(sweep)).empty_table().to_pandas()
        board.insert(0, "rank", pd.Series(dtype="int64"))
    filtered = passed if filters else n["ranked"]
    return arrange_board(board, n["trials"], m, n["ranked"], filtered)


def write_board(sweep, csv_path: Path | None = None, parquet_path: Path | None = None,
                min_trades: int | None = None) -> None:
    """Write every ranked row (``iter_board``) to a CSV and/or a Parquet file, batch by
    batch (each file written atomically)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if csv_path is not None:
        def csv(fh) -> None:
            first = True
            for frame in iter_board(sweep, min_trades):
                fh.write(frame.to_csv(index=False, header=first).encode("utf-8"))
                first = False
        write_atomic(Path(csv_path), csv)
    if parquet_path is not None:
        def parquet(fh) -> None:
            writer = None
            for frame in iter_board(sweep, min_trades):
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(fh, table.schema, compression="zstd")
                writer.write_table(table.cast(writer.schema))
            if writer is not None:
                writer.close()
        write_atomic(Path(parquet_path), parquet)


def write_results(sweep, parquet_path: Path) -> None:
    """Every result row of the finished chunks, in ``set_id`` order, copied chunk by
    chunk into one Parquet file (written atomically)."""
    import pyarrow.parquet as pq

    files = chunk_files(sweep.path, sweep.manifest)

    def write(fh) -> None:
        if not files:
            import pyarrow as pa

            pq.write_table(pa.Table.from_pandas(
                store.empty_results(sweep.manifest["columns"]), preserve_index=False), fh)
            return
        schema = pq.read_schema(files[0])
        with pq.ParquetWriter(fh, schema, compression="zstd") as writer:
            for f in files:
                table = pq.read_table(f)
                _held(table.num_rows)
                writer.write_table(table.cast(schema))

    write_atomic(Path(parquet_path), write)


def write_artifacts(sweep, folder: Path, min_trades: int | None = None) -> None:
    """``leaderboard.parquet``, ``leaderboard.csv`` (every ranked row) and
    ``results.parquet`` (every row) of a stored sweep into ``folder``, batch by batch
    (the ``write_tables`` of ``lab.tracking.sweeps.track_sweep``)."""
    folder = Path(folder)
    write_board(sweep, csv_path=folder / "leaderboard.csv",
                parquet_path=folder / "leaderboard.parquet", min_trades=min_trades)
    write_results(sweep, folder / "results.parquet")
