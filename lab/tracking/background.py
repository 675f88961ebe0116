"""``TrackingQueue``: record runs on one background thread so a page stays responsive."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from lab.engines.result import BacktestResult
from lab.tracking.backtests import track_backtest
from lab.tracking.runs import TrackingOutcome


class TrackingQueue:
    """A single worker thread that calls ``track_backtest`` in submission order.

    One worker keeps writes to an SQLite store serial. ``track_backtest`` never
    raises, so every future resolves to a ``TrackingOutcome``.

    Examples
    --------
    >>> q = TrackingQueue()                                     # doctest: +SKIP
    >>> fut = q.submit(result, asset_class="crypto", family="trend", source="app")
    >>> fut.result(timeout=30).recorded                         # doctest: +SKIP
    True
    """

    def __init__(self, name: str = "lab-tracking"):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._pending = 0

    def submit(self, result: BacktestResult, **kwargs: Any) -> "Future[TrackingOutcome]":
        """Queue ``track_backtest(result, **kwargs)``.

        Parameters
        ----------
        result : BacktestResult
        **kwargs
            Keyword arguments of ``track_backtest`` (``asset_class`` and ``family``
            are required).

        Returns
        -------
        concurrent.futures.Future
            Resolves to the ``TrackingOutcome``.

        Raises
        ------
        RuntimeError
            After ``close``.
        """
        with self._lock:
            self._pending += 1
        fut = self._pool.submit(track_backtest, result, **kwargs)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, _fut: Future) -> None:
        with self._lock:
            self._pending -= 1

    @property
    def pending(self) -> int:
        """Runs submitted and not yet finished (queued or being written)."""
        with self._lock:
            return self._pending

    def close(self, wait: bool = True) -> None:
        """Stop accepting runs; with ``wait``, return after the queued ones are written."""
        self._pool.shutdown(wait=wait)

    def __enter__(self) -> "TrackingQueue":
        return self

    def __exit__(self, *exc) -> None:
        self.close(wait=True)
