"""The one MLflow run writer: what every kind of recorded run shares.

``open_run`` creates a run, lets the caller fill it and closes it (FINISHED, or FAILED
when the block raised), ``log_batches`` logs metrics and params in MLflow-sized batches,
``common_tags`` are the tags every lab run carries (source, project, git state, the
writer's process for the reaper), and ``TrackingOutcome`` is what every ``track_*``
function returns. The run kinds build on it: ``backtests`` (one backtest), ``sweeps``,
``walk_forwards``, ``studies``.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from lab.core.urls import redact_text
from lab.tracking import store

#: Stand-in logged for an infinite metric (MLflow stores only finite floats).
INF_SENTINEL = 1e300
#: MLflow's limit on a parameter value, characters.
PARAM_MAX = 6000
#: Most metrics / params per ``log_batch`` call (MLflow's limit on params).
BATCH = 100

_REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TrackingOutcome:
    """What a ``track_*`` function did (it never raises).

    Attributes
    ----------
    recorded : bool
        True when the (parent) run was stored completely (status FINISHED); children
        may still have failed (see ``error`` and ``children``).
    run_id : str or None
        MLflow run id; also set when the run was created but failed midway (its
        status is then FAILED).
    experiment : str or None
        Experiment name.
    uri : str or None
        Tracking store URI.
    error : str or None
        Why nothing (or not everything) was recorded.
    children : tuple
        Child runs, in the kind's order: run ids (walk-forwards, studies) or the
        children's ``TrackingOutcome`` (sweeps); empty for a single backtest.
    """

    recorded: bool
    run_id: str | None = None
    experiment: str | None = None
    uri: str | None = None
    error: str | None = None
    children: tuple = ()

    def __post_init__(self) -> None:
        # a password never reaches the screen through an outcome (URI or error text)
        for name in ("uri", "error"):
            value = getattr(self, name)
            if value:
                object.__setattr__(self, name, redact_text(value))


def log_batches(c, run_id: str, metrics: Sequence, params: Sequence) -> None:
    """Log ``metrics`` (``mlflow.entities.Metric``) and ``params`` (``Param``) on
    ``run_id`` in batches of ``BATCH`` (MLflow refuses more params per call)."""
    for i in range(0, max(len(params), len(metrics), 1), BATCH):
        c.log_batch(run_id, metrics=list(metrics[i:i + BATCH]),
                    params=list(params[i:i + BATCH]))


def project_name(project: str | None = None) -> str:
    """``project``, else ``$LAB_PROJECT``, else ``"lab"``."""
    return project or os.environ.get("LAB_PROJECT", "").strip() or "lab"


def plain_value(x: Any) -> str:
    """An enum member as its value, anything else as ``str``."""
    return str(getattr(x, "value", x))


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dict -> flat dict with dotted keys (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def metric_value(v: Any) -> float | None:
    """The number MLflow stores for a metric: None for NaN or non-numbers, +/-
    ``INF_SENTINEL`` for +/-inf."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    if math.isnan(f):
        return None
    if math.isinf(f):
        return INF_SENTINEL if f > 0 else -INF_SENTINEL
    return f


def git_state(repo: Path = _REPO) -> tuple[str, str]:
    """(commit of HEAD, "true"/"false" for uncommitted changes); ("unknown", "unknown")
    outside a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        status = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain",
                                 "--untracked-files=no"], cwd=repo, capture_output=True,
                                text=True, timeout=5, check=True).stdout
        return commit or "unknown", "true" if status.strip() else "false"
    except (OSError, subprocess.SubprocessError):
        return "unknown", "unknown"


def common_tags(source: str, project: str | None) -> dict[str, str]:
    """Tags every lab run carries, whatever it records.

    Parameters
    ----------
    source : str
        Who recorded it: ``"cli"``, ``"app"``, ``"job"``, ``"sweep"``...
    project : str or None
        Project name (``None`` or empty: ``$LAB_PROJECT``, else ``"lab"``).

    Returns
    -------
    dict of str to str
        ``source``, ``project``, ``git_commit``, ``git_dirty`` (``"true"`` /
        ``"false"`` / ``"unknown"``), ``mlflow.source.type`` (``LOCAL``),
        ``mlflow.source.name`` (``lab (<source>)``) and the writer's process tags
        (``lab.pid``, ``lab.host``, ``lab.pid_start``) the reaper reads.
    """
    commit, dirty = git_state()
    tags = {"source": source, "project": project_name(project),
            "git_commit": commit, "git_dirty": dirty,
            "mlflow.source.type": "LOCAL", "mlflow.source.name": f"lab ({source})"}
    tags.update(store.process_tags())
    return tags


@contextmanager
def open_run(c, experiment_id: str, tags: Mapping[str, str],
             run_name: str) -> Iterator[tuple[str, Path]]:
    """Create an MLflow run, let the block fill it, then close it.

    Parameters
    ----------
    c : mlflow.MlflowClient
        Client of the tracking store.
    experiment_id : str
        Experiment of the run.
    tags : mapping of str to str
        Tags of the run (e.g. ``common_tags(...)`` plus the run's own; a
        ``mlflow.parentRunId`` tag nests it).
    run_name : str
        Name shown in the MLflow UI.

    Yields
    ------
    run_id : str
        The new run's id (status RUNNING inside the block).
    folder : pathlib.Path
        An empty temporary directory; the files left in it when the block ends normally
        are logged as the run's artifacts (nothing is logged when it is empty). It is
        deleted afterwards.

    Notes
    -----
    The run is set FINISHED when the block (and the artifact upload) ends normally,
    FAILED when it raises; the exception propagates. A failure of ``create_run`` raises
    before any run exists. A failure of ``set_terminated`` itself is ignored: the run
    stays RUNNING until ``store.reap_dead_runs`` marks it FAILED.
    """
    run_id = c.create_run(experiment_id, tags=dict(tags), run_name=run_name).info.run_id
    status = "FAILED"
    try:
        with tempfile.TemporaryDirectory(prefix="lab-run-") as tmp:
            yield run_id, Path(tmp)
            if any(Path(tmp).iterdir()):
                c.log_artifacts(run_id, tmp)
        status = "FINISHED"
    finally:
        try:
            c.set_terminated(run_id, status=status)
        except Exception:           # noqa: BLE001 - the reaper or the next call cleans up
            pass
