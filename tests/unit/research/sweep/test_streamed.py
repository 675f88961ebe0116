"""The leaderboard, DSR, stability, trials summary and PBO computed from a sweep's Parquet
chunks (``lab.research.sweep.streamed``, DuckDB and bounded batches) equal the in-memory
ones (``lab.research.sweep.leaderboard`` on the whole results frame) on a real sweep, and
the rows held at once do not grow with the sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab.core.config import Commission, ExecutionConfig
from lab.research.sweep import executors, run_sweep, streamed
from lab.research.sweep.leaderboard import leaderboard, trials_summary

BTC = ("BTCUSD_COINBASE", "1h")
SPX = ("SPX", "1d")
CONFIG = ExecutionConfig(direction="both", commission=Commission(rate=0.001),
                         slippage=0.0005)


def spec(**over):
    from lab.research.sweep import SweepSpec

    args = dict(strategies=("sma_cross", "rsi", "buy_and_hold"), symbols=(BTC, SPX),
                grids={"sma_cross": {"fast": (5, 10, 15, 20), "slow": (20, 40, 60)},
                       "rsi": {"period": (7, 14), "lower": (25, 30), "upper": (70, 75)}},
                sl=(None, 0.03), tp=(None, 0.08), start="2017-01-01", end="2018-06-30",
                config=CONFIG)
    args.update(over)
    return SweepSpec(**args)


@pytest.fixture(scope="module")
def sweep(sample_catalog, tmp_path_factory):
    root = tmp_path_factory.mktemp("streamed")
    return run_sweep(spec(), sweep_id="s", root=root, workers=0, chunk_size=12,
                     catalog=sample_catalog)


def _same(a: pd.DataFrame, b: pd.DataFrame, attrs: bool = True) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        if pd.api.types.is_float_dtype(a[c]):
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float),
                                       rtol=1e-12, atol=1e-15, equal_nan=True, err_msg=c)
        else:
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), c
    if attrs:
        assert a.attrs == b.attrs


def test_run_sweep_does_not_load_the_results(sweep):
    assert not sweep.loaded
    assert sweep.done_sets == sweep.spec.count()["total"] > 0
    assert len(sweep.manifest["chunks"]) > 10       # many chunks: a real streaming case


@pytest.mark.parametrize("min_trades", [0, 3, 20])
def test_streamed_leaderboard_equals_in_memory(sweep, min_trades):
    want = leaderboard(sweep.results, min_trades=min_trades)
    got = streamed.leaderboard(sweep, min_trades=min_trades)
    assert want["stability"].notna().any() and want["dsr"].notna().any()
    _same(got, want)
    assert got["set_id"].tolist() == want["set_id"].tolist()     # same order, exactly
    np.testing.assert_array_equal(got["stability"].to_numpy(), want["stability"].to_numpy())
    np.testing.assert_array_equal(got["neighbours"].to_numpy(), want["neighbours"].to_numpy())


def test_streamed_top_and_filters_equal_in_memory(sweep):
    filters = {"strategy": ["sma_cross"], "max_drawdown": (-0.5, None), "fast": (5, 15)}
    want = leaderboard(sweep.results, min_trades=3, filters=filters, top=7)
    got = streamed.leaderboard(sweep, min_trades=3, filters=filters, top=7)
    assert 0 < len(got) <= 7
    _same(got, want)
    _same(streamed.leaderboard(sweep, top=5), leaderboard(sweep.results, min_trades=3,
                                                          top=5))


def test_streamed_trials_summary_equals_in_memory(sweep):
    _same(streamed.trials_summary(sweep), trials_summary(sweep.results))


def test_full_board_csv_and_results_file(sweep, tmp_path):
    streamed.write_artifacts(sweep, tmp_path)
    want = leaderboard(sweep.results, min_trades=sweep.spec.min_trades)
    csv = pd.read_csv(tmp_path / "leaderboard.csv")
    assert csv["set_id"].tolist() == want["set_id"].tolist()
    np.testing.assert_allclose(csv["dsr"], want["dsr"], rtol=1e-12, equal_nan=True)
    board = pd.read_parquet(tmp_path / "leaderboard.parquet")
    _same(board, want, attrs=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "results.parquet"),
                                  sweep.results)


def test_pbo_of_the_streamed_top_equals_in_memory(sweep, sample_catalog):
    from lab.research.sweep.pbo import sweep_pbo

    want = sweep_pbo(sweep, leaderboard(sweep.results, min_trades=3), top_k=6, n_splits=8,
                     catalog=sample_catalog)
    got = sweep_pbo(sweep, streamed.leaderboard(sweep, top=6), top_k=6, n_splits=8,
                    catalog=sample_catalog)
    assert got["set_ids"] == want["set_ids"]
    assert got["pbo"] == want["pbo"]


def test_rows_held_at_once_do_not_grow_with_the_sweep(sample_catalog, tmp_path,
                                                      monkeypatch):
    """Streamed reductions hold at most one batch (+ the requested top rows), the
    ranking at most a bucket or the dealt rows (+ one row group); a sweep on a local
    Dask cluster keeps at most IN_FLIGHT_PER_WORKER chunks per worker."""
    monkeypatch.setattr(streamed, "BATCH_ROWS", 40)
    monkeypatch.setattr(streamed, "BUCKET_BATCHES", 2)
    monkeypatch.setattr(streamed, "HELD_BATCHES", 2)
    peaks, in_flight = {}, {}
    for name, grid in (("small", (5, 10)), ("large", tuple(range(3, 30, 2)))):
        s = spec(strategies=("sma_cross",), symbols=(SPX,),
                 grids={"sma_cross": {"fast": grid, "slow": (30, 40, 50, 60)}})
        res = run_sweep(s, sweep_id=name, root=tmp_path, workers=1, chunk_size=8,
                        catalog=sample_catalog)
        in_flight[name] = executors.PEAK["in_flight"]
        streamed.reset_peak_rows()
        board = streamed.leaderboard(res, min_trades=0, top=5)
        streamed.write_artifacts(res, tmp_path / name, min_trades=0)
        streamed.trials_summary(res)
        peaks[name] = (streamed.PEAK["rows"], res.done_sets, len(board))
        assert not res.loaded
    assert peaks["large"][1] > 5 * peaks["small"][1]           # the sweep grew
    assert peaks["small"][0] <= 45 and peaks["large"][0] <= 2 * 40 + 40
    assert peaks["large"][1] > 2 * 40 + 40                    # more than that to hold
    assert in_flight["large"] <= executors.IN_FLIGHT_PER_WORKER
    assert len(pd.read_csv(tmp_path / "large" / "leaderboard.csv")) == peaks["large"][1]


def test_small_batches_give_the_same_board(sweep, monkeypatch):
    """Ranks, DSR and stability carry across batch boundaries (scored file rebuilt in
    batches of 37 rows, read back in batches of 37)."""
    monkeypatch.setattr(streamed, "BATCH_ROWS", 37)
    (sweep.path / streamed.SCORED_DOC).unlink(missing_ok=True)   # built by an earlier test or not
    streamed.reset_peak_rows()
    got = streamed.leaderboard(sweep, min_trades=3)
    assert streamed.PEAK["rows"] <= 37 + len(got)
    assert len(got) > 3 * 37
    _same(got, leaderboard(sweep.results, min_trades=3))
    assert not list(sweep.path.glob(".duckdb-*"))              # spill folder cleaned up


def test_work_files_of_a_killed_scoring_are_removed_on_the_next(sweep):
    """A kill -9 during scoring leaves GBs of unsorted rows and rank buckets at 18.7 M
    rows; the next scoring removes those unchanged for hours, not a running one's."""
    import os
    import time

    old = time.time() - streamed.STALE_WORK_S - 60
    unsorted = sweep.path / ".scored-unsorted-dead.parquet"
    unsorted.write_bytes(b"x" * 100)
    buckets = sweep.path / ".scored-buckets-dead"
    buckets.mkdir()
    (buckets / "0.arrows").write_bytes(b"x")
    half = sweep.path / ".scored.parquet.dead.tmp"
    half.write_bytes(b"x")
    running = sweep.path / ".scored-buckets-running"
    running.mkdir()
    (running / "3.arrows").write_bytes(b"x")
    for p in (unsorted, buckets / "0.arrows", buckets, half):
        os.utime(p, (old, old))
    (sweep.path / streamed.SCORED_DOC).unlink(missing_ok=True)       # score again
    streamed.leaderboard(sweep, min_trades=0, top=3)
    assert not unsorted.exists() and not buckets.exists() and not half.exists()
    assert (running / "3.arrows").exists()
    assert (sweep.path / streamed.SCORED).exists()
