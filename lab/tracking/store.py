"""Where runs are stored, the client for that store, and the clean-up of dead runs.

Local by default: an SQLite tracking store ``<data>/mlflow/mlflow.db`` and an artifact
folder ``<data>/mlflow/artifacts``, where ``<data>`` is ``$LAB_DATA_DIR`` or ``./data``
(``lab.core.paths.data_root``). ``$MLFLOW_TRACKING_URI`` points at another store, usually a
remote MLflow server (``http://host:5000``); a server behind HTTP basic auth takes
``http://user:password@host:5000``, whose credentials are handed to MLflow as
``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` and never shown.

Every function takes the tracking URI explicitly and talks to MLflow through
``mlflow.MlflowClient(tracking_uri=...)``, never through ``mlflow.set_tracking_uri``,
so two stores used in one process (tests, a remote and a local one) never mix.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from lab.core.errors import LabError
from lab.core.urls import redact_text, split_credentials
from lab.core.private import private_dir, sqlite_private
from lab.core.paths import data_path
from lab.core.processes import pid_alive, process_start

#: Tags written at the start of every run to find runs whose process died.
TAG_PID = "lab.pid"
TAG_HOST = "lab.host"
TAG_PID_START = "lab.pid_start"
#: Seconds to wait for a remote tracking server before calling it unreachable.
PROBE_TIMEOUT_S = 3.0

_CLIENTS: dict[str, Any] = {}
_LOCK = threading.Lock()


class TrackingError(LabError):
    """The tracking store cannot be reached or read (the message names the store, never
    a password: any ``scheme://user:password@`` in it is redacted)."""

    def __init__(self, message: str = "", *args: Any) -> None:
        super().__init__(redact_text(message), *args)


def describe(uri: str | None = None) -> str:
    """One line on the store in effect, for the System page: where it is and whether it
    answers (the URI without credentials).

    Returns
    -------
    str
        e.g. ``"local store /data/mlflow/mlflow.db, 4 experiments"`` or ``"remote
        server http://host:5000, reachable, as user alice"``.
    """
    uri = adopt_credentials(uri or tracking_uri())
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    where = (f"remote server {uri}" if is_remote(uri) else
             f"local store {_sqlite_path(uri) or uri}")
    try:
        c = client(uri)
        n = len([e for e in c.search_experiments(max_results=1000) if e.name != "Default"])
    except Exception as exc:         # noqa: BLE001 - said on the page, not raised
        return f"{where}, not usable: {redact_text(exc)}"
    as_user = f", as user {user}" if is_remote(uri) and user else ""
    return (f"{where}, working{as_user}: {n} experiment(s)" if n else
            f"{where}, working{as_user}: nothing recorded yet")


def local_store_dir(root: str | Path | None = None) -> Path:
    """``<data>/mlflow`` (absolute), the folder of the local store."""
    return data_path("mlflow", root)


def tracking_uri(root: str | Path | None = None) -> str:
    """The tracking store URI in effect.

    Parameters
    ----------
    root : str or Path, optional
        Data folder for the local store (default ``data_root()``).

    Returns
    -------
    str
        ``$MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<root>/mlflow/mlflow.db``;
        never with credentials: ``http://user:password@host:5000`` comes back as
        ``http://host:5000``, its user and password moved to MLflow's own
        ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` (in this process's
        environment, where MLflow's HTTP client reads them; see ``adopt_credentials``).
    """
    env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if env:
        return adopt_credentials(env)
    return f"sqlite:///{local_store_dir(root) / 'mlflow.db'}"


def adopt_credentials(uri: str) -> str:
    """``uri`` without ``user:password@``; the credentials go to
    ``$MLFLOW_TRACKING_USERNAME`` / ``$MLFLOW_TRACKING_PASSWORD`` (HTTP basic auth, as
    MLflow documents for a server behind authentication) unless those are set already.

    The URI returned is the one to show, log and pass to MLflow: the password is kept
    only in this process's memory (and its children's environment).
    """
    if not is_remote(uri):
        return uri
    clean, user, password = split_credentials(uri)
    if user:
        os.environ.setdefault("MLFLOW_TRACKING_USERNAME", user)
    if password:
        os.environ.setdefault("MLFLOW_TRACKING_PASSWORD", password)
    return clean


def _basic_auth() -> dict[str, str]:
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if not user and not password:
        return {}
    token = base64.b64encode(f"{user or ''}:{password or ''}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def artifact_location(uri: str, experiment: str) -> str | None:
    """Artifact folder for a new experiment of the local store, else None (the server
    decides). Local artifacts go to ``<data>/mlflow/artifacts/<experiment>``."""
    path = _sqlite_path(uri)
    if path is None:
        return None
    return (path.parent / "artifacts" / experiment).as_uri()


def _sqlite_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///"):])
    return None


def is_remote(uri: str) -> bool:
    """True for an ``http(s)://`` tracking server."""
    return uri.startswith(("http://", "https://"))


def probe(uri: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Fail fast when the store cannot be reached, before MLflow's slow retries.

    A remote server counts as reachable when it answers any HTTP status on
    ``/health``; a local SQLite store when its folder can be created.

    Raises
    ------
    TrackingError
        With the URI and the reason (connection refused, timeout, permission...).
    """
    if is_remote(uri):
        uri = adopt_credentials(uri)
        req = urllib.request.Request(uri.rstrip("/") + "/health", headers=_basic_auth())
        try:
            urllib.request.urlopen(req, timeout=timeout).close()
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise TrackingError(
                    f"MLflow tracking server {uri} refused the credentials (HTTP "
                    f"{exc.code}); give them as http://user:password@host:port in "
                    "MLFLOW_TRACKING_URI or in MLFLOW_TRACKING_USERNAME / "
                    "MLFLOW_TRACKING_PASSWORD") from None
            return                      # the server answered: it is there
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = redact_text(getattr(exc, "reason", exc))
            raise TrackingError(
                f"MLflow tracking server {uri} is unreachable ({reason}); start it, or "
                "unset MLFLOW_TRACKING_URI to use the local store") from None
        return
    path = _sqlite_path(uri)
    if path is not None:
        try:
            private_dir(path.parent / "artifacts")
            private_dir(path.parent)
            sqlite_private(path)             # runs can hold account state: owner only
        except OSError as exc:
            raise TrackingError(f"cannot create the local MLflow store at {path.parent}: "
                                f"{exc}; set LAB_DATA_DIR to a writable folder") from None


def client(uri: str | None = None):
    """An ``MlflowClient`` bound to ``uri`` (default ``tracking_uri()``), one per URI.

    Raises
    ------
    TrackingError
        When the store is unreachable (see ``probe``) or cannot be opened.
    """
    uri = adopt_credentials(uri or tracking_uri())
    with _LOCK:
        if uri in _CLIENTS:
            return _CLIENTS[uri]
        probe(uri)
        # no progress bars and no "View run at" lines on stdout (CLI output stays clean)
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
        import mlflow

        _quiet_mlflow_logs()

        try:
            c = mlflow.MlflowClient(tracking_uri=uri)
            if not is_remote(uri):
                c.search_experiments(max_results=1)   # creates the SQLite tables now
        except Exception as exc:    # noqa: BLE001 - any store failure becomes a TrackingError
            raise TrackingError(f"cannot open the MLflow store {uri}: "
                                f"{redact_text(exc)}") from None
        if not is_remote(uri):          # a remote server may come and go: do not cache
            _CLIENTS[uri] = c
        return c


def _quiet_mlflow_logs() -> None:
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def get_or_create_experiment(c, uri: str, name: str) -> str:
    """Id of experiment ``name``, created (with the local artifact folder) if missing;
    a deleted experiment of that name is restored."""
    exp = c.get_experiment_by_name(name)
    if exp is None:
        try:
            return c.create_experiment(name, artifact_location=artifact_location(uri, name))
        except Exception:           # noqa: BLE001 - created concurrently by another process
            exp = c.get_experiment_by_name(name)
            if exp is None:
                raise
    if exp.lifecycle_stage == "deleted":
        c.restore_experiment(exp.experiment_id)
    return exp.experiment_id


def open_experiment(uri: str, name: str):
    """A client of ``uri`` (runs of dead processes marked FAILED first) and the id of
    experiment ``name``, created when missing.

    Returns
    -------
    (MlflowClient, str)

    Raises
    ------
    Exception
        Whatever MLflow raises for an unreachable or unwritable store (the trackers turn
        it into an outcome with ``recorded=False``).
    """
    c = client(uri)
    reap_dead_runs(c)
    return c, get_or_create_experiment(c, uri, name)


def all_experiment_ids(c) -> list[str]:
    """Ids of every active experiment of the store."""
    ids, token = [], None
    while True:
        page = c.search_experiments(max_results=1000, page_token=token)
        ids += [e.experiment_id for e in page]
        token = page.token
        if not token:
            return ids


def process_tags() -> dict[str, str]:
    """``lab.pid``, ``lab.host`` and ``lab.pid_start`` (process creation time, epoch
    seconds, so a recycled pid is not mistaken for the process that wrote the run)."""
    return {TAG_PID: str(os.getpid()), TAG_HOST: socket.gethostname(),
            TAG_PID_START: f"{process_start(os.getpid()) or 0:.2f}"}


def reap_dead_runs(c, experiment_ids: list[str] | None = None) -> list[str]:
    """Mark as FAILED the RUNNING runs of this host whose process no longer exists.

    A process killed with SIGKILL cannot close its run; this is called on every
    ``track_backtest`` and ``list_runs``. Runs of other hosts are left alone.

    Returns
    -------
    list of str
        Ids of the runs marked FAILED.
    """
    ids = experiment_ids if experiment_ids is not None else all_experiment_ids(c)
    if not ids:
        return []
    host = socket.gethostname().replace("'", "")
    runs = c.search_runs(ids, filter_string=f"attributes.status = 'RUNNING' and "
                                            f"tags.`{TAG_HOST}` = '{host}'",
                         max_results=1000)
    reaped = []
    for run in runs:
        tags = run.data.tags
        try:
            pid = int(tags.get(TAG_PID, ""))
            started = float(tags.get(TAG_PID_START, "0"))
        except ValueError:
            continue
        if pid == os.getpid() or pid_alive(pid, started):
            continue
        c.set_tag(run.info.run_id, "lab.failure", f"process {pid} died while the run was open")
        c.set_terminated(run.info.run_id, status="FAILED")
        reaped.append(run.info.run_id)
    return reaped
