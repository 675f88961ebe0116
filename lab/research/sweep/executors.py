"""Where the chunks of a sweep run: in this process, or on Dask (a local cluster or an
existing scheduler). Both call ``finished(chunk, stats)`` as each chunk completes and
check ``cancelled()`` between chunks; they return True when cancelled.
"""

from __future__ import annotations

import os
import time

#: Seconds between ``cancel()`` checks while chunks run on Dask.
POLL_SECONDS = 0.2


def run_in_process(todo, args, data, finished, cancelled) -> bool:
    from lab.research.sweep.chunk import chunk_stats

    for chunk in todo:
        if cancelled():
            return True
        bars = data[(chunk["symbol"], chunk["timeframe"])]["bars"]
        finished(chunk, chunk_stats(bars, **args[chunk["id"]]))
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
        futures = {}
        for chunk in todo:
            f = client.submit(chunk_stats, bars[(chunk["symbol"], chunk["timeframe"])],
                              threads=threads, pure=False, key=f"sweep-chunk-{chunk['id']}-"
                              f"{time.time_ns()}", **args[chunk["id"]])
            futures[f] = chunk
        pending = set(futures)
        while pending:
            if cancelled():
                client.cancel(list(pending))
                return True
            try:
                done = wait(pending, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                continue
            for f in done:
                pending.discard(f)
                chunk = futures[f]
                finished(chunk, f.result())
                if cancelled():
                    client.cancel(list(pending))
                    return True
        return False
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
