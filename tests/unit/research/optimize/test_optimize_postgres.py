"""Optuna studies on a real PostgreSQL server (``tests.postgres``, started per session):
two worker processes on one study, two independent processes (as on two machines)
joining one study on a fresh database, a worker lost mid-trial, bad URLs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lab.core.config import Commission, ExecutionConfig
from lab.core.errors import ConfigError
from lab.research.optimize import store as study_mod
from lab.research.optimize import load_study_result, optimize, trial_backtest

pytestmark = pytest.mark.xdist_group("postgres")

ROOT = Path(__file__).resolve().parents[4]
CFG = ExecutionConfig(commission=Commission(rate=0.0005))


@pytest.fixture(scope="module")
def bars(spx_daily):
    return spx_daily.loc["2005":"2019"]


def test_two_worker_processes_on_one_postgres_study(postgres, bars):
    url = postgres.create_database("two_workers")
    seen = []
    res = optimize(bars, "sma_cross", study_name="pg", storage=url, n_trials=16, workers=2,
                   seed=3, config=CFG, search_sl=(0.01, 0.05), pruning=False,
                   asset_class="index", timeframe="1d", symbol="SPX",
                   callback=lambda done, total: seen.append((done, total)))
    t = res.trials
    assert sorted(t["number"]) == list(range(16))
    assert set(t["state"]) <= {"COMPLETE", "PRUNED"}      # pruned: fast >= slow
    assert t.loc[t["state"] == "PRUNED", "invalid"].all() and res.n_complete > 8
    workers = set(t["worker"])
    assert len(workers) == 2 and not any(w.endswith(f":{os.getpid()}") for w in workers)
    assert seen[0] == (0, 16) and seen[-1] == (16, 16)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    # the stored study reads back the same, and its best trial is a real backtest
    again = load_study_result("pg", url)
    assert again.trials["params"].tolist() == t["params"].tolist()
    best = again.best.iloc[0]
    full = trial_backtest(again, best, bars)
    assert full.metrics["sharpe"] == pytest.approx(best["value_sharpe"], rel=1e-9)
    assert full.metrics["trades"] == best["trades"]


def lab(*args, env):
    return subprocess.Popen([sys.executable, "-m", "lab", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_independent_processes_join_one_study_on_a_fresh_database(postgres, lab_env):
    url = postgres.create_database("two_machines")
    env = {**os.environ, "LAB_DATA_DIR": str(lab_env)}
    args = ["optimize", "--data", "SPX", "--timeframe", "1d", "--strategy", "sma_cross",
            "--study-name", "shared", "--storage", url, "--n-trials", "6", "--start",
            "2005-01-01", "--json", "--no-pruning"]
    procs = [lab(*args, "--seed", str(seed), env=env) for seed in (1, 2)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    # each reports the study as it saw it at its end; the storage holds all 12
    assert max(json.loads(o)["trials"] for o, _ in outs) == 12
    res = load_study_result("shared", url)
    assert sorted(res.trials["number"]) == list(range(12))
    assert res.trials["worker"].nunique() == 2
    assert res.attrs["symbol"] == "SPX" and res.attrs["strategy"] == "sma_cross"


SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from conftest import load_sample, spx_daily_path
    import lab.research.optimize.run as opt
    import lab.research.optimize.store as st
    st.GRACE_S, st.HEARTBEAT_S = 2, 1
    real, calls = opt._stats, [0]
    def slow(*a, **k):                      # the 6th trial hangs: killed mid-trial
        calls[0] += 1
        if calls[0] == 6:
            time.sleep(600)
        return real(*a, **k)
    opt._stats = slow
    bars = load_sample(spx_daily_path()).loc["2005":"2019"]
    opt.optimize(bars, "sma_cross", study_name="lost", storage={storage!r}, n_trials=50,
                 seed=3, asset_class="index", timeframe="1d", pruning=False)
""")


def test_a_worker_lost_mid_trial_is_failed_after_its_grace_period(postgres, bars,
                                                                  monkeypatch):
    url = postgres.create_database("lost_worker")
    code = SCRIPT.format(tests=str(ROOT / "tests"), storage=url)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        states = []
        while time.monotonic() < deadline:
            time.sleep(0.5)
            assert proc.poll() is None, "optimizer exited early"
            try:
                states = load_study_result("lost", url).trials["state"].tolist()
            except Exception:  # noqa: BLE001 - study not created yet
                continue
            if states.count("COMPLETE") == 5 and "RUNNING" in states:
                break
        assert states.count("COMPLETE") == 5 and states.count("RUNNING") == 1, states
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    monkeypatch.setattr(study_mod, "GRACE_S", 2)
    monkeypatch.setattr(study_mod, "HEARTBEAT_S", 1)
    time.sleep(3)
    before = load_study_result("lost", url).trials
    after = optimize(bars, "sma_cross", study_name="lost", storage=url, n_trials=2, seed=3,
                     asset_class="index", timeframe="1d", pruning=False).trials
    assert after.loc[after["number"] == 5, "state"].item() == "FAIL"
    assert "RUNNING" not in set(after["state"])
    kept = after.set_index("number").loc[range(5)]
    assert np.allclose(kept["value_sharpe"].to_numpy(),
                       before.set_index("number").loc[range(5), "value_sharpe"].to_numpy())
    assert (after["state"] == "COMPLETE").sum() == 7


def test_unreachable_server_is_a_clear_error_without_the_password(bars):
    with pytest.raises(ConfigError) as err:
        optimize(bars, "sma_cross", study_name="x", n_trials=1,
                 storage="postgresql://me:s3cret@127.0.0.1:1/optuna")
    text = str(err.value)
    assert "cannot open the database" in text and "s3cret" not in text and "***" in text
