"""Where the chunks of a sweep run: in this process, or on Dask (a local cluster or an
existing scheduler). Both call ``finished(chunk, stats)`` as each chunk completes and
check ``cancelled()`` between chunks; they return True when cancelled.

``args(chunk)`` builds a chunk's task arguments (its parameter sets) when the chunk is
submitted, and at most ``IN_FLIGHT_PER_WORKER`` chunks per worker are submitted at once
(a finished one is written and released before the next is submitted), so neither this
process nor the cluster holds more than a few chunks, whatever the size of the sweep.
"""

from __future__ import annotations

import os
import time

from lab.core.memory import trim_memory

#: Seconds between ``cancel()`` checks while chunks run on Dask.
POLL_SECONDS = 0.2
#: Chunks submitted per worker at a time (one running, one queued).
IN_FLIGHT_PER_WORKER = 2
#: Largest number of chunks in flight at once since the last run (``run_dask``).
PEAK = {"in_flight": 0}


def run_in_process(todo, args, data, finished, cancelled) -> bool:
    """Run the chunks in this process: the kernel on every core (numba threads), and
    the next chunk's signals on one more thread meanwhile (the kernel releases the
    GIL). At most two chunks' signals are held at once; freed memory is given back
    to the system after each chunk (``trim_memory``)."""
    from concurrent.futures import ThreadPoolExecutor

    from lab.research.sweep.chunk import chunk_run, chunk_signals

    def prepare(chunk: dict):
        a = dict(args(chunk))
        bars = data[(chunk["symbol"], chunk["timeframe"])]["bars"]
        signals = chunk_signals(bars, a.pop("strategy"), a.pop("param_dicts"))
        return bars, signals, a

    if not todo:
        return False
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lab-sweep-signals") as pool:
        ahead = pool.submit(prepare, todo[0])
        for i, chunk in enumerate(todo):
            if cancelled():
                ahead.cancel()
                return True
            bars, signals, a = ahead.result()
            ahead = pool.submit(prepare, todo[i + 1]) if i + 1 < len(todo) else None
            stats = chunk_run(bars, signals, **a)
            del signals
            finished(chunk, stats)
            del stats
            trim_memory()       # without it RSS crept from ~610 to ~970 MB (mega sweep)
    return False


def run_dask(todo, args, data, finished, cancelled, address, n_workers) -> bool:
    from distributed import Client, LocalCluster, wait

    from lab.research.sweep.chunk import chunk_stats

    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, scheduler_port=0, silence_logs=40)
        threads = max(1, (os.cpu_count() or 1) // n_workers)
    else:
        threads = None
    client = Client(cluster if cluster is not None else address)
    try:
        bars = {k: client.scatter(d["bars"], broadcast=True) for k, d in data.items()
                if any((c["symbol"], c["timeframe"]) == k for c in todo)}
        queue = list(todo)
        queue.reverse()                      # pop() from the end = plan order
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or n_workers)
        limit = IN_FLIGHT_PER_WORKER * max(1, n_workers)
        futures: dict = {}
        PEAK["in_flight"] = 0

        def submit() -> None:
            while queue and len(futures) < limit:
                chunk = queue.pop()
                f = client.submit(chunk_stats, bars[(chunk["symbol"], chunk["timeframe"])],
                                  threads=threads, pure=False,
                                  key=f"sweep-chunk-{chunk['id']}-{time.time_ns()}",
                                  **args(chunk))
                futures[f] = chunk
            PEAK["in_flight"] = max(PEAK["in_flight"], len(futures))

        submit()
        while futures:
            if cancelled():
                client.cancel(list(futures))
                return True
            try:
                done = wait(list(futures), timeout=POLL_SECONDS,
                            return_when="FIRST_COMPLETED").done
            except TimeoutError:
                continue
            for f in done:
                chunk = futures.pop(f)
                stats = f.result()
                f.release()
                finished(chunk, stats)
                del stats, f
                trim_memory()
                if cancelled():
                    client.cancel(list(futures))
                    return True
            submit()
        return False
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
