"""``python -m lab walkforward`` in a real subprocess, and the "walkforward" job kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.research.walk_forward import load_walk_forward

ROOT = Path(__file__).resolve().parents[4]


def run_cli(store: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "lab", "--store", str(store), "walkforward",
                           *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def store(sample_root, tmp_path) -> Path:
    (tmp_path / "store").symlink_to(sample_root / "store", target_is_directory=True)
    return tmp_path


def test_cli_json_and_save(store):
    out = run_cli(store, "--data", "BTCUSD_COINBASE", "--timeframe", "4h",
                  "--strategies", "sma_cross,ema_cross", "--windows", "3",
                  "--train-fraction", "0.7", "--grid", "fast=5,10", "--grid", "slow=50,100",
                  "--min-trades", "2", "--commission", "0.001", "--save", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [r["rank"] for r in doc["summary"]] == [1, 2]
    assert {r["strategy"] for r in doc["summary"]} == {"sma_cross", "ema_cross"}
    assert len(doc["windows"]) == 6
    assert doc["meta"]["config"]["commission"]["rate"] == 0.001
    saved = load_walk_forward(doc["folder"])
    assert list(saved.equity.columns) == ["sma_cross", "ema_cross"]


def test_cli_text_explicit_anchored_optuna(store):
    out = run_cli(store, "--data", "BTCUSD_COINBASE", "--timeframe", "1d",
                  "--strategies", "sma_cross", "--train-bars", "600", "--test-bars", "200",
                  "--anchored", "--select", "optuna", "--trials", "5", "--min-trades", "1")
    assert out.returncode == 0, out.stderr
    assert "walk-forward on BTCUSD_COINBASE 1d" in out.stdout
    assert "OOS Sharpe" in out.stdout and "folds" in out.stderr


def test_cli_error_exit_2(store):
    out = run_cli(store, "--data", "BTCUSD_COINBASE", "--timeframe", "1d",
                  "--strategies", "sma_cross", "--windows", "3", "--train-fraction", "1.5")
    assert out.returncode == 2
    assert "train_fraction" in out.stderr


def test_job_kind(store):
    from lab import jobs
    from lab.jobs.runner import run_job

    job_id = jobs.submit("walkforward", {
        "data": "BTCUSD_COINBASE", "timeframe": "1d", "strategies": ["sma_cross"],
        "grids": {"sma_cross": {"fast": [5, 10], "slow": [50]}},
        "windows": {"n_windows": 2, "train_fraction": 0.7}, "min_trades": 1},
        root=store, spawn=False)
    job = run_job(job_id, store)
    assert job.status == "done", job.error
    res = load_walk_forward(job.result["folder"])
    assert len(res.windows) == 2 and job.result["best"]["strategy"] == "sma_cross"


def test_job_cancel_stops_between_folds(store):
    from lab import jobs
    from lab.jobs.runner import JobContext, run_job

    job_id = jobs.submit("walkforward", {
        "data": "BTCUSD_COINBASE", "timeframe": "1d", "strategies": "sma_cross",
        "grids": {"sma_cross": {"fast": [5], "slow": [50]}},
        "windows": {"n_windows": 2, "train_fraction": 0.7}}, root=store, spawn=False)
    assert jobs.get(job_id, store).result["wf_id"].startswith("wf-")
    ctx = JobContext(job_id, store)
    ctx.stop_requested = True                   # as SIGTERM or a cancel request
    job = run_job(job_id, store, ctx)
    assert job.status == "cancelled"
    assert not (store / "walkforward").exists()


def test_cli_levels_are_chosen_per_window(store):
    out = run_cli(store, "--data", "BTCUSD_COINBASE", "--timeframe", "4h",
                  "--strategies", "sma_cross", "--windows", "2", "--train-fraction", "0.7",
                  "--grid", "fast=5,10", "--grid", "slow=50", "--min-trades", "1",
                  "--sl", "none,0.02,0.04", "--tp", "none,0.06", "--leverage", "1,2",
                  "--no-track", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["meta"]["levels"] == {"sl": [None, 0.02, 0.04], "tp": [None, 0.06],
                                     "leverage": [1.0, 2.0]}
    # the base config holds no stop, target or leverage of its own
    assert doc["meta"]["config"]["sl"] is None and doc["meta"]["config"]["leverage"] == 1.0
    for w in doc["windows"]:
        assert w["param_sl"] in (None, 0.02, 0.04) and w["param_tp"] in (None, 0.06)
        assert w["param_leverage"] in (1.0, 2.0) and w["eligible"] <= 2 * 3 * 2 * 2


def test_cli_bad_level_exit_2(store):
    out = run_cli(store, "--data", "BTCUSD_COINBASE", "--timeframe", "1d",
                  "--strategies", "sma_cross", "--windows", "2", "--sl", "none,abc",
                  "--no-track")
    assert out.returncode == 2
    assert "--sl: 'abc' is not a number; write e.g. none, 0.02, 0.05" in out.stderr


@pytest.mark.parametrize("levels, match", [
    ({"sl": "0.02"}, "sl levels must be a list"),
    ({"tp": [None, -1]}, "tp level -1 must be a fraction above 0"),
    ({"leverage": [0.5]}, "leverage level 0.5 does not fit the execution settings"),
    ({"leverage": []}, "leverage needs at least one level"),
])
def test_job_payload_bad_levels_are_refused_at_submission(levels, match):
    from lab.core.errors import ConfigError
    from lab.jobs.walkforward_job import prepare

    with pytest.raises(ConfigError, match=match):
        prepare({"data": "BTCUSD_COINBASE", "strategies": ["sma_cross"], **levels})


def test_job_kind_with_levels(store):
    from lab import jobs
    from lab.jobs.runner import run_job

    job_id = jobs.submit("walkforward", {
        "data": "BTCUSD_COINBASE", "timeframe": "1d", "strategies": ["sma_cross"],
        "grids": {"sma_cross": {"fast": [5, 10], "slow": [50]}},
        "windows": {"n_windows": 2, "train_fraction": 0.7}, "min_trades": 1,
        "sl": [None, 0.05], "tp": (None,), "leverage": [1, 2], "track": False},
        root=store, spawn=False)
    assert jobs.get(job_id, store).payload["tp"] == [None]        # JSON list
    job = run_job(job_id, store)
    assert job.status == "done", job.error
    res = load_walk_forward(job.result["folder"])
    assert res.meta["levels"] == {"sl": [None, 0.05], "tp": [None], "leverage": [1.0, 2.0]}
    assert set(res.windows["param_leverage"].dropna()) <= {1.0, 2.0}
