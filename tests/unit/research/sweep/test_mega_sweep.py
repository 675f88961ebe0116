"""The mega sweep's code path (``benchmarks/mega_sweep.py``) on two small real symbols,
on an existing Dask cluster given by address (as ``--scheduler`` does): every row is
computed, the streamed leaderboard equals the in-memory one, the trials are per symbol."""

from __future__ import annotations

import pytest

from benchmarks import mega_sweep
from lab.research.sweep import load_sweep
from lab.research.sweep.leaderboard import leaderboard


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    c = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                     dashboard_address=None, scheduler_port=0, silence_logs=40)
    yield c
    c.close()


def test_mega_sweep_on_a_cluster_address_two_symbols(sample_catalog, tmp_path, cluster):
    spec = mega_spec_small()
    out = mega_sweep.run(spec, root=tmp_path, sweep_id="mega", scheduler=cluster.scheduler_address,
                         chunk_size=16, catalog=sample_catalog)
    assert out["complete"] and out["sets"] == spec.count()["total"] == 2 * (6 + 8) * 4
    assert out["executor"]["mode"] == "remote"
    assert out["chunks"] >= 4
    assert [(t["symbol"], t["trials"]) for t in out["trials"]] == [("AAPL", 56), ("SPX", 56)]
    res = load_sweep("mega", tmp_path)
    want = leaderboard(res.results, min_trades=spec.min_trades).head(20)
    assert [r["rank"] for r in out["top"]] == want["rank"].tolist()
    assert [r["sharpe"] for r in out["top"]] == pytest.approx(want["sharpe"].tolist())
    assert [r["dsr"] for r in out["top"]] == pytest.approx(want["dsr"].tolist(), rel=1e-9)
    assert out["pbo"] is None or 0.0 <= out["pbo"] <= 1.0


def mega_spec_small():
    return mega_sweep.mega_spec(
        symbols=("SPX@1d", "AAPL@1d"), strategies=("sma_cross", "rsi"),
        grids={"sma_cross": {"fast": (5, 10, 20), "slow": (30, 50)},
               "rsi": {"period": (7, 14), "lower": (25, 30), "upper": (70, 75)}},
        start="2009-01-01", end="2012-12-31")
