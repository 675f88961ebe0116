"""The supervisor of one bot: ``python -m lab.live.supervisor NAME [--root DIR]``.

It starts the bot process (``python -m lab bot run NAME``), waits for it, and restarts
it when it dies with a non-zero status (an exception, or a signal such as kill -9),
after a backoff of ``BACKOFF_S x 2^(crashes - 1)`` seconds (at most ``MAX_BACKOFF_S``).
A bot that crashes ``MAX_CRASHES`` times within ``CRASH_WINDOW_S`` stays stopped in
state ``failed`` with its last error. A bot that exits with status 0 (finished,
stopped) is not restarted. SIGTERM is passed on to the bot, then the supervisor exits.
Output of both goes to ``<data>/live/logs/NAME.log``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lab.core.paths import data_root

#: Crashes within ``CRASH_WINDOW_S`` after which a bot stays stopped.
MAX_CRASHES = int(os.environ.get("LAB_BOT_MAX_CRASHES", "5"))
CRASH_WINDOW_S = 600.0
#: First restart delay, seconds (doubles with each crash in the window).
BACKOFF_S = float(os.environ.get("LAB_BOT_BACKOFF_S", "1.0"))
MAX_BACKOFF_S = 60.0

REPO = Path(__file__).resolve().parents[2]


def log_path(name: str, root: str | Path | None = None) -> Path:
    """``<data>/live/logs/<name>.log``."""
    return data_root(root) / "live" / "logs" / f"{name}.log"


def bot_command(name: str, root: Path) -> list[str]:
    """Command line of the bot process."""
    return [sys.executable, "-m", "lab", "--store", str(root), "bot", "run", name]


def child_env(root: Path) -> dict:
    env = dict(os.environ)
    env["LAB_DATA_DIR"] = str(root)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in env.get(
        "PYTHONPATH", "").split(os.pathsep) if p])
    return env


def supervise(name: str, root: str | Path | None = None) -> int:
    """Run bot ``name`` with restarts (see the module docstring); returns 0."""
    from lab.live.runner import find_ledger

    root = data_root(root)
    ledger = find_ledger(name, root)
    log = log_path(name, root)
    log.parent.mkdir(parents=True, exist_ok=True)
    state = {"term": False, "proc": None}

    def on_term(*_):
        state["term"] = True
        proc = state["proc"]
        if proc is not None and proc.poll() is None:
            proc.terminate()

    signal.signal(signal.SIGTERM, on_term)
    ledger.update_bot(name, supervisor_pid=os.getpid())
    while not state["term"]:
        with open(log, "ab") as fh:
            proc = subprocess.Popen(bot_command(name, root), cwd=REPO, env=child_env(root),
                                    stdin=subprocess.DEVNULL, stdout=fh,
                                    stderr=subprocess.STDOUT)
        state["proc"] = proc
        rc = proc.wait()
        state["proc"] = None
        if rc == 0 or state["term"]:
            break
        now = time.time()
        row = ledger.bot(name)
        crashes = [t for t in row["crashes"] if t > now - CRASH_WINDOW_S] + [now]
        why = (f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}")
        error = row["last_error"] if rc > 0 and row["last_error"] else why
        ledger.update_bot(name, crashes=crashes, state="crashed", pid=None, last_error=error)
        ledger.event(name, "crash", f"bot process died ({why}); crash {len(crashes)} of "
                     f"{MAX_CRASHES} in {CRASH_WINDOW_S:.0f} s", exit_status=rc)
        if len(crashes) >= MAX_CRASHES:
            ledger.update_bot(name, state="failed",
                              last_error=f"{len(crashes)} crashes in {CRASH_WINDOW_S:.0f} s; "
                                         f"last: {error}")
            ledger.event(name, "failed", f"stays stopped after {len(crashes)} crashes in "
                         f"{CRASH_WINDOW_S:.0f} s; last error: {error}")
            break
        delay = min(BACKOFF_S * 2 ** (len(crashes) - 1), MAX_BACKOFF_S)
        ledger.event(name, "restart_scheduled", f"restarting in {delay:g} s", delay_s=delay)
        end = time.monotonic() + delay
        while time.monotonic() < end and not state["term"]:
            time.sleep(0.1)
    ledger.update_bot(name, supervisor_pid=None)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab.live.supervisor")
    ap.add_argument("name")
    ap.add_argument("--root")
    args = ap.parse_args(argv)
    return supervise(args.name, args.root)


if __name__ == "__main__":
    sys.exit(main())
