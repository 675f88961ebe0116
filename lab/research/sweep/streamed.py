"""Leaderboard, DSR, stability and trials summary of a stored sweep, computed from its
Parquet chunks with DuckDB and in bounded batches: memory does not grow with the number
of sets.

The same numbers as ``lab.research.sweep.leaderboard`` on the whole results frame:

* the DSR's trial count N and per-bar Sharpe variance V of each (symbol, timeframe) are
  DuckDB aggregates over the chunk files (``var_samp``; equal to pandas' ``var`` to
  rounding, about 1e-15 relative);
* the stability's grid neighbours: DuckDB builds each row's integer cell key as
  ``stability`` builds it; then, one grid (strategy, symbol, timeframe, level) at a
  time, the grid's sorted keys and Sharpe ratios are looked up with ``searchsorted``
  for the rows, read in batches of ``BATCH_ROWS``, and the neighbours' Sharpe ratios
  are added in the same order, so the sums are exact (DuckDB self-joins ran out of the
  memory limit on a 15.5 M-row grid);
* the rows are scored chunk by chunk in ``set_id`` order
  (``lab.research.sweep.leaderboard.dsr_columns`` and ``stability_from_sums``), the
  neighbour sums merged in by ``set_id``;
* the ranking (Sharpe, profit factor, total return, all descending, NULLs last, then
  ``set_id`` as the stable sort keeps it) is a DuckDB ``ORDER BY`` of those four
  columns only; the scored rows are dealt into buckets of ``BUCKET_BATCHES *
  BATCH_ROWS`` consecutive ranks (Arrow IPC files) and each bucket is ordered in
  memory. (DuckDB's sort of the whole rows, and its join of 18.7 M rows to the sums,
  ran out of ``MEMORY_LIMIT``.) The rank of every set is held as one int32 array:
  4 bytes a set (75 MB at 18.7 M sets).

The scored rows, in rank order, are cached as ``<sweep>/scored.parquet`` (with
``scored.json`` naming the chunks they cover): a leaderboard for any trade minimum,
filter or length, the full CSV and the MLflow artifacts are read from it batch by batch.
DuckDB runs with ``memory_limit = MEMORY_LIMIT`` on a database file in ``<sweep>/.duckdb-*``
(removed afterwards), so its tables and sorts spill to disk.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd

from lab.core.files import write_atomic
from lab.research.sweep import store
from lab.research.sweep.leaderboard import (arrange_board, dsr_columns, filter_board,
                                            stability_from_sums)

#: Rows per batch read back from DuckDB or from ``scored.parquet``.
BATCH_ROWS = 20_000
#: DuckDB's memory limit for the ranking, joins and aggregates (it spills beyond it).
MEMORY_LIMIT = "192MB"
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
    names = ", ".join("'" + f.as_posix().replace("'", "''") + "'" for f in files)
    con.execute(f"CREATE OR REPLACE VIEW r AS SELECT * FROM read_parquet([{names}])")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
def _stability_table(con, strategies: list[str], param_cols: list[str]) -> None:
    """Create table ``nb(set_id, nb_total, nb_count)``: the sum of the grid neighbours'
    Sharpe ratios (NULL as 0, in the order of ``leaderboard.stability``) and their
    number, for every row of a strategy with parameters."""
    con.execute("CREATE OR REPLACE TABLE nb (set_id BIGINT, nb_total DOUBLE, "
                "nb_count BIGINT)")
    filled = {}
    if param_cols:
        for row in con.execute("SELECT strategy, " + ", ".join(
                f"count({_q(c)})" for c in param_cols) + " FROM r GROUP BY strategy").fetchall():
            filled[row[0]] = [c for c, n in zip(param_cols, row[1:]) if n]
    for strategy in strategies:
        pcols = filled.get(strategy, [])
        if not pcols:
            continue
        groups = con.execute(
            "SELECT DISTINCT symbol, timeframe, coalesce(sl, -1.0), coalesce(tp, -1.0), "
            "coalesce(leverage, -1.0) FROM r WHERE strategy = ? ORDER BY ALL",
            [strategy]).fetchall()
        con.execute("CREATE OR REPLACE TABLE g (symbol VARCHAR, timeframe VARCHAR, "
                    "sl DOUBLE, tp DOUBLE, leverage DOUBLE, gid BIGINT)")
        con.executemany("INSERT INTO g VALUES (?, ?, ?, ?, ?, ?)",
                        [list(row) + [i] for i, row in enumerate(groups)])
        radix, lens = [], []
        for k, c in enumerate(pcols):
            vals = [v for (v,) in con.execute(
                f"SELECT DISTINCT {_q(c)} FROM r WHERE strategy = ? AND isfinite({_q(c)}) "
                f"ORDER BY 1", [strategy]).fetchall()]
            con.execute(f"CREATE OR REPLACE TABLE m{k} (v DOUBLE, i BIGINT)")
            con.executemany(f"INSERT INTO m{k} VALUES (?, ?)",
                            [[float(v), i] for i, v in enumerate(vals)])
            lens.append(len(vals))
            radix.append(len(vals) + 2)
        mult = np.cumprod([1] + radix[:-1]).astype(np.int64).tolist()
        cells = int(np.prod(radix))
        coord = [f"coalesce(m{k}.i, {lens[k] + 1})" for k in range(len(pcols))]
        key = f"g.gid * {cells} + " + " + ".join(f"{c} * {m}" for c, m in zip(coord, mult))
        joins = " ".join(f"LEFT JOIN m{k} ON r.{_q(c)} = m{k}.v" for k, c in enumerate(pcols))
        con.execute(f"""
            CREATE OR REPLACE TABLE t AS
            SELECT r.set_id, g.gid, {key} AS k, coalesce(r.sharpe, 0.0) AS s,
                   {", ".join(f"{c} AS c{k}" for k, c in enumerate(coord))}
            FROM r JOIN g ON r.symbol = g.symbol AND r.timeframe = g.timeframe
                 AND coalesce(r.sl, -1.0) = g.sl AND coalesce(r.tp, -1.0) = g.tp
                 AND coalesce(r.leverage, -1.0) = g.leverage
            {joins}
            WHERE r.strategy = ?""", [strategy])
        coords = ", ".join(f"c{k}" for k in range(len(pcols)))
        reader = con.cursor()                  # reads batches while ``con`` inserts
        try:
            for gid in range(len(groups)):     # one grid (strategy, symbol, level) at a time
                lookup = reader.execute("SELECT k, s FROM t WHERE gid = ? ORDER BY k",
                                        [gid]).fetchnumpy()
                sorted_key = np.asarray(lookup["k"], dtype=np.int64)
                sorted_s = np.asarray(lookup["s"], dtype=float)
                del lookup
                batches = reader.sql(f"SELECT set_id, k, {coords} FROM t "
                                     f"WHERE gid = {int(gid)}").to_arrow_reader(BATCH_ROWS)
                for batch in batches:
                    _held(batch.num_rows)
                    cols = {name: batch.column(i).to_numpy(zero_copy_only=False)
                            for i, name in enumerate(batch.schema.names)}
                    total, count = _neighbour_sums(
                        cols["k"].astype(np.int64), sorted_key, sorted_s,
                        [cols[f"c{k}"].astype(np.int64) for k in range(len(pcols))],
                        mult, lens)
                    sums = pd.DataFrame({"set_id": cols["set_id"].astype(np.int64),
                                         "nb_total": total, "nb_count": count})
                    con.register("nb_part", sums)
                    con.execute("INSERT INTO nb SELECT set_id, nb_total, nb_count "
                                "FROM nb_part")
                    con.unregister("nb_part")
        finally:
            reader.close()
    con.execute("DROP TABLE IF EXISTS t")


def _neighbour_sums(key: np.ndarray, sorted_key: np.ndarray, sorted_s: np.ndarray,
                    coords: list[np.ndarray], mult: list[int],
                    lens: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the grid neighbours' Sharpe ratios and their number, for some rows of one
    grid (one strategy on one symbol, timeframe and level): the same steps in the same
    order as ``leaderboard.stability``, so the sums are equal to the last bit.

    Parameters
    ----------
    key : ndarray, int64, shape (n,)
        The rows' cells on the grid (``sum(coord * mult)`` plus a per-grid offset).
    sorted_key, sorted_s : ndarray, shape (g,)
        Every cell of the grid, sorted, and its Sharpe ratio (missing ones as 0): the
        lookup, 16 bytes per parameter set of the grid.
    coords : list of ndarray, int64, shape (n,)
        Per parameter, the index of the row's value among the strategy's values
        (``lens[k] + 1`` for a missing value: no neighbour).
    mult, lens : list of int
        Key multiplier and number of values of each parameter.
    """
    total = np.zeros(len(key))
    count = np.zeros(len(key), dtype=np.int64)
    if not len(key) or not len(sorted_key):
        return total, count
    for coord, m, n_values in zip(coords, mult, lens):
        for step in (-1, 1):
            moved = coord + step
            ok = (moved >= 0) & (moved < n_values) & (coord < n_values)
            target = key + step * m
            pos = np.minimum(np.searchsorted(sorted_key, target), len(sorted_key) - 1)
            ok &= sorted_key[pos] == target
            total += np.where(ok, sorted_s[pos], 0.0)
            count += ok
    return total, count


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
_WORK_PREFIXES = (".scored-unsorted-", ".scored-buckets-", ".duckdb-", ".scored.parquet.",
                  ".leaderboard.csv.")


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
    fd, name = tempfile.mkstemp(prefix=".scored-unsorted-", suffix=".parquet", dir=path)
    os.close(fd)
    unsorted = Path(name)
    try:
        with connect(path) as con:
            _register(con, files)
            groups = _dsr_groups(con)
            strategies = [s for (s,) in con.execute(
                "SELECT DISTINCT strategy FROM r ORDER BY 1").fetchall()]
            _stability_table(con, strategies, [c for c in columns if c.startswith("param_")])
            # Score the rows chunk by chunk in set_id order, the neighbour sums merged in
            # by set_id (a join of 18.7 M rows ran out of the memory limit) ...
            nb = con.cursor()
            try:
                sums = _SetIdMerge(nb.sql("SELECT set_id, nb_total, nb_count FROM nb "
                                          "ORDER BY set_id").to_arrow_reader(BATCH_ROWS))
                with pq.ParquetWriter(unsorted, arrow_schema, compression="zstd") as writer:
                    for f in files:
                        for batch in pq.ParquetFile(f).iter_batches(BATCH_ROWS):
                            frame = batch.to_pandas()
                            frame["_nb_total"], frame["_nb_count"] = sums.take(
                                frame["set_id"].to_numpy(dtype=np.int64))
                            frame = _score_batch(frame, groups, manifest["columns"])
                            writer.write_table(pa.Table.from_pandas(
                                frame, schema=arrow_schema, preserve_index=False))
                del sums
            finally:
                nb.close()
            # ... then rank them: DuckDB sorts the narrow keys (a sort of the whole
            # rows ran out of its memory limit at 18.7 M rows), the rows are dealt into
            # buckets of consecutive ranks, and each bucket is ordered in memory.
            ranks = _ranks(con, unsorted, int(manifest.get("total_sets") or 0))
        buckets = Path(tempfile.mkdtemp(prefix=".scored-buckets-", dir=path))
        try:
            n_buckets = _deal(unsorted, ranks, buckets, arrow_schema)

            def write(fh) -> None:
                with pq.ParquetWriter(fh, arrow_schema, compression="zstd") as out:
                    for b in range(n_buckets):
                        part = buckets / f"{b}.arrows"
                        if not part.exists():
                            continue
                        with pa.ipc.open_stream(part) as stream:
                            table = stream.read_all()
                        ids = table.column("set_id").to_numpy()
                        table = table.take(np.argsort(ranks[ids], kind="stable"))
                        for start in range(0, table.num_rows, BATCH_ROWS):
                            out.write_table(table.slice(start, BATCH_ROWS))
                        del table
                        part.unlink()

            write_atomic(target, write)
        finally:
            shutil.rmtree(buckets, ignore_errors=True)
    finally:
        unsorted.unlink(missing_ok=True)


#: Rows per bucket of consecutive ranks (ordered in memory), in ``BATCH_ROWS``.
BUCKET_BATCHES = 4
#: Rows buffered over all buckets while dealing, in ``BATCH_ROWS``.
HELD_BATCHES = 4


def _ranks(con, unsorted: Path, total_sets: int) -> np.ndarray:
    """0-based rank of every set_id (int32, indexed by set_id; -1 for absent ones):
    DuckDB sorts (set_id, sharpe, profit_factor, total_return) only."""
    top = con.execute(f"SELECT max(set_id) FROM read_parquet('{unsorted.as_posix()}')"
                      ).fetchall()[0][0]
    ranks = np.full(max(total_sets, int(top if top is not None else -1) + 1), -1,
                    dtype=np.int32 if total_sets < 2**31 - 1 else np.int64)
    reader = con.sql(f"""
        SELECT set_id FROM read_parquet('{unsorted.as_posix()}')
        ORDER BY sharpe DESC NULLS LAST, profit_factor DESC NULLS LAST,
                 total_return DESC NULLS LAST, set_id""").to_arrow_reader(BATCH_ROWS)
    done = 0
    for batch in reader:
        ids = batch.column(0).to_numpy()
        ranks[ids] = np.arange(done, done + len(ids))
        done += len(ids)
    return ranks


def _deal(unsorted: Path, ranks: np.ndarray, folder: Path, schema) -> int:
    """Write the rows of ``unsorted`` into ``folder/<bucket>.arrows`` by rank
    (``BUCKET_BATCHES * BATCH_ROWS`` consecutive ranks a bucket); returns the number
    of buckets. All buckets together buffer at most ``HELD_BATCHES * BATCH_ROWS`` rows
    (plus one batch) before they write."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = BUCKET_BATCHES * BATCH_ROWS
    n_buckets = int(ranks.max()) // size + 1 if len(ranks) and ranks.max() >= 0 else 0
    writers: dict[int, Any] = {}
    held: dict[int, list] = {}
    rows: dict[int, int] = {}

    # Arrow IPC streams, not Parquet: a Parquet writer keeps every row group's
    # metadata until it closes (1.1 GB over 94 buckets of the mega sweep).
    options = pa.ipc.IpcWriteOptions(compression="zstd")

    def flush(b: int) -> None:
        if b not in writers:
            writers[b] = pa.ipc.new_stream(str(folder / f"{b}.arrows"), schema,
                                           options=options)
        writers[b].write_table(pa.concat_tables(held.pop(b)))
        rows.pop(b)

    try:
        # One row group at a time from a fresh reader (``iter_batches`` keeps the
        # buffers of the whole file alive; see ``iter_board``).
        for group in range(pq.ParquetFile(unsorted).metadata.num_row_groups):
            table = pq.ParquetFile(unsorted).read_row_group(group)
            bucket = ranks[table.column("set_id").to_numpy()] // size
            for b in np.unique(bucket):
                part = table.filter(pa.array(bucket == b))
                held.setdefault(int(b), []).append(part)
                rows[int(b)] = rows.get(int(b), 0) + part.num_rows
            if sum(rows.values()) >= HELD_BATCHES * BATCH_ROWS:   # all buckets together
                for b in list(held):
                    flush(b)
        for b in list(held):
            flush(b)
    finally:
        for w in writers.values():
            w.close()
    return n_buckets


class _SetIdMerge:
    """Values of a stream of ``(set_id, nb_total, nb_count)`` batches sorted by
    ``set_id``, taken for ascending runs of set_ids (0 and 0 where a set has none)."""

    def __init__(self, reader) -> None:
        self._reader = iter(reader)
        self._ids = np.empty(0, dtype=np.int64)
        self._tot = np.empty(0)
        self._cnt = np.empty(0, dtype=np.int64)

    def take(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(ids):
            return np.empty(0), np.empty(0, dtype=np.int64)
        last = ids[-1]
        while not len(self._ids) or self._ids[-1] < last:
            batch = next(self._reader, None)
            if batch is None:
                break
            cols = [batch.column(i).to_numpy(zero_copy_only=False) for i in range(3)]
            self._ids = np.concatenate([self._ids, cols[0].astype(np.int64)])
            self._tot = np.concatenate([self._tot, cols[1].astype(float)])
            self._cnt = np.concatenate([self._cnt, cols[2].astype(np.int64)])
        pos = np.minimum(np.searchsorted(self._ids, ids), max(0, len(self._ids) - 1))
        hit = (self._ids[pos] == ids) if len(self._ids) else np.zeros(len(ids), bool)
        total = np.where(hit, self._tot[pos] if len(self._ids) else 0.0, 0.0)
        count = np.where(hit, self._cnt[pos] if len(self._ids) else 0, 0).astype(np.int64)
        keep = np.searchsorted(self._ids, last, side="right")
        self._ids, self._tot, self._cnt = (a[keep:] for a in (self._ids, self._tot,
                                                             self._cnt))
        return total, count


def _score_batch(frame: pd.DataFrame, groups, dtypes: Mapping[str, str]) -> pd.DataFrame:
    _held(len(frame))
    total = frame.pop("_nb_total").to_numpy(dtype=float)
    count = frame.pop("_nb_count").to_numpy(dtype=np.int64)
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
