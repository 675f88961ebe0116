"""A clock tests move by hand, shared by the stand-in gateway and the client's pacer."""

from __future__ import annotations

import threading


class FakeClock:
    """Epoch seconds that only move when told (``sleep`` advances them at once)."""

    def __init__(self, t: float = 1_700_000_000.0):
        self.t = float(t)
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(float(seconds))
            self.t += max(0.0, float(seconds))
