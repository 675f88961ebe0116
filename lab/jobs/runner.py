"""The process that runs one job: ``python -m lab.jobs.runner <job_id> [--root DIR]``.

It claims the queued job (status ``running``, its pid), calls the kind's ``run(payload,
ctx)``, and writes the outcome: ``done`` with the result, ``cancelled`` when the job
stopped on a cancel request (or SIGTERM), ``failed`` with the error text otherwise
(the traceback goes to the log file). Progress and the rate-based ETA are written to
the job row at most every ``PROGRESS_EVERY_S`` seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time
import traceback
from pathlib import Path

from lab.core import credentials
from lab.core.urls import redact, redact_text
from lab.core.paths import data_root
from lab.core.processes import process_start
from lab.jobs import store
from lab.jobs.store import Job

#: Shortest interval between two progress writes, seconds.
PROGRESS_EVERY_S = 0.2


class JobCancelled(Exception):
    """Raised by a job's ``run`` when it stopped because a cancel was requested."""


class JobContext:
    """What a running job may do: report progress, ask whether to stop, log.

    Attributes
    ----------
    job_id : str
    root : Path
        Data folder.
    """

    def __init__(self, job_id: str, root: Path):
        self.job_id = job_id
        self.root = root
        self.stop_requested = False         # set by SIGTERM
        self._first: tuple[float, int] | None = None
        self._last_write = 0.0

    def progress(self, done: int, total: int) -> None:
        """Record ``done`` of ``total`` units; the rate counts from the first call of
        this attempt (a resumed sweep starts with its finished chunks done)."""
        now = time.monotonic()
        if self._first is None:
            self._first = (now, int(done))
        t0, d0 = self._first
        rate = (done - d0) / (now - t0) if done > d0 and now > t0 else None
        eta = (total - done) / rate if rate else None
        if now - self._last_write < PROGRESS_EVERY_S and done < total and self._last_write:
            return
        self._last_write = now
        with store.transaction(self.root) as con:
            store.update(con, self.job_id, done=int(done), total=int(total), rate=rate,
                         eta_s=eta)

    def cancelled(self) -> bool:
        """True once a cancel was requested (through the job table or SIGTERM)."""
        if self.stop_requested:
            return True
        con = store.connect(self.root)
        try:
            row = con.execute("SELECT cancel_requested FROM jobs WHERE id = ?",
                              (self.job_id,)).fetchone()
        finally:
            con.close()
        return bool(row and row[0])

    def log(self, message: str) -> None:
        """One line to the runner's output (the job's log file)."""
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {self.job_id}: {redact_text(message)}",
              flush=True)


def _claim(job_id: str, root: Path) -> Job | None:
    """Mark the queued job running under this process; None when it is not queued
    (already claimed, finished) or was cancelled before it started."""
    with store.transaction(root) as con:
        job = store.fetch(con, job_id)
        if job is None or job.status != "queued":
            return None
        now = time.time()
        if job.cancel_requested:
            store.update(con, job_id, status="cancelled", finished_at=now)
            return None
        pid = os.getpid()
        store.update(con, job_id, status="running", pid=pid, pid_start=process_start(pid),
                     host=socket.gethostname(), started_at=now, finished_at=None,
                     attempts=job.attempts + 1, rate=None, eta_s=None, error=None)
        return store.fetch(con, job_id)


def _finish(job_id: str, root: Path, **values) -> None:
    values.setdefault("finished_at", time.time())
    values.setdefault("rate", None)
    values.setdefault("eta_s", None)
    with store.transaction(root) as con:
        store.update(con, job_id, **values)


def run_job(job_id: str, root: str | Path | None = None,
            ctx: JobContext | None = None) -> Job | None:
    """Run a queued job in this process and record its outcome.

    Returns
    -------
    Job or None
        The finished job, or None when it was not queued (nothing was run).
    """
    from lab.jobs import _handler

    root = data_root(root)
    job = _claim(job_id, root)
    if job is None:
        return None
    ctx = ctx or JobContext(job_id, root)
    ctx.log(f"running {job.kind} {job.title!r} (attempt {job.attempts})")
    handler = _handler(job.kind)
    secret_keys = tuple(getattr(handler, "SECRET_KEYS", ()))
    try:
        payload = dict(job.payload)
        for k in secret_keys:            # the password only in this process's memory
            if payload.get(k):
                payload[k] = credentials.resolve(payload[k], root)
        result = handler.run(payload, ctx)
    except JobCancelled as exc:
        ctx.log(f"cancelled: {exc}")
        _finish(job_id, root, status="cancelled", cancel_requested=0)
    except BaseException as exc:     # noqa: BLE001 - every failure is recorded
        print(redact_text(traceback.format_exc()), file=sys.stderr, flush=True)
        _finish(job_id, root, status="failed",
                error=redact_text(f"{type(exc).__name__}: {exc}".strip()))
        if not isinstance(exc, Exception):
            raise
    else:
        con = store.connect(root)
        try:
            total = store.fetch(con, job_id).total
        finally:
            con.close()
        result = dict(result or {})
        for k in secret_keys:            # stored as the payload keeps it, or redacted
            if result.get(k):
                result[k] = job.payload.get(k) or redact(result[k])
        _finish(job_id, root, status="done", result={**job.result, **result}, done=total)
        ctx.log("done")
    con = store.connect(root)
    try:
        return store.fetch(con, job_id)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.jobs.runner",
                                     description="Run one queued lab job.")
    parser.add_argument("job_id")
    parser.add_argument("--root", help="data folder (default $LAB_DATA_DIR or ./data)")
    args = parser.parse_args(argv)
    root = data_root(args.root)
    ctx = JobContext(args.job_id, root)

    def stop(signum, frame):         # a polite kill: stop between chunks, as a cancel
        ctx.stop_requested = True

    signal.signal(signal.SIGTERM, stop)
    job = run_job(args.job_id, root, ctx)
    if job is None:
        print(f"job {args.job_id} is not queued; nothing to run", file=sys.stderr)
        return 1
    return 0 if job.status in ("done", "cancelled") else 2


if __name__ == "__main__":           # run the imported module, so that its classes
    from lab.jobs.runner import main as _main     # (JobCancelled) are the ones handlers raise

    sys.exit(_main())
