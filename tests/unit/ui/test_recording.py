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
    assert psutil.Process(pid).nice() >= psutil.Process().nice() + recording.NICENESS


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
