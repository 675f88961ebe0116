"""Long work outside the Streamlit script thread: submit, watch, cancel, resume.

A job is a row in ``<data>/jobs/jobs.sqlite`` (``lab.jobs.store``) and a detached
process ``python -m lab.jobs.runner <job_id>`` (its own session, output in
``<data>/jobs/<job_id>.log``), so it survives the browser tab closing and the Streamlit
server restarting; any page or process reading the same data folder sees it.

::

    from lab import jobs
    job_id = jobs.submit("sweep", {"spec": spec.to_dict(), "workers": 2})
    jobs.get(job_id).fraction            # 0.0 .. 1.0, with .eta_s and .status
    jobs.cancel(job_id)                  # the runner stops between chunks
    jobs.resume(job_id)                  # same sweep id, finished chunks kept
    jobs.wait(job_id, timeout=600)

Statuses: ``queued`` -> ``running`` -> ``done`` | ``failed`` | ``cancelled`` (through
``cancelling`` when a cancel is requested while it runs). A runner that died without
saying so (killed, out of memory, machine restarted) is found by its pid and reported
as ``failed``; ``cancelled`` and ``failed`` jobs can be resumed.

Kinds: ``"sweep"`` (``lab.jobs.sweep_job``), ``"walkforward"``
(``lab.jobs.walkforward_job``), ``"optimize"`` (``lab.jobs.optimize_job``),
``"download"`` (``lab.jobs.download_job``).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from lab.core import credentials
from lab.core.errors import LabError
from lab.core.private import private_file
from lab.core.urls import redact_text
from lab.core.paths import data_root
from lab.core.processes import process_start
from lab.jobs import store
from lab.jobs.store import ACTIVE, FINAL, STATUSES, Job

__all__ = ["ACTIVE", "FINAL", "STATUSES", "Job", "JobError", "JobTimeout", "cancel", "get",
           "list_jobs", "resume", "submit", "wait"]

_REPO = Path(__file__).resolve().parents[2]
#: Kinds of job and the module whose ``prepare(payload)`` and ``run(payload, ctx)``
#: handle them.
KINDS = {"sweep": "lab.jobs.sweep_job", "walkforward": "lab.jobs.walkforward_job",
         "optimize": "lab.jobs.optimize_job", "download": "lab.jobs.download_job"}


class JobError(LabError):
    """A job cannot be submitted, found, cancelled or resumed (the message says why)."""


class JobTimeout(JobError, TimeoutError):
    """``wait`` gave up before the job finished (the job keeps running)."""


def _handler(kind: str):
    import importlib

    if kind not in KINDS:
        raise JobError(f"unknown job kind {kind!r}; kinds: {', '.join(KINDS)}")
    return importlib.import_module(KINDS[kind])


def _keep_secrets(handler, payload: dict, root: Path) -> tuple[dict, dict]:
    """The payload with its secret-bearing values (the handler's ``SECRET_KEYS``, e.g. a
    storage URL with a password) resolved for the checks, and the forms to store
    instead (``lab.core.credentials.keep``: redacted, password saved ``0600``)."""
    kept = {}
    for k in getattr(handler, "SECRET_KEYS", ()):
        if payload.get(k):
            kept[k] = credentials.keep(payload[k], root)
            payload[k] = credentials.resolve(kept[k], root)
    return payload, kept


def _new_id() -> str:
    return f"job-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def _spawn(job_id: str, root: Path) -> tuple[int, float | None, str]:
    """Start the runner detached (own session, no terminal); returns pid, its creation
    time and the log path. A thread reaps it when it exits, so it leaves no zombie."""
    log_path = store.jobs_dir(root) / f"{job_id}.log"
    env = dict(os.environ)
    env["LAB_DATA_DIR"] = str(root)
    env["PYTHONPATH"] = os.pathsep.join([str(_REPO)] + [p for p in env.get(
        "PYTHONPATH", "").split(os.pathsep) if p])
    private_file(log_path)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "lab.jobs.runner", job_id,
                                 "--root", str(root)],
                                cwd=_REPO, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                close_fds=True)
    threading.Thread(target=proc.wait, name=f"reap-{job_id}", daemon=True).start()
    return proc.pid, process_start(proc.pid), str(log_path)


def _start(job_id: str, root: Path) -> None:
    try:
        pid, started, log = _spawn(job_id, root)
    except OSError as exc:
        with store.transaction(root) as con:
            store.update(con, job_id, status="failed", finished_at=time.time(),
                         error=f"cannot start the runner process: {exc}")
        raise JobError(f"cannot start the runner for {job_id}: {exc}") from None
    with store.transaction(root) as con:
        job = store.fetch(con, job_id)
        if job is not None and job.status == "queued" and job.pid is None:
            store.update(con, job_id, pid=pid, pid_start=started, host=socket.gethostname(),
                         log=log)
        else:                       # the runner already claimed it and set its pid
            store.update(con, job_id, log=log)


def submit(kind: str, payload: dict[str, Any], root: str | Path | None = None, *,
           spawn: bool = True) -> str:
    """Queue a job and start its runner process.

    Parameters
    ----------
    kind : str
        ``"sweep"``: payload ``{"spec": SweepSpec.to_dict(), "workers": int,
        "chunk_size": int, "scheduler": str, "sweep_id": str}`` (all but ``spec``
        optional; a flat ``SweepSpec.to_dict()`` is accepted too).
    payload : dict
        JSON-serializable; checked before anything starts.
    root : str or Path, optional
        Data folder (default ``$LAB_DATA_DIR`` or ``./data``).
    spawn : bool
        False leaves the job queued without a process (run it with
        ``lab.jobs.runner.run_job``, e.g. in a test).

    Returns
    -------
    str
        Job id. For a sweep, ``get(job_id).result["sweep_id"]`` is known at once.

    Raises
    ------
    JobError
        Unknown kind, or the runner could not be started.
    ConfigError, ParamError, UnknownStrategyError
        From the payload check (e.g. an invalid sweep spec).
    """
    root = data_root(root)
    handler = _handler(kind)
    payload, kept = _keep_secrets(handler, dict(payload), root)
    import inspect

    kw = {"root": root} if "root" in inspect.signature(handler.prepare).parameters else {}
    payload, title, total, result = handler.prepare(payload, **kw)
    payload.update(kept)
    result.update({k: v for k, v in kept.items() if k in result})
    title = redact_text(title)
    job_id = _new_id()
    now = time.time()
    store.insert(root, {"id": job_id, "kind": kind, "title": title, "status": "queued",
                        "payload": payload, "result": result, "created_at": now,
                        "updated_at": now, "total": int(total)})
    if spawn:
        _start(job_id, root)
    return job_id


def _refresh(con, job: Job) -> Job:
    """Report an active job whose runner is gone: failed (or cancelled, when a cancel
    was requested). Conditional on the same pid, so a runner's own last write wins."""
    if not job.active or job.pid is None or store.alive(job):
        return job
    now = time.time()
    if job.status == "cancelling":
        values = dict(status="cancelled", finished_at=now, rate=None, eta_s=None)
    else:
        values = dict(status="failed", finished_at=now, rate=None, eta_s=None,
                      error=f"runner process {job.pid} died (killed or crashed) after "
                            f"{job.done:,} of {job.total:,}; resume to continue")
    con.execute("BEGIN IMMEDIATE")
    try:
        fresh = store.fetch(con, job.id)
        if fresh is not None and fresh.status == job.status and fresh.pid == job.pid:
            store.update(con, job.id, **values)
    finally:
        con.execute("COMMIT")
    return store.fetch(con, job.id)


def get(job_id: str, root: str | Path | None = None) -> Job:
    """The job ``job_id`` (a dead runner is reported as failed).

    Raises
    ------
    JobError
        No such job.
    """
    con = store.connect(root)
    try:
        job = store.fetch(con, job_id)
        if job is None:
            raise JobError(f"no job {job_id!r} in {store.db_path(root)}")
        return _refresh(con, job)
    finally:
        con.close()


def list_jobs(kind: str | None = None, limit: int = 50,
              root: str | Path | None = None) -> list[Job]:
    """Jobs, newest first (dead runners reported as failed)."""
    con = store.connect(root)
    try:
        sql, args = "SELECT * FROM jobs", []
        if kind:
            sql, args = sql + " WHERE kind = ?", [kind]
        rows = con.execute(sql + " ORDER BY created_at DESC LIMIT ?", [*args, int(limit)])
        return [_refresh(con, Job.from_row(r)) for r in rows.fetchall()]
    finally:
        con.close()


def cancel(job_id: str, root: str | Path | None = None) -> Job:
    """Ask a job to stop. A running job goes to ``cancelling`` and its runner stops
    after the chunk in progress (finished chunks are kept); a queued one stops before
    it starts. Cancelling a finished job changes nothing.

    Raises
    ------
    JobError
        No such job.
    """
    job = get(job_id, root)
    if not job.active:
        return job
    with store.transaction(root) as con:
        fresh = store.fetch(con, job_id)
        if fresh is not None and fresh.status == "queued":     # no runner has claimed it
            store.update(con, job_id, cancel_requested=1, status="cancelled",
                         finished_at=time.time())
        elif fresh is not None and fresh.active:
            store.update(con, job_id, cancel_requested=1, status="cancelling")
    return get(job_id, root)


def resume(job_id: str, root: str | Path | None = None, *, spawn: bool = True) -> Job:
    """Run a cancelled or failed job again (a sweep keeps its id and finished chunks).

    Raises
    ------
    JobError
        No such job, or it is still active or already done.
    """
    root = data_root(root)
    job = get(job_id, root)
    with store.transaction(root) as con:
        fresh = store.fetch(con, job_id)
        if fresh.status not in ("cancelled", "failed"):
            raise JobError(f"job {job_id} is {fresh.status}; only cancelled or failed jobs "
                           "can be resumed")
        store.update(con, job_id, status="queued", cancel_requested=0, error=None,
                     finished_at=None, pid=None, pid_start=None, rate=None, eta_s=None)
    if spawn:
        _start(job_id, root)
    return get(job.id, root)


def wait(job_id: str, timeout: float | None = None, root: str | Path | None = None,
         poll_s: float = 0.2) -> Job:
    """Block until the job is cancelled, failed or done.

    Raises
    ------
    JobTimeout
        After ``timeout`` seconds (the job keeps running).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        job = get(job_id, root)
        if job.status in FINAL:
            return job
        if deadline is not None and time.monotonic() > deadline:
            raise JobTimeout(f"job {job_id} still {job.status} after {timeout:g} s "
                             f"({job.done:,}/{job.total:,})")
        time.sleep(poll_s)
