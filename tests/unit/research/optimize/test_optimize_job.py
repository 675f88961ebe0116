"""Job kind "optimize": a real runner process to completion, two workers reporting progress
and stopping on cancel or when their runner dies, bad payloads refused."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from lab import jobs
from lab.core.errors import ConfigError
from lab.research.optimize import load_study_result


@pytest.fixture
def root(sample_root, monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_DATA_DIR", str(sample_root))
    return sample_root


def test_optimize_job_runs_in_a_runner_process(root, tmp_path):
    storage = f"sqlite:///{tmp_path / 'job.db'}"
    job_id = jobs.submit("optimize", {"symbol": "AAPL", "timeframe": "1d",
                                      "strategy": "sma_cross", "study_name": "job",
                                      "storage": storage, "n_trials": 8, "seed": 2,
                                      "search_sl": [0.01, 0.05], "track": False}, root)
    job = jobs.wait(job_id, root=root, timeout=180)
    assert job.status == "done", job.error
    assert job.result["study_name"] == "job" and job.result["trials"] == 8
    assert job.done == job.total == 8
    res = load_study_result("job", storage)
    assert len(res.trials) == 8 and res.attrs["symbol"] == "AAPL"


def test_bad_payloads_are_refused_before_starting(root):
    with pytest.raises(ConfigError):
        jobs.submit("optimize", {"symbol": "AAPL", "timeframe": "1d",
                                 "strategy": "sma_cross"}, root, spawn=False)
    with pytest.raises(ConfigError):
        jobs.submit("optimize", {"symbol": "AAPL", "timeframe": "1d", "strategy": "sma_cross",
                                 "study_name": "x", "objectives": ["nope"]}, root,
                    spawn=False)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _two_workers_running(root, storage: str, name: str, min_done: int):
    """Submit an endless 2-worker study; return (job_id, job, worker pids) once both
    workers run and ``min_done`` trials finished."""
    job_id = jobs.submit("optimize", {"symbol": "SPX", "timeframe": "1d",
                                      "strategy": "sma_cross", "study_name": name,
                                      "storage": storage, "n_trials": 100000, "workers": 2,
                                      "pruning": False, "track": False}, root)
    deadline = time.monotonic() + 180
    workers, job = [], jobs.get(job_id, root)
    while time.monotonic() < deadline and not (len(workers) == 2 and job.done >= min_done):
        time.sleep(0.3)
        job = jobs.get(job_id, root)
        assert job.status in ("queued", "running"), job.error
        if job.pid:
            workers = [c for c in _children(job.pid) if b"spawn_main" in _cmdline(c)]
    assert len(workers) == 2 and job.done >= min_done
    return job_id, job, workers


def test_two_worker_job_reports_progress_and_cancels_between_trials(root, tmp_path):
    storage = f"sqlite:///{tmp_path / 'par.db'}"
    job_id, job, workers = _two_workers_running(root, storage, "par", 20)
    assert job.total == 100000 and job.rate and job.rate > 0
    jobs.cancel(job_id, root)
    job = jobs.wait(job_id, root=root, timeout=120)
    assert job.status == "cancelled"
    res = load_study_result("par", storage)
    assert len(res.trials) >= job.done >= 20
    assert "RUNNING" not in set(res.trials["state"])        # stopped between trials
    assert res.trials["worker"].nunique() == 2
    left = {pid: _cmdline(pid) for pid in workers if _cmdline(pid)}
    assert not left, left


def test_workers_stop_when_their_runner_is_killed(root, tmp_path):
    storage = f"sqlite:///{tmp_path / 'orphan.db'}"
    job_id, job, workers = _two_workers_running(root, storage, "orphan", 10)
    os.kill(job.pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_cmdline(w) for w in workers):
        time.sleep(0.2)
    assert not any(_cmdline(w) for w in workers), "workers outlived their runner"
    assert jobs.get(job_id, root).status == "failed"          # a dead runner is reported
    res = load_study_result("orphan", storage)
    assert "RUNNING" not in set(res.trials["state"])        # each ended its last trial
    assert res.n_complete >= 10
