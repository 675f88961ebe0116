"""Is a recorded process still running? One rule for job runners, MLflow run writers and
bot processes.

A process is identified by its pid and its creation time (epoch seconds, from psutil):
a pid the system has reused for another process has another creation time, so it is
not mistaken for the recorded one. A zombie (exited, not yet reaped by its parent)
counts as dead.
"""

from __future__ import annotations

import os


def process_start(pid: int) -> float | None:
    """Creation time of process ``pid``, epoch seconds (UTC).

    Returns
    -------
    float or None
        The creation time; -1.0 for a zombie; None when unknown (no such process, or
        psutil missing).
    """
    try:
        import psutil

        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return -1.0
        return float(proc.create_time())
    except Exception:               # noqa: BLE001 - no such process, or no psutil
        return None


def pid_alive(pid: int, started: float | None = None) -> bool:
    """Is process ``pid`` (created at ``started``, when known) still running on this host?

    Parameters
    ----------
    pid : int
    started : float, optional
        Its recorded creation time (``process_start`` when it was recorded); None or
        <= 0 = not recorded.

    Returns
    -------
    bool
        False when no such process exists, it is a zombie, or the pid now belongs to a
        process created at another time (more than 1 s apart); True otherwise, also when
        it cannot be told (another user's process, psutil missing).
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                 # exists, owned by someone else
    now = process_start(pid)
    if now is not None and now < 0:
        return False                # zombie
    if now is None or not started or started <= 0:
        return True
    return abs(now - started) < 1.0


__all__ = ["pid_alive", "process_start"]
