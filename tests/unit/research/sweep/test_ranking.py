"""The on-disk neighbour sums and the bucketed rank order (``lab.research.sweep``
``neighbours`` and ``ranking``), against numpy on the same rows."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lab.research.sweep.neighbours import SumsFile
from lab.research.sweep.ranking import write_ranked


def test_sums_file_returns_what_was_put_and_zero_elsewhere(tmp_path):
    sums = SumsFile(tmp_path, 1_000)
    rng = np.random.default_rng(7)
    ids = rng.permutation(1_000)[:600]
    total = rng.normal(size=600)
    count = rng.integers(0, 9, size=600)
    for part in np.array_split(np.arange(600), 7):           # batches in any order
        sums.put(ids[part], total[part], count[part])
    query = np.arange(1_000)
    got_total, got_count = sums.get(query)
    want_total, want_count = np.zeros(1_000), np.zeros(1_000, dtype=np.int64)
    want_total[ids], want_count[ids] = total, count
    assert np.array_equal(got_total, want_total)                 # bit for bit
    assert np.array_equal(got_count, want_count) and got_count.dtype == np.int64
    t, c = sums.get(np.array([999, 3, 500]))
    assert np.array_equal(t, want_total[[999, 3, 500]])
    assert np.array_equal(c, want_count[[999, 3, 500]])


@pytest.mark.parametrize("bucket_rows, held_rows", [(7, 10), (50, 1_000), (1_000, 13)])
def test_rows_come_out_in_rank_order_whatever_the_buckets(tmp_path, bucket_rows, held_rows):
    rng = np.random.default_rng(3)
    n = 437
    table = pa.table({"set_id": np.arange(n, dtype=np.int64),
                      "sharpe": rng.normal(size=n),
                      "strategy": [f"s{i % 5}" for i in range(n)]})
    shuffled = table.take(rng.permutation(n))
    unsorted = tmp_path / "unsorted.parquet"
    pq.write_table(shuffled, unsorted, row_group_size=31)        # 15 row groups
    ranks = np.empty(n, dtype=np.int32)
    ranks[np.argsort(-table.column("sharpe").to_numpy(), kind="stable")] = np.arange(n)
    work = tmp_path / "work"
    work.mkdir()
    held = []
    out = tmp_path / "ranked.parquet"
    write_ranked(unsorted, ranks, work, table.schema, out, batch_rows=20,
                 bucket_rows=bucket_rows, held_rows=held_rows, held=held.append)
    got = pq.read_table(out)
    want = table.take(np.argsort(ranks))
    assert got.equals(want)
    meta = pq.ParquetFile(out).metadata
    assert max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) <= 20
    assert max(held) <= max(bucket_rows, held_rows + 31)          # bounded, not n
