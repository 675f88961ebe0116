"""Rank order of a stored sweep's scored rows, in memory bounded by a bucket of rows.

The leaderboard's order is Sharpe, profit factor, total return (all descending, NULLs
last), then ``set_id`` (as a stable sort keeps it). DuckDB sorts those four columns only
(``rank_array``: 12 s and 283 MB for 18.7 M rows; its sort of the whole 57-column rows
ran out of any memory limit below 0.5 GB); the rank of every set is held as one int32
array (4 bytes a set, 75 MB at 18.7 M sets). ``write_ranked`` then reads the rows once,
deals them into buckets of consecutive ranks (slices appended to one Arrow IPC file,
each recorded under its bucket), and writes the buckets in order, each ordered in
memory: two sequential passes, at most ``held_rows`` rows dealt and one bucket ordered
at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from lab.core.memory import trim_memory
from lab.core.sql import literal


def rank_array(con, unsorted: Path, total_sets: int, batch_rows: int) -> np.ndarray:
    """0-based rank of every set_id.

    Parameters
    ----------
    con : duckdb connection
    unsorted : Path
        Parquet file of scored rows (any order) with ``set_id``, ``sharpe``,
        ``profit_factor`` and ``total_return``.
    total_sets : int
        Planned sets (0 when unknown: the largest ``set_id`` + 1 is used).
    batch_rows : int
        Rows read back from DuckDB at a time.

    Returns
    -------
    ndarray, int32 (int64 beyond 2**31 - 1 sets), indexed by set_id
        -1 for a set_id absent from ``unsorted``.
    """
    src = literal(unsorted.as_posix())
    top = con.execute(f"SELECT max(set_id) FROM read_parquet({src})").fetchall()[0][0]
    size = max(int(total_sets), int(top if top is not None else -1) + 1)
    ranks = np.full(size, -1, dtype=np.int32 if size < 2**31 - 1 else np.int64)
    reader = con.sql(f"""
        SELECT set_id FROM read_parquet({src})
        ORDER BY sharpe DESC NULLS LAST, profit_factor DESC NULLS LAST,
                 total_return DESC NULLS LAST, set_id""").to_arrow_reader(batch_rows)
    done = 0
    for batch in reader:
        ids = batch.column(0).to_numpy()
        ranks[ids] = np.arange(done, done + len(ids))
        done += len(ids)
    return ranks


def write_ranked(unsorted: Path, ranks: np.ndarray, work: Path, schema, out,
                 batch_rows: int, bucket_rows: int, held_rows: int,
                 held: Callable[[int], None] = lambda n: None) -> None:
    """Write the rows of ``unsorted`` to the Parquet file ``out`` in rank order.

    Parameters
    ----------
    unsorted : Path
        Parquet file of the rows, any order (read one row group at a time).
    ranks : ndarray
        ``rank_array`` of those rows.
    work : Path
        An existing folder for the dealt rows (``dealt.arrows``, about the size of the
        rows LZ4-compressed; removed by the caller).
    schema : pyarrow.Schema
        Of ``unsorted`` and ``out``.
    out : path or writable binary file
    batch_rows : int
        Rows per row group of ``out``.
    bucket_rows : int
        Consecutive ranks per bucket: the rows ordered in memory at once.
    held_rows : int
        Rows dealt in memory before they are appended to the work file.
    held : callable, optional
        Called with the number of rows held at once.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    top = int(ranks.max()) if len(ranks) else -1
    n_buckets = top // bucket_rows + 1 if top >= 0 else 0
    parts: list[list[int]] = [[] for _ in range(n_buckets)]   # batch numbers per bucket
    dealt = Path(work) / "dealt.arrows"
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.OSFile(str(dealt), "wb") as sink, \
            pa.ipc.new_file(sink, schema, options=options) as writer:
        pending: dict[int, list] = {}
        count = {"rows": 0, "batches": 0}

        def flush() -> None:
            for b in sorted(pending):
                for batch in pa.concat_tables(pending[b]).combine_chunks().to_batches():
                    writer.write_batch(batch)
                    parts[b].append(count["batches"])
                    count["batches"] += 1
            pending.clear()
            count["rows"] = 0
            trim_memory()

        for group in range(pq.ParquetFile(unsorted).metadata.num_row_groups):
            # a fresh reader per row group: ``iter_batches`` keeps a whole file's buffers
            table = pq.ParquetFile(unsorted).read_row_group(group)
            bucket = ranks[table.column("set_id").to_numpy()] // bucket_rows
            order = np.argsort(bucket, kind="stable")
            table, bucket = table.take(order), bucket[order]
            cuts = np.flatnonzero(np.diff(bucket)) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(bucket)]):
                pending.setdefault(int(bucket[lo]), []).append(table.slice(lo, hi - lo))
            count["rows"] += table.num_rows
            held(count["rows"])
            del table
            if count["rows"] >= held_rows:
                flush()
        flush()

    # Read back with plain reads, not a memory map (mapped pages would count as this
    # process's memory until the whole file is unmapped).
    with pa.OSFile(str(dealt), "rb") as source, \
            pq.ParquetWriter(out, schema, compression="zstd") as target:
        reader = pa.ipc.open_file(source)
        for numbers in parts:
            if not numbers:
                continue
            table = pa.Table.from_batches([reader.get_batch(i) for i in numbers], schema)
            held(table.num_rows)
            ids = table.column("set_id").to_numpy()
            table = table.take(np.argsort(ranks[ids], kind="stable"))
            for start in range(0, table.num_rows, batch_rows):
                target.write_table(table.slice(start, batch_rows))
            del table
            trim_memory()
