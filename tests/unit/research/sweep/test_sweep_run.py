"""run_sweep end to end on the real samples: rows equal single backtests, results do
not depend on chunking or workers (real LocalCluster), cancel keeps finished chunks,
resume computes only what is missing, storage and listing."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from lab.core.config import Commission, ExecutionConfig
from lab.core.errors import ConfigError, DataError
from lab.kernels.sweep import STAT_NAMES
from lab.research.sweep import (SweepCancelled, SweepSpec, list_sweeps, load_sweep,
                                recompute, run_sweep)
from lab.research.sweep.store import chunk_path

BTC = ("BTCUSD_COINBASE", "1h")
SPX = ("SPX", "1d")


def small_spec(**over) -> SweepSpec:
    args = dict(strategies=("sma_cross", "bollinger"), symbols=(BTC, SPX),
                grids={"sma_cross": {"fast": (5, 10, 20), "slow": (20, 50)},
                       "bollinger": {"period": (20,), "k": (1.5, 2.0)}},
                sl=(None, 0.03), tp=(None, 0.08), leverage=(1.0, 4.0),
                start="2016-01-01", end="2018-12-31",
                config=ExecutionConfig(direction="both", commission=Commission(rate=0.001),
                                       slippage=0.0005))
    args.update(over)
    return SweepSpec(**args)


@pytest.fixture(scope="module")
def reference(sample_catalog, tmp_path_factory):
    """The small sweep run in-process in one chunk per (strategy, symbol)."""
    root = tmp_path_factory.mktemp("sweep-ref")
    return run_sweep(small_spec(), sweep_id="ref", root=root, workers=0,
                     chunk_size=10_000, catalog=sample_catalog)


def test_result_columns_and_dtypes(reference):
    res = reference.results
    spec = reference.spec
    assert len(res) == spec.count()["total"] == (5 + 2) * 8 * 2
    assert list(res["set_id"]) == list(range(len(res)))
    assert res["set_id"].dtype == "int64"
    for col in ("param_fast", "param_slow", "param_period", "param_k", "sl", "tp",
                "leverage", *STAT_NAMES):
        assert res[col].dtype == "float64", col
    boll = res[res["strategy"] == "bollinger"]
    assert boll["param_fast"].isna().all() and boll["param_k"].notna().all()
    first = json.loads(res.loc[0, "params"])
    assert list(first) == sorted(first)
    assert reference.manifest["status"] == "complete"
    assert set(reference.manifest["data"]) == {"BTCUSD_COINBASE@1h", "SPX@1d"}


def test_sampled_rows_equal_run_backtest_on_every_metric(reference, sample_catalog):
    res = reference.results
    picks = res.sample(10, random_state=3).to_dict(orient="records")
    picks.append(res.loc[res["liquidations"].idxmax()].to_dict())
    for row in picks:
        single = recompute(reference, row, catalog=sample_catalog)
        for name in STAT_NAMES:
            if name in ("skew", "kurtosis"):
                continue
            want = single.metrics[name] if name != "periods_per_year" else \
                single.periods_per_year
            got = row[name]
            if isinstance(want, float) and math.isnan(want):
                assert math.isnan(got), (row["set_id"], name)
            else:
                assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), \
                    (row["set_id"], name, got, want)
        r = single.returns.to_numpy()
        d = r - r.mean()
        assert math.isclose(row["skew"], (d ** 3).mean() / (d ** 2).mean() ** 1.5,
                            rel_tol=1e-9)
        assert math.isclose(row["kurtosis"], (d ** 4).mean() / (d ** 2).mean() ** 2,
                            rel_tol=1e-9)


def test_results_do_not_depend_on_chunks_or_workers(reference, sample_catalog, tmp_path):
    tiny = run_sweep(reference.spec, sweep_id="tiny-chunks", root=tmp_path, workers=0,
                     chunk_size=3, catalog=sample_catalog)
    assert len(tiny.manifest["chunks"]) > len(reference.manifest["chunks"])
    pd.testing.assert_frame_equal(tiny.results, reference.results)
    default = run_sweep(reference.spec, sweep_id="default", root=tmp_path, chunk_size=5,
                        catalog=sample_catalog)       # one process, signals prepared ahead
    assert default.manifest["executor"] == {"mode": "in-process", "address": None,
                                            "workers": 0}
    assert len(default.manifest["chunks"]) > 4
    pd.testing.assert_frame_equal(default.results, reference.results)
    dask = run_sweep(reference.spec, sweep_id="two-workers", root=tmp_path, workers=2,
                     chunk_size=12, catalog=sample_catalog)
    assert dask.manifest["executor"] == {"mode": "local", "address": None, "workers": 2}
    pd.testing.assert_frame_equal(dask.results, reference.results)


def test_cancel_keeps_finished_chunks_and_resume_runs_only_the_rest(reference, sample_catalog,
                                                                   tmp_path):
    calls = []

    def progress(done, total):
        calls.append(done)

    with pytest.raises(SweepCancelled) as info:
        run_sweep(reference.spec, sweep_id="cut", root=tmp_path, workers=0, chunk_size=8,
                  catalog=sample_catalog, progress=progress, cancel=lambda: len(calls) >= 3)
    assert info.value.done_sets == calls[-1] == 16 and info.value.total_sets == 112
    part = load_sweep("cut", tmp_path)
    assert part.manifest["status"] == "partial" and len(part.results) == 16
    listed = list_sweeps(tmp_path).set_index("id")
    assert listed.loc["cut", "status"] == "partial" and listed.loc["cut", "done_sets"] == 16
    kept = {c["id"]: chunk_path(part.path, c["id"]).stat().st_mtime_ns
            for c in part.manifest["chunks"] if chunk_path(part.path, c["id"]).exists()}
    assert len(kept) == 2

    resumed_calls = []
    full = run_sweep(reference.spec, sweep_id="cut", root=tmp_path, workers=0,
                     chunk_size=999, catalog=sample_catalog,
                     progress=lambda d, t: resumed_calls.append(d))
    assert resumed_calls[0] == 16                       # starts from the kept chunks
    assert len(resumed_calls) == 1 + len(full.manifest["chunks"]) - 2
    for cid, mtime in kept.items():
        assert chunk_path(full.path, cid).stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(full.results, reference.results)
    assert list_sweeps(tmp_path).set_index("id").loc["cut", "status"] == "complete"


def test_resume_with_another_spec_is_refused(reference, sample_catalog):
    other = small_spec(sl=(None,))
    with pytest.raises(ConfigError, match="exists with another spec"):
        run_sweep(other, sweep_id="ref", root=reference.path.parent.parent, workers=0,
                  catalog=sample_catalog)


def test_load_unknown_sweep_names_the_stored_ones(reference):
    with pytest.raises(DataError, match="ref"):
        load_sweep("missing", reference.path.parent.parent)


def test_bad_sweep_id_is_refused(sample_catalog, tmp_path):
    with pytest.raises(ConfigError, match="sweep id"):
        run_sweep(small_spec(), sweep_id="../escape", root=tmp_path, workers=0,
                  catalog=sample_catalog)


def test_changed_data_is_refused_on_resume(reference, sample_catalog, tmp_path):
    run_sweep(reference.spec, sweep_id="moved", root=tmp_path, workers=0,
              catalog=sample_catalog)
    shifted = small_spec(end="2018-06-30")     # other bars, same id: spec differs first
    with pytest.raises(ConfigError):
        run_sweep(shifted, sweep_id="moved", root=tmp_path, workers=0,
                  catalog=sample_catalog)
    manifest_path = tmp_path / "sweeps" / "moved" / "manifest.json"
    doc = json.loads(manifest_path.read_text())
    doc["data"]["SPX@1d"]["fingerprint"] = "0" * 16
    manifest_path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match="changed since"):
        run_sweep(reference.spec, sweep_id="moved", root=tmp_path, workers=0,
                  catalog=sample_catalog)


def test_default_root_is_lab_data_dir(sample_catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    spec = small_spec(strategies=("buy_and_hold",), grids={}, symbols=(SPX,))
    res = run_sweep(spec, catalog=sample_catalog, workers=0)
    assert res.path.parent == tmp_path / "sweeps"
    assert list(list_sweeps()["id"]) == [res.id]
