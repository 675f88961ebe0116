"""Crash-point hook for the kill -9 tests: ``LAB_BOT_CRASH_FILE`` names a JSON file with
a list of ``{"point": name, "bar": i}``. When the bot passes the first entry's point at
that bar, the entry is removed from the file (atomically) and the process kills itself
with SIGKILL, as ``kill -9`` would. Without the variable the hook costs one attribute
read per call.

Points: ``bar_start`` (before the broker sees the bar), ``after_broker_bar`` (the broker
filled, the ledger does not know yet), ``after_ledger_bar``, ``after_intent`` (the
intent is written, the broker not called), ``after_submit`` (the broker accepted, the
ledger has no acknowledgement), ``bar_end``.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

_FILE = os.environ.get("LAB_BOT_CRASH_FILE")
_PLAN: list | None = None


def crash_point(point: str, bar: int) -> None:
    """Kill this process when ``(point, bar)`` is the next planned crash."""
    global _PLAN
    if not _FILE:
        return
    if _PLAN is None:
        path = Path(_FILE)
        _PLAN = json.loads(path.read_text()) if path.exists() else []
    if not _PLAN or _PLAN[0]["point"] != point or int(_PLAN[0]["bar"]) != bar:
        return
    rest = _PLAN[1:]
    tmp = Path(_FILE + ".tmp")
    tmp.write_text(json.dumps(rest))
    os.replace(tmp, _FILE)
    os.kill(os.getpid(), signal.SIGKILL)
