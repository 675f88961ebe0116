"""The sweep command in a real subprocess: JSON top rows, progress on stderr, resume,
grid syntax, errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.core.errors import ConfigError
from lab.research.sweep import load_sweep
from lab.cli.sweep import parse_grid_values, parse_grids

ROOT = Path(__file__).resolve().parents[4]


def run_cli(store: Path, *args: str, track: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LAB_DASK_ADDRESS", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([sys.executable, "-m", "lab.cli.sweep", "--store",
                           str(store), *args, *([] if track else ["--no-track"])], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def store(sample_root, tmp_path) -> Path:
    """The sample store linked into a fresh data folder (sweeps land in tmp_path)."""
    (tmp_path / "store").symlink_to(sample_root / "store", target_is_directory=True)
    return tmp_path


def test_cli_prints_ranked_top_rows_as_json_and_resumes(store):
    args = ["--data", "BTCUSD_COINBASE,SPX@1d", "--timeframe", "1h", "--start", "2016-01-01",
            "--end", "2018-12-31", "--strategies", "sma_cross,ema_cross",
            "--grid", "fast=5:15:5", "--grid", "sma_cross.slow=50,100", "--grid",
            "ema_cross.slow=40", "--sl", "none,0.03", "--leverage", "1,2",
            "--commission-model", "percent", "--commission", "0.001", "--min-trades", "5",
            "--top", "4", "--workers", "0", "--id", "cli", "--json"]
    out = run_cli(store, *args)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    # 3 x 2 sma_cross + 3 x 1 ema_cross sets, x 2 sl x 2 leverage x 2 symbols
    assert doc["sweep_id"] == "cli" and doc["total_sets"] == 9 * 4 * 2
    top = doc["top"]
    assert len(top) == 4 and all(r["trades"] >= 5 for r in top)
    sharpes = [r["sharpe"] for r in top]
    assert sharpes == sorted(sharpes, reverse=True)
    assert set(top[0]["params"]) in ({"fast", "slow"},)
    assert {"profit_factor", "skew", "kurtosis", "final_equity"} <= set(top[0])
    assert "sets" in out.stderr and "100.0%" in out.stderr     # progress bar
    stored = load_sweep("cli", store)
    assert stored.spec.config.commission.rate == 0.001
    assert stored.spec.sl == (None, 0.03) and stored.spec.leverage == (1.0, 2.0)

    again = run_cli(store, "--resume", "cli", "--top", "2")
    assert again.returncode == 0, again.stderr
    assert "sweep cli: 72 sets" in again.stdout
    assert str(stored.path) in again.stdout


@pytest.mark.parametrize("args, words", [
    (["--data", "BTCUSD_COINBASE", "--strategies", "sma_cross", "--grid", "fast=1:2"],
     "start:stop:step"),
    (["--data", "BTCUSD_COINBASE", "--strategies", "sma_cross", "--grid", "nope=1"],
     "no swept strategy has a parameter"),
    (["--data", "NOPE", "--strategies", "sma_cross"], "NOPE"),
    (["--resume", "missing"], "no sweep 'missing'"),
])
def test_cli_errors_exit_2_with_a_message(store, args, words):
    out = run_cli(store, *args, "--workers", "0")
    assert out.returncode == 2
    assert words in out.stderr


def test_grid_syntax():
    assert parse_grid_values("5:20:5") == (5.0, 10.0, 15.0, 20.0)
    assert parse_grid_values("0.5:1.0:0.25") == (0.5, 0.75, 1.0)
    assert parse_grid_values("1,2.5,4") == (1.0, 2.5, 4.0)
    grids = parse_grids(["fast=5,10", "sma_cross.slow=100"], ("sma_cross", "macd"))
    assert grids == {"sma_cross": {"fast": (5.0, 10.0), "slow": (100.0,)},
                     "macd": {"fast": (5.0, 10.0)}}
    with pytest.raises(ConfigError, match="not among --strategies"):
        parse_grids(["rsi.period=5"], ("sma_cross",))


def test_cli_records_the_sweep_in_the_stores_mlflow(store):
    import mlflow

    out = run_cli(store, "--data", "SPX", "--timeframe", "1d", "--start", "2010-01-01",
                  "--strategies", "sma_cross", "--grid", "fast=5,10,20",
                  "--grid", "slow=50,100", "--track-top", "2", "--json", track=True)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    tracking = doc["tracking"]
    assert tracking["recorded"] and tracking["children"] == 2, tracking
    client = mlflow.tracking.MlflowClient(f"sqlite:///{store / 'mlflow' / 'mlflow.db'}")
    parent = client.get_run(tracking["run_id"])
    assert parent.data.tags["lab.sweep_id"] == doc["sweep_id"]
    assert parent.data.tags["source"] == "cli"
    children = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        f"tags.mlflow.parentRunId = '{tracking['run_id']}'")
    assert len(children) == 2
    best = doc["top"][0]
    first = [c for c in children if c.data.metrics.get("sharpe") is not None]
    assert any(abs(c.data.metrics["sharpe"] - best["sharpe"]) < 1e-9 for c in first)
    quiet = run_cli(store, "--resume", doc["sweep_id"], "--json")
    assert quiet.returncode == 0 and json.loads(quiet.stdout)["tracking"] is None
