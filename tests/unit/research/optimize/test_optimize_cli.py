"""``python -m lab optimize`` in a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def lab(*args, env):
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)


def test_optimize_json_then_resume(sample_root, tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(sample_root)}
    storage = f"sqlite:///{tmp_path / 'cli.db'}"
    args = ["optimize", "--data", "SPX", "--timeframe", "1d", "--strategy", "sma_cross",
            "--study-name", "cli", "--storage", storage, "--n-trials", "12", "--seed", "5",
            "--sl", "0.01:0.05", "--leverage", "1:2", "--objective", "sharpe,max_drawdown",
            "--commission", "0.001", "--start", "2010-01-01", "--json", "--no-track"]
    out = lab(*args, env=env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["trials"] == 12 and doc["objectives"] == ["sharpe", "max_drawdown"]
    assert doc["best"] and all(b["trades"] >= 3 for b in doc["best"])
    assert all(0.01 <= b["param_sl"] <= 0.05 and 1 <= b["param_leverage"] <= 2
               for b in doc["best"])
    again = lab(*[a if a != "12" else "3" for a in args], env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["trials"] == 15
    text = lab(*[a for a in args if a != "--json"][:-0 or None], "--n-trials", "1", env=env)
    assert text.returncode == 0 and "Pareto front" in text.stdout
    # readable table: fits 100 columns, fractions as percentages with the unit in the
    # header, parameters as k=v, no scientific notation, no column twice
    table = text.stdout.split("Pareto front", 1)[1].splitlines()[1:]
    header = table[0]
    assert all(len(line) <= 100 for line in table if line.strip()), table
    assert "max_drawdown %" in header and "return %" in header and "params" in header
    assert header.count("max") == 1 and "value_" not in header
    assert "e+" not in text.stdout and "fast=" in table[1]
    from lab.research.optimize import load_study_result

    front = load_study_result("cli", storage).best
    shown = [f"{v * 100:,.1f}" for v in front["total_return"]]
    assert len(table) - 1 == len(front)
    assert all(any(p in line for line in table[1:]) for p in shown), (shown, table)


def test_user_errors_exit_2(sample_root, tmp_path):
    env = {**os.environ, "LAB_DATA_DIR": str(sample_root)}
    out = lab("optimize", "--data", "SPX", "--strategy", "sma_cross", "--study-name", "x",
              "--storage", f"sqlite:///{tmp_path / 'e.db'}", "--sl", "0.05:0.01", env=env)
    assert out.returncode == 2 and "--sl" in out.stderr
    out = lab("optimize", "--data", "SPX", "--strategy", "sma_cross", "--study-name", "x",
              "--storage", f"sqlite:///{tmp_path / 'e.db'}", "--objective", "nope", env=env)
    assert out.returncode == 2 and "objectives" in out.stderr


def test_the_study_is_recorded_in_mlflow_unless_no_track(sample_root, tmp_path):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = {**os.environ, "LAB_DATA_DIR": str(sample_root), "MLFLOW_TRACKING_URI": uri}
    args = ["optimize", "--data", "SPX", "--timeframe", "1d", "--strategy", "sma_cross",
            "--study-name", "tracked", "--storage", f"sqlite:///{tmp_path / 'o.db'}",
            "--n-trials", "5", "--seed", "1", "--start", "2010-01-01", "--no-pruning"]
    out = lab(*args, "--json", env=env)
    assert out.returncode == 0, out.stderr
    tracking = json.loads(out.stdout)["tracking"]
    assert tracking["recorded"] and tracking["children"] == 5, tracking
    client = mlflow.tracking.MlflowClient(uri)
    parent = client.get_run(tracking["run_id"])
    assert parent.data.tags["lab.study_name"] == "tracked"
    assert parent.data.tags["source"] == "cli"
    assert parent.data.metrics["trials"] == 5
    exp = parent.info.experiment_id
    children = client.search_runs([exp], f"tags.mlflow.parentRunId = '{tracking['run_id']}'")
    assert len(children) == 5
    text = lab(*args, "--n-trials", "1", env=env)
    assert text.returncode == 0 and "MLflow: run " in text.stdout
    quiet = lab(*args, "--n-trials", "1", "--no-track", "--json", env=env)
    assert quiet.returncode == 0 and json.loads(quiet.stdout)["tracking"] is None
    runs = client.search_runs([exp], "tags.`lab.kind` = 'study'")
    assert len(runs) == 2
