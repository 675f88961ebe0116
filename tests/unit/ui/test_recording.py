"""The Backtest page records runs in a separate, lower-priority process that writes the
store the page's environment names, and is replaced when it dies."""

from __future__ import annotations

import os
import signal

import pytest

from lab.api import run_backtest
from lab.ui import recording


@pytest.fixture
def spx_run(sample_catalog):
    bars = sample_catalog.load("SPX", "1d").iloc[-800:]
    return run_backtest(bars, "sma_cross", {}, asset_class="index", timeframe="1d",
                        symbol="SPX"), bars


def _worker_pids() -> list[int]:
    pool = recording._pool
    return [] if pool is None else [p.pid for p in pool._processes.values()]


def test_a_run_is_recorded_by_a_niced_worker_in_the_store_of_the_page_env(
        spx_run, tmp_path, monkeypatch):
    import psutil

    from lab.tracking import get_run, tracking_uri

    result, bars = spx_run
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))     # after the worker may exist
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    outcome = recording.record_in_background(result, "index", bars).result(timeout=180)
    assert outcome.recorded, outcome.error
    run = get_run(outcome.run_id, tracking_uri=tracking_uri(tmp_path))
    assert run["symbol"] == "SPX" and run["tags"]["source"] == "app"
    (pid,) = _worker_pids()
    assert pid != os.getpid()
    assert psutil.Process(pid).nice() >= min(19, psutil.Process().nice() + recording.NICENESS)


def test_a_killed_worker_is_replaced_by_the_next_run(spx_run, tmp_path, monkeypatch):
    import time

    result, bars = spx_run
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    recording.record_in_background(result, "index", bars).result(timeout=180)
    (pid,) = _worker_pids()
    broken = recording._pool
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not broken._broken and time.monotonic() < deadline:    # the pool notices
        time.sleep(0.05)
    assert broken._broken
    outcome = recording.record_in_background(result, "index", bars).result(timeout=180)
    assert outcome.recorded, outcome.error
    assert _worker_pids() and pid not in _worker_pids()


def test_the_worker_exits_when_the_page_process_is_killed(tmp_path):
    """A kill -9 of the Streamlit server must not leave its recording process behind."""
    import subprocess
    import sys
    import time

    import psutil

    script = tmp_path / "owner.py"
    script.write_text(
        "import os, sys, time\n"
        "if __name__ == '__main__':\n"
        "    from lab.ui import recording\n"
        "    pool = recording._pool_now()\n"
        "    pool.submit(os.getpid).result()\n"
        "    print(*[p.pid for p in pool._processes.values()], flush=True)\n"
        "    time.sleep(120)\n")
    import lab

    repo = os.path.dirname(os.path.dirname(lab.__file__))
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                             text=True, cwd=repo,
                             env={**os.environ, "PYTHONPATH": repo})
    try:
        worker = int(owner.stdout.readline())
        assert psutil.pid_exists(worker)
        owner.kill()
        owner.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if psutil.Process(worker).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"recording worker {worker} outlived its killed parent")
    finally:
        owner.kill()
