"""The job table: one SQLite file, ``<data>/jobs/jobs.sqlite``, shared by the pages that
submit and watch jobs and the runner processes that execute them. The folder is ``0700``
and the database (with its WAL files) ``0600``: readable by the user alone.

WAL mode (readers never block the writer), a 30 s busy timeout, and one short
transaction per call; status changes are ``BEGIN IMMEDIATE`` read-check-write, so a
cancel and a runner finishing at the same moment cannot both win.

Times are epoch seconds (UTC). ``payload`` and ``result`` are JSON.

The schema is versioned (``PRAGMA user_version``, ``lab.core.migrations``): a later
column is a new entry at the end of ``MIGRATIONS``, applied on the next ``connect``.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from lab.core.private import private_dir, sqlite_private
from lab.core.migrations import Migration, migrate
from lab.core.paths import data_path
from lab.core.processes import pid_alive

#: Job statuses. Active: queued, running, cancelling. Final: cancelled, failed, done.
STATUSES = ("queued", "running", "cancelling", "cancelled", "failed", "done")
ACTIVE = ("queued", "running", "cancelling")
FINAL = ("cancelled", "failed", "done")

#: Migration k takes the job table from schema version k - 1 to k (append only).
#: Version 1 is the first versioned schema; files written before it have the same
#: table (``IF NOT EXISTS``) and are stamped version 1 without a change.
_V1 = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    result TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    rate REAL,
    eta_s REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    pid INTEGER,
    pid_start REAL,
    host TEXT,
    log TEXT
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created_at);
"""
MIGRATIONS: tuple[Migration, ...] = (_V1,)


def jobs_dir(root: str | Path | None = None) -> Path:
    """``<data>/jobs``: the database and the runners' log files (``lab.core.paths``)."""
    return data_path("jobs", root)


def db_path(root: str | Path | None = None) -> Path:
    """``<data>/jobs/jobs.sqlite``."""
    return jobs_dir(root) / "jobs.sqlite"


@dataclass(frozen=True)
class Job:
    """One row of the job table.

    Attributes
    ----------
    id, kind, title, status : str
    payload, result : dict
        What the job runs, and what it produced (for a sweep ``{"sweep_id": ...}``,
        known from submission on).
    error : str or None
        Why it failed (exception, or "runner process ... died").
    created_at, started_at, updated_at, finished_at : float or None
        Epoch seconds, UTC. ``started_at`` is the start of the latest attempt.
    done, total : int
        Progress in work units (parameter sets for a sweep).
    rate : float or None
        Units per second over the current attempt.
    eta_s : float or None
        Seconds left at that rate.
    cancel_requested : bool
    attempts : int
        Runs started (1 + resumes).
    pid : int or None
        Runner process; ``pid_start`` its creation time, ``host`` its machine.
    log : str or None
        Runner output file.
    """

    id: str
    kind: str
    title: str
    status: str
    payload: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)
    error: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    updated_at: float = 0.0
    finished_at: float | None = None
    done: int = 0
    total: int = 0
    rate: float | None = None
    eta_s: float | None = None
    cancel_requested: bool = False
    attempts: int = 0
    pid: int | None = None
    pid_start: float | None = None
    host: str | None = None
    log: str | None = None

    @property
    def active(self) -> bool:
        """Queued, running or cancelling."""
        return self.status in ACTIVE

    @property
    def fraction(self) -> float:
        """Progress in [0, 1] (0 before the total is known)."""
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0

    @property
    def elapsed_s(self) -> float | None:
        """Seconds since the latest attempt started (until it finished)."""
        if self.started_at is None:
            return None
        return (self.finished_at or time.time()) - self.started_at

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Job":
        d = dict(row)
        d["payload"] = json.loads(d["payload"] or "{}")
        d["result"] = json.loads(d["result"] or "{}")
        d["cancel_requested"] = bool(d["cancel_requested"])
        return cls(**d)


def connect(root: str | Path | None = None) -> sqlite3.Connection:
    """A connection to the job table (created or migrated on first use), autocommit mode.

    Raises
    ------
    lab.core.migrations.SchemaError
        The file was written by a newer version of the code, or a migration failed.
    """
    path = db_path(root)
    if not path.exists():
        private_dir(path.parent)
    sqlite_private(path)                 # payloads and logs are the user's business alone
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA busy_timeout = 30000")
    if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    migrate(con, MIGRATIONS, name=f"job table {path}")
    return con


@contextmanager
def transaction(root: str | Path | None = None) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error), connection closed."""
    con = connect(root)
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()


def insert(root, job: dict[str, Any]) -> None:
    """Insert a new job row (``payload``/``result`` as dicts)."""
    row = dict(job)
    row["payload"] = json.dumps(row.get("payload", {}))
    row["result"] = json.dumps(row.get("result", {}))
    cols = ", ".join(row)
    marks = ", ".join(f":{k}" for k in row)
    with transaction(root) as con:
        con.execute(f"INSERT INTO jobs ({cols}) VALUES ({marks})", row)


def fetch(con: sqlite3.Connection, job_id: str) -> Job | None:
    row = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return Job.from_row(row) if row is not None else None


def update(con: sqlite3.Connection, job_id: str, **values: Any) -> None:
    """Set columns of one job (dicts are stored as JSON); ``updated_at`` is set too."""
    values.setdefault("updated_at", time.time())
    for k in ("payload", "result"):
        if k in values and not isinstance(values[k], str):
            values[k] = json.dumps(values[k])
    sets = ", ".join(f"{k} = :{k}" for k in values)
    con.execute(f"UPDATE jobs SET {sets} WHERE id = :_id", {**values, "_id": job_id})


def alive(job: Job) -> bool:
    """Is the runner recorded for ``job`` still running? Unknown (another host, no pid
    yet) counts as alive; a reused pid (other creation time) or a zombie as dead
    (``lab.core.processes.pid_alive``)."""
    if job.pid is None or (job.host and job.host != socket.gethostname()):
        return True
    return pid_alive(job.pid, job.pid_start)
