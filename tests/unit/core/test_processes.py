"""Process liveness (lab.core.processes) on real child processes."""

from __future__ import annotations

import subprocess
import sys
import time

from lab.core.processes import pid_alive, process_start


def test_a_running_child_is_alive_and_a_reused_pid_is_not():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_start(child.pid)
        assert started is not None and started > 0
        assert pid_alive(child.pid, started) and pid_alive(child.pid)
        assert not pid_alive(child.pid, started - 3600.0)   # same pid, other process
    finally:
        child.kill()
        child.wait()
    assert not pid_alive(child.pid, started)


def test_a_zombie_counts_as_dead():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 30
    while process_start(child.pid) not in (-1.0, None) and time.time() < deadline:
        time.sleep(0.05)                        # exited, not reaped: a zombie
    assert process_start(child.pid) == -1.0
    assert not pid_alive(child.pid)
    child.wait()
