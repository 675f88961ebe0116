"""IB's historical-data pacing, kept by waiting before each request.

IB's rules (TWS API "Historical Data Limitations", pacing violations for small bars):
no identical request within 15 seconds; at most 6 requests for the same contract,
exchange and tick type within 2 seconds; at most 60 requests within any 10 minutes.
A request that breaks one is answered with error 162 "pacing violation". The pacer
computes the earliest moment the next request may go and sleeps until then; its clock
and sleep are injected so tests check the rules without waiting real minutes.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Hashable

IDENTICAL_S = 15.0
BURST_N, BURST_S = 6, 2.0
WINDOW_N, WINDOW_S = 60, 600.0


class HistoricalPacer:
    """Sleeps as long as IB's pacing rules require before each historical request.

    Parameters
    ----------
    clock : callable
        Seconds (monotonic in production).
    sleep : callable
        ``sleep(seconds)``; a test passes one that advances its fake clock.
    margin_s : float
        Extra seconds added to every wait (the gateway's clock is not ours).
    on_wait : callable, optional
        ``on_wait(seconds, rule)`` before a wait, for progress messages.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, margin_s: float = 0.05,
                 on_wait: Callable[[float, str], None] | None = None):
        self.clock = clock
        self.sleep = sleep
        self.margin_s = margin_s
        self.on_wait = on_wait
        self._sent: deque[tuple[float, Hashable, Hashable]] = deque()
        self.waited_s = 0.0

    def earliest(self, identity: Hashable, contract: Hashable) -> tuple[float, str]:
        """Earliest time the request may go, and the rule that decides it ("" = now)."""
        now = self.clock()
        t, rule = now, ""
        same = [t0 for t0, ident, _ in self._sent if ident == identity]
        if same and max(same) + IDENTICAL_S > t:
            t, rule = max(same) + IDENTICAL_S, "no identical request within 15 s"
        burst = sorted(t0 for t0, _, key in self._sent if key == contract)
        if len(burst) >= BURST_N:
            ready = burst[-BURST_N] + BURST_S
            if ready > t:
                t, rule = ready, "at most 6 requests for one contract in 2 s"
        window = sorted(t0 for t0, _, _ in self._sent)
        if len(window) >= WINDOW_N:
            ready = window[-WINDOW_N] + WINDOW_S
            if ready > t:
                t, rule = ready, "at most 60 requests in 10 minutes"
        return t, rule

    def wait(self, identity: Hashable, contract: Hashable) -> float:
        """Sleep until the request may go, then record it as sent now; returns seconds slept.

        Parameters
        ----------
        identity : hashable
            Everything that makes two requests identical (contract, end, duration, bar
            size, what to show).
        contract : hashable
            Contract, exchange and tick type (the 2-second rule's key).
        """
        t, rule = self.earliest(identity, contract)
        slept = 0.0
        if rule:
            slept = t - self.clock() + self.margin_s
            if self.on_wait is not None:
                self.on_wait(slept, rule)
            self.sleep(slept)
            self.waited_s += slept
        now = self.clock()
        self._sent.append((now, identity, contract))
        while self._sent and now - self._sent[0][0] > WINDOW_S + IDENTICAL_S:
            self._sent.popleft()
        return slept
