"""Background jobs with real runner processes: a sweep to completion, a cancel, a
runner killed with SIGKILL reported as failed and resumed to done."""

from __future__ import annotations

import os
import signal
import sqlite3
import time

import pytest

from lab import jobs
from lab.jobs import store
from lab.jobs.runner import run_job
from lab.research.sweep import SweepSpec, load_sweep

SMALL = SweepSpec(strategies=("sma_cross",), symbols=(("AAPL", "1d"),),
                  grids={"sma_cross": {"fast": (10, 20, 30), "slow": (50, 100)}},
                  sl=(None, 0.02))
# ~20 chunks of ~0.1 s: long enough to cancel or kill in the middle
LONG = SweepSpec(strategies=("rsi",), symbols=(("BTCUSD_COINBASE", "1h"),),
                 grids={"rsi": {"period": (7, 10, 14, 21, 28, 35)}})


@pytest.fixture
def root(sample_root, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(sample_root))
    return sample_root


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_small_sweep_runs_in_its_own_process_to_done(root):
    job_id = jobs.submit("sweep", {"spec": SMALL.to_dict(), "workers": 0}, root)
    queued = jobs.get(job_id, root)
    assert queued.kind == "sweep" and queued.total == 12 and queued.pid != os.getpid()
    sweep_id = queued.result["sweep_id"]
    job = jobs.wait(job_id, timeout=90, root=root)
    assert job.status == "done", job.error
    assert (job.done, job.total, job.attempts) == (12, 12, 1)
    assert job.result == {"sweep_id": sweep_id, "rows": 12, "complete": True}
    assert len(load_sweep(sweep_id, root).results) == 12
    assert "done" in open(job.log).read()
    assert [j.id for j in jobs.list_jobs("sweep", root=root)].count(job_id) == 1


def test_the_job_table_is_sqlite_in_wal_mode_under_the_data_folder(root):
    jobs.list_jobs(root=root)
    path = root / "jobs" / "jobs.sqlite"
    assert path.exists()
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_cancelling_a_running_sweep_stops_it_between_chunks(root):
    job_id = jobs.submit("sweep", {"spec": LONG.to_dict(), "workers": 0, "chunk_size": 30},
                         root)
    wait_for(lambda: jobs.get(job_id, root).done > 0, what="the first chunk")
    assert jobs.cancel(job_id, root).status in ("cancelling", "cancelled")
    job = jobs.wait(job_id, timeout=60, root=root)
    assert job.status == "cancelled"
    assert 0 < job.done < job.total
    partial = load_sweep(job.result["sweep_id"], root)
    assert not partial.complete and 0 < len(partial.results) < job.total


def test_a_killed_runner_is_reported_failed_and_resumes_to_done(root):
    job_id = jobs.submit("sweep", {"spec": LONG.to_dict(), "workers": 0, "chunk_size": 30},
                         root)
    running = wait_for(lambda: (j := jobs.get(job_id, root)).done > 0 and j,
                       what="the first chunk")
    sweep_id = running.result["sweep_id"]
    os.kill(running.pid, signal.SIGKILL)
    failed = wait_for(lambda: (j := jobs.get(job_id, root)).status == "failed" and j,
                      timeout=20, what="the dead runner to be noticed")
    assert f"runner process {running.pid} died" in failed.error
    kept = len(load_sweep(sweep_id, root).results)
    assert kept > 0
    resumed = jobs.resume(job_id, root)
    assert resumed.status in ("queued", "running") and resumed.result["sweep_id"] == sweep_id
    job = jobs.wait(job_id, timeout=90, root=root)
    assert job.status == "done", job.error
    assert job.attempts == 2 and job.error is None
    results = load_sweep(sweep_id, root).results
    assert len(results) == job.total == LONG.count()["total"]
    assert results["set_id"].is_unique


def test_a_queued_job_cancelled_before_its_runner_starts_never_runs(root):
    job_id = jobs.submit("sweep", {"spec": SMALL.to_dict(), "workers": 0}, root, spawn=False)
    assert jobs.cancel(job_id, root).status == "cancelled"
    assert run_job(job_id, root) is None                    # a late runner does nothing
    assert jobs.get(job_id, root).status == "cancelled"
    resumed = jobs.resume(job_id, root, spawn=False)
    assert resumed.status == "queued"
    assert run_job(job_id, root).status == "done"


def test_a_job_whose_process_is_gone_is_failed_and_a_done_job_cannot_resume(root):
    job_id = jobs.submit("sweep", {"spec": SMALL.to_dict()}, root, spawn=False)
    with store.transaction(root) as con:          # a runner pid that no longer exists
        store.update(con, job_id, status="running", pid=2 ** 22 + 7, pid_start=1.0)
    job = jobs.get(job_id, root)
    assert job.status == "failed" and "died" in job.error
    with store.transaction(root) as con:
        store.update(con, job_id, status="done")
    with pytest.raises(jobs.JobError, match="only cancelled or failed"):
        jobs.resume(job_id, root)


def test_an_invalid_spec_is_refused_before_anything_is_queued(root):
    from lab.core.errors import LabError

    before = len(jobs.list_jobs(root=root, limit=1000))
    bad = SMALL.to_dict() | {"strategies": ["no_such_strategy"]}
    with pytest.raises(LabError, match="no_such_strategy"):
        jobs.submit("sweep", {"spec": bad}, root)
    with pytest.raises(jobs.JobError, match="unknown job kind"):
        jobs.submit("optimize-everything", {}, root)
    assert len(jobs.list_jobs(root=root, limit=1000)) == before


def test_wait_times_out_and_get_names_a_missing_job(root):
    job_id = jobs.submit("sweep", {"spec": SMALL.to_dict()}, root, spawn=False)
    with pytest.raises(jobs.JobTimeout, match="still queued"):
        jobs.wait(job_id, timeout=0.2, root=root)
    with pytest.raises(jobs.JobError, match="no job"):
        jobs.get("job-missing", root)


def test_progress_records_rate_and_eta(root):
    from lab.jobs.runner import JobContext

    job_id = jobs.submit("sweep", {"spec": SMALL.to_dict()}, root, spawn=False)
    ctx = JobContext(job_id, root)
    ctx.progress(10, 100)
    time.sleep(0.6)
    ctx.progress(40, 100)
    job = jobs.get(job_id, root)
    assert (job.done, job.total) == (40, 100)
    assert job.rate == pytest.approx(30 / 0.6, rel=0.3)
    assert job.eta_s == pytest.approx(60 / job.rate)
