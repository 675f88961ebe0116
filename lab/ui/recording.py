"""Recording the Backtest page's runs in MLflow off the page's process.

A recording (QuantStats tearsheet, matplotlib, the MLflow client and its first
database migration check) takes 1-3 s of CPU. Run on a thread of the Streamlit
server it held the GIL in turns with the page, so the sliders answered about twice
as slowly for the seconds after each *Run backtest*. It runs instead in one worker
process started once per server (``spawn``: the server has threads, so no ``fork``)
at the lowest CPU priority (``nice`` +19), and the page keeps the
``concurrent.futures.Future`` it polls, exactly as before. The worker exits when the
server's process is gone (killed included), so a crash leaves no process behind.

The worker receives the page process's environment and working directory with each
run, so a store chosen after it started (``$LAB_DATA_DIR``, ``$MLFLOW_TRACKING_URI``
and credentials adopted from the secrets store) is the one written.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

#: CPU priority increment of the worker (``os.nice``): the page comes first. At +19 the
#: worker gets ~1.5 % of a core the page's server or browser wants (Linux CFS weights 15
#: vs 1024), at +10 ~10 %. Still more than nothing: a recording is not starved by a
#: long sweep job, as it would be under SCHED_IDLE.
NICENESS = 19
#: Seconds between the worker's checks that the page's process still exists.
PARENT_POLL_S = 1.0

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _start_worker(parent: int) -> None:
    """Worker initializer: lower the priority; exit when the page's process is gone.

    A worker blocked on its task queue is not told when the server is killed (it holds
    the queue's other end itself), so a thread watches the parent process id.
    """
    try:
        os.nice(NICENESS)
    except OSError:                 # not permitted here: run at the same priority
        pass
    threading.Thread(target=_exit_with, args=(parent,), daemon=True,
                     name="lab-recording-orphan-watch").start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(0)


def _pool_now() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            import multiprocessing

            _pool = ProcessPoolExecutor(max_workers=1,
                                        mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker,
                                        initargs=(os.getpid(),))
        return _pool


def _reset(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def _in_worker(env: dict[str, str], cwd: str, result, asset_class: str, bars):
    """Record ``result`` with figures built here (runs in the worker process)."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    from lab.api import record_backtest
    from lab.ui.charts import candlestick_figure, equity_drawdown_figure

    figures = {"price_trades": candlestick_figure(bars, result.trades),
               "equity_drawdown": equity_drawdown_figure(result.equity, result.drawdown)}
    return record_backtest(result, asset_class=asset_class, bars=bars, source="app",
                           figures=figures)


def record_in_background(result, asset_class: str, bars) -> Future:
    """Record a backtest in MLflow in the worker process; returns at once.

    Parameters
    ----------
    result : lab.engines.result.BacktestResult
    asset_class : str
    bars : DataFrame
        The run's bars (buy and hold is the tearsheet's benchmark).

    Returns
    -------
    concurrent.futures.Future
        Resolves to a ``lab.tracking.TrackingOutcome`` (``record_backtest`` never
        raises); a worker that died (killed, out of memory) is replaced on the next call
        and its future raises ``BrokenProcessPool``.
    """
    args = (dict(os.environ), os.getcwd(), result, asset_class, bars)
    pool = _pool_now()
    try:
        return pool.submit(_in_worker, *args)
    except (BrokenProcessPool, RuntimeError):       # died, or shut down: start anew
        _reset(pool)
        return _pool_now().submit(_in_worker, *args)
