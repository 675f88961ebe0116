"""Parameter sweeps: strategies x grids x SL/TP x leverage x symbols, on Dask.

Typical use::

    from lab.research.sweep import SweepSpec, run_sweep, load_sweep, recompute
    spec = SweepSpec(strategies=("sma_cross",), symbols=(("BTCUSD_COINBASE", "1h"),),
                     sl=(None, 0.02), leverage=(1.0, 3.0))
    res = run_sweep(spec, progress=lambda done, total: print(done, total))
    best = res.results.sort_values("sharpe", ascending=False).iloc[0]
    full = recompute(res, best)          # equity curve and trades of that row

How it runs
-----------
The rows (``SweepSpec`` module docstring gives their order and ``set_id``) are cut into
chunks; a chunk is a run of consecutive parameter sets of one strategy on one (symbol,
timeframe), with all their (sl, tp, leverage) levels. A chunk computes the signals of its
parameter sets with ``StrategySpec.signals_batch`` (indicators shared through one cache)
and runs them through ``lab.kernels.sweep.simulate_many_nb`` (or vectorbt). Chunks run:

* on an existing Dask cluster when ``scheduler`` or ``$LAB_DASK_ADDRESS`` names one
  (scaling out: one worker per core or per machine, any number of machines);
* else, by default, in this process: the kernel on every core (numba threads) while
  one more thread computes the next chunk's signals (the kernel releases the GIL);
* on a local Dask cluster of ``workers`` processes when ``workers >= 1`` is asked for.
  Each worker process holds its own ~400 MB of libraries and compiled kernels:
  1,865,776 sets x 20,111 bars on 2 cores took 294 s and about 1.4 GB summed over the
  processes with two workers, against 339 s and 819 MB in one process (the faster
  cluster overlaps signals and kernels better; the single process is the default
  because its memory is bounded by two chunks on any machine).

Results do not depend on the chunking or the number of workers (each row is an
independent, deterministic run).

Memory
------
Nothing here holds a row per set: chunk arguments are built when a chunk is submitted,
at most ``executors.IN_FLIGHT_PER_WORKER`` chunks per worker are in flight, finished
chunks go straight to disk, and ``SweepResult.results`` is read only when used. The
leaderboard, DSR, stability and trials summary of a stored sweep come from its chunk
files through ``lab.research.sweep.streamed`` (DuckDB, bounded batches)::

    from lab.research.sweep import streamed
    board = streamed.leaderboard(res, top=20)      # == leaderboard(res.results).head(20)

Storage
-------
``<root>/sweeps/<sweep_id>/manifest.json`` (spec, chunk plan, data fingerprints, times,
lab version, status) and ``chunks/<chunk_id>.parquet``, each written to a temporary
file and moved into place (``os.replace``). A chunk is done when its file exists, so
a sweep that is killed and started again with the same id computes only the missing
chunks.
"""

from __future__ import annotations

from lab.research.sweep.run import SweepCancelled, recompute, run_sweep
from lab.research.sweep.spec import SweepSpec
from lab.research.sweep.store import SweepResult, list_sweeps, load_sweep, sweeps_root

__all__ = ["SweepCancelled", "SweepResult", "SweepSpec", "list_sweeps",
           "load_sweep", "recompute", "run_sweep", "sweeps_root"]
