"""Optuna studies refuse what a new user's session showed them accepting: counts and
ranges a single backtest refuses (``--leverage 0:3``, ``1:200``, ``--n-trials 0``/``-5``
ran to exit 0 with a traceback per trial), a study continued under its name with another
strategy / symbol / timeframe / objective (mixed trials, relabelled study), and a trial of
a killed process reported RUNNING without a word."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.research.optimize import check_search, load_study_result, optimize
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bars(spx_daily):
    return spx_daily.loc["2010":"2016"]


@pytest.mark.parametrize("kw, words", [
    ({"search_leverage": (0, 3)}, "search range leverage 0:3: its low end is refused"),
    ({"search_leverage": (1, 200)}, "search range leverage 1:200: its high end is refused"),
    ({"search_sl": (0.01, 2.0)}, "search range sl 0.01:2: its high end is refused"),
    ({"n_trials": 0}, "n_trials=0: give 1 or more trials"),
    ({"n_trials": -5}, "n_trials=-5: give 1 or more trials"),
])
def test_counts_and_ranges_are_checked_before_any_trial(bars, tmp_path, kw, words):
    storage = f"sqlite:///{tmp_path / 'o.db'}"
    with pytest.raises(ConfigError, match=words):
        optimize(bars, "sma_cross", study_name="x", storage=storage,
                 **{"n_trials": 3, **kw}, asset_class="index", timeframe="1d")
    assert not (tmp_path / "o.db").exists()        # refused before the storage is opened
    check_search(ExecutionConfig(), 5, search_leverage=(1, 3), search_sl=(0.01, 0.05))


def test_cli_refuses_a_bad_range_and_count_in_one_line(sample_root):
    env = {**os.environ, "LAB_DATA_DIR": str(sample_root)}
    for extra, words in ((["--leverage", "0:3"], "search range leverage 0:3"),
                         (["--n-trials", "-5"], "n_trials=-5")):
        out = subprocess.run([sys.executable, "-m", "lab", "optimize", "--data", "SPX",
                              "--strategy", "sma_cross", "--study-name", "cli-bad",
                              "--no-track", *extra], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 2, out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in out.stderr


def test_continuing_a_study_with_other_settings_is_refused_naming_them(bars, tmp_path):
    storage = f"sqlite:///{tmp_path / 'o.db'}"
    first = optimize(bars, "sma_cross", study_name="s", storage=storage, n_trials=2, seed=1,
                     pruning=False, asset_class="index", timeframe="1d", symbol="SPX")
    with pytest.raises(ConfigError) as err:
        optimize(bars, "rsi", study_name="s", storage=storage, n_trials=2,
                 objectives=("sortino",), asset_class="index", timeframe="1d",
                 symbol="SPX")
    text = str(err.value)
    assert "strategy rsi (the study's: sma_cross)" in text
    assert "objectives sortino (the study's: sharpe)" in text
    assert "Its settings are strategy sma_cross, symbol SPX, timeframe 1d" in text
    again = load_study_result("s", storage)
    assert len(again.trials) == len(first.trials) == 2           # nothing appended
    assert again.attrs["strategy"] == "sma_cross"                 # nor relabelled
    with pytest.raises(ConfigError, match="symbol AAPL \\(the study's: SPX\\)"):
        optimize(bars, "sma_cross", study_name="s", storage=storage, n_trials=1,
                 asset_class="index", timeframe="1d", symbol="AAPL")


def test_a_study_job_with_other_settings_is_refused_before_it_starts(lab_env, tmp_path):
    from lab import jobs

    storage = f"sqlite:///{tmp_path / 'j.db'}"
    payload = {"symbol": "SPX", "timeframe": "1d", "strategy": "sma_cross",
               "study_name": "job-s", "storage": storage, "n_trials": 2, "track": False}
    job = jobs.wait(jobs.submit("optimize", payload), timeout=300)
    assert job.status == "done", job.error
    with pytest.raises(ConfigError, match="timeframe 1h \\(the study's: 1d\\)"):
        jobs.submit("optimize", {**payload, "symbol": "BTCUSD_COINBASE", "timeframe": "1h"})


SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from conftest import load_sample, spx_daily_path
    import lab.research.optimize.run as opt
    real, calls = opt._stats, [0]
    def slow(*a, **k):                      # the 3rd trial hangs: killed mid-trial
        calls[0] += 1
        if calls[0] == 3:
            time.sleep(600)
        return real(*a, **k)
    opt._stats = slow
    bars = load_sample(spx_daily_path()).loc["2010":"2016"]
    opt.optimize(bars, "sma_cross", study_name="lost", storage={storage!r}, n_trials=50,
                 seed=3, asset_class="index", timeframe="1d", symbol="SPX", pruning=False)
""")


def test_rerun_after_kill_9_says_the_running_trial_is_dead_and_when_it_fails(sample_root,
                                                                            tmp_path):
    storage = f"sqlite:///{tmp_path / 'lost.db'}"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(tests=str(ROOT / "tests"),
                                                                 storage=storage)],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        # wait for the hung (3rd) trial: RUNNING with its worker recorded. A trial is
        # RUNNING a moment before it records host:pid, so "RUNNING" alone is a race.
        deadline, states, hung = time.monotonic() + 240, [], False
        while time.monotonic() < deadline and not hung:
            time.sleep(0.5)
            assert proc.poll() is None, "optimizer exited early"
            try:
                trials = load_study_result("lost", storage).trials
            except Exception:  # noqa: BLE001 - study not created yet
                continue
            states = trials["state"].tolist()
            running = trials[trials["state"] == "RUNNING"]
            hung = states.count("COMPLETE") >= 2 and running["worker"].notna().all() \
                and len(running) == 1
        assert hung, states
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    out = subprocess.run([sys.executable, "-m", "lab", "optimize", "--data", "SPX",
                          "--start", "2010-01-01", "--end", "2016-12-31", "--strategy",
                          "sma_cross", "--study-name", "lost", "--storage", storage,
                          "--n-trials", "1", "--no-pruning", "--no-track"], cwd=ROOT,
                         env={**os.environ, "LAB_DATA_DIR": str(sample_root)},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert re.search(f"trial \\d+ shows RUNNING but belongs to process {proc.pid} on this "
                     "host, which is gone", out.stdout), out.stdout
    assert "it will be marked FAIL after 20" in out.stdout and "UTC (60 s after" in out.stdout
