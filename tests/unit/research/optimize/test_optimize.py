"""Optuna studies: determinism, resume after SIGKILL, min-trades, Pareto front, storages."""

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

from lab.api import run_backtest
from lab.core.config import Commission, ExecutionConfig
from lab.core.errors import ConfigError
from lab.research.optimize import (PENALTY, load_study_result, optimize, search_space,
                                   trial_backtest, trials_returns_matrix)

ROOT = Path(__file__).resolve().parents[4]
CFG = ExecutionConfig(commission=Commission(rate=0.0005))


@pytest.fixture(scope="module")
def bars(spx_daily):
    return spx_daily.loc["2005":"2019"]


def run(bars, tmp_path, name="s", **kw):
    args = dict(study_name=name, storage=f"sqlite:///{tmp_path / 'o.db'}", n_trials=25,
                seed=7, config=CFG, asset_class="index", timeframe="1d", symbol="SPX")
    args.update(kw)
    return optimize(bars, "sma_cross", **args)


def test_same_seed_gives_the_same_study(bars, tmp_path):
    a = run(bars, tmp_path, "a", search_sl=(0.01, 0.05))
    b = run(bars, tmp_path / "..", "b", storage=str(tmp_path / "b.log"),
            search_sl=(0.01, 0.05))
    cols = ["state", "params", "param_sl", "value_sharpe"]
    assert a.trials[cols].equals(b.trials[cols])
    assert a.n_complete > 3
    assert a.best["number"].tolist() == b.best["number"].tolist()


def test_best_trial_metrics_equal_run_backtest(bars, tmp_path):
    res = run(bars, tmp_path, search_tp=(0.05, 0.2), pruning=False)
    best = res.best.iloc[0]
    full = trial_backtest(res, best, bars)
    assert full.metrics["sharpe"] == pytest.approx(best["value_sharpe"], rel=1e-9)
    assert full.metrics["trades"] == best["trades"]
    params = json.loads(best["params"])
    again = run_backtest(bars, "sma_cross", params, CFG.replace(tp=best["param_tp"]),
                         asset_class="index", timeframe="1d")
    assert again.metrics["total_return"] == pytest.approx(best["total_return"], rel=1e-9)
    assert (res.best["value_sharpe"].iloc[0]
            == res.trials.loc[res.trials["feasible"], "value_sharpe"].max())


def test_min_trades_constraint(bars, tmp_path):
    res = run(bars, tmp_path, min_trades=40, pruning=False, sampler="random")
    done = res.trials[res.trials["state"] == "COMPLETE"]
    bad = done[done["trades"] < 40]
    assert len(bad) > 0 and (~bad["feasible"]).all()
    assert (bad["value_sharpe"] == -PENALTY).all()
    assert (res.best["trades"] >= 40).all()


def test_two_objectives_give_a_pareto_front(bars, tmp_path):
    res = run(bars, tmp_path, objectives=("sharpe", "max_drawdown"), n_trials=30,
              min_trades=5)
    assert res.directions == ("maximize", "maximize")
    front = res.best
    assert len(front) >= 1 and (front["trades"] >= 5).all()
    ok = res.trials[(res.trials["state"] == "COMPLETE") & res.trials["feasible"]]
    v = ok[["value_sharpe", "value_max_drawdown"]].to_numpy()
    for s, d in front[["value_sharpe", "value_max_drawdown"]].to_numpy():
        assert not ((v[:, 0] >= s) & (v[:, 1] >= d) & ((v[:, 0] > s) | (v[:, 1] > d))).any()


def test_param_space_override_and_grid_sampler(bars, tmp_path):
    space = {"fast": [5, 10], "slow": {"low": 50, "high": 100, "step": 50}}
    path = tmp_path / "space.json"
    path.write_text(json.dumps(space))
    assert search_space("sma_cross", path)["fast"] == {"choices": [5, 10]}
    res = run(bars, tmp_path, sampler="grid", param_space=path, n_trials=None,
              pruning=False)
    got = {(int(r["param_fast"]), int(r["param_slow"])) for _, r in res.trials.iterrows()}
    assert got == {(5, 50), (5, 100), (10, 50), (10, 100)}
    with pytest.raises(ConfigError):
        search_space("sma_cross", {"nope": [1]})
    with pytest.raises(ConfigError):
        run(bars, tmp_path, objectives=("bogus",))


def test_trials_returns_matrix_feeds_pbo(bars, tmp_path):
    from lab.metrics.overfitting import probability_of_backtest_overfitting

    res = run(bars, tmp_path, pruning=False, sampler="random")
    mat = trials_returns_matrix(res, bars, top_k=8)
    assert mat.shape[0] == len(bars) and 2 <= mat.shape[1] <= 8
    out = probability_of_backtest_overfitting(mat.to_numpy(), 8)
    assert 0 <= out["pbo"] <= 1


def test_two_worker_processes_share_one_study(bars, tmp_path):
    res = run(bars, tmp_path, "par", n_trials=8, workers=2, pruning=False)
    assert len(res.trials) == 8
    assert res.n_complete + (res.trials["state"] == "PRUNED").sum() == 8


SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from conftest import load_sample, spx_daily_path
    from lab.research.optimize import optimize
    bars = load_sample(spx_daily_path()).loc["2005":"2019"]
    optimize(bars, "sma_cross", study_name="k", storage={storage!r}, n_trials=100000,
             seed=3, asset_class="index", timeframe="1d", pruning=False)
""")


def test_a_killed_study_resumes_with_its_finished_trials(bars, tmp_path):
    storage = f"sqlite:///{tmp_path / 'k.db'}"
    code = SCRIPT.format(tests=str(ROOT / "tests"), storage=storage)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        n = 0
        while time.monotonic() < deadline:
            time.sleep(0.5)
            assert proc.poll() is None, "optimizer exited early"
            try:
                n = load_study_result("k", storage).n_complete
            except Exception:  # noqa: BLE001 - storage not created yet
                continue
            if n >= 10:
                break
        assert n >= 10
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    before = load_study_result("k", storage)
    done = before.trials[before.trials["state"] == "COMPLETE"]
    after = optimize(bars, "sma_cross", study_name="k", storage=storage, n_trials=5, seed=3,
                     asset_class="index", timeframe="1d", pruning=False)
    kept = after.trials.set_index("number").loc[done["number"]]
    assert (kept["state"] == "COMPLETE").all()
    assert np.allclose(kept["value_sharpe"].to_numpy(), done["value_sharpe"].to_numpy())
    assert after.n_complete >= len(done) + 1
    assert len(after.trials) == len(before.trials) + 5


def test_study_dsr_deflates_the_best_sharpe(bars, tmp_path):
    from lab.research.optimize import study_dsr

    res = run(bars, tmp_path, pruning=False, sampler="random", n_trials=20)
    out = study_dsr(res)
    assert out["number"] == int(res.best["number"].iloc[0])
    assert out["n_trials"] == res.n_complete
    assert 0 <= out["dsr"] <= out["psr"] <= 1


def test_cmaes_sampler_runs_the_requested_trials(bars, tmp_path):
    result = run(bars, tmp_path, sampler="cmaes", n_trials=6)
    assert len(result.trials) == 6


def test_journal_prefix_and_unknown_storage(bars, tmp_path):
    res = run(bars, tmp_path, storage=f"journal:{tmp_path / 'j' / 'study.jsonl'}", n_trials=3)
    assert len(res.trials) == 3 and (tmp_path / "j" / "study.jsonl").exists()
    with pytest.raises(ConfigError):
        run(bars, tmp_path, storage="not-a-url", n_trials=1)
