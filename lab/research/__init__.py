"""Research on top of the engines, one sub-package per method, each with its spec, its
run and its store: ``sweep`` (parameter sweeps, leaderboards, PBO), ``walk_forward``
(walk-forward validation), ``optimize`` (Optuna studies). Batch scoring goes through
``lab.engines.batch.run_many``; the statistics of overfitting are in
``lab.metrics.overfitting``.

Dask, Optuna and vectorbt are imported inside the functions that need them.
"""

from lab.research.sweep import (SweepCancelled, SweepResult, SweepSpec, list_sweeps,
                                load_sweep, recompute, run_sweep)

__all__ = ["SweepCancelled", "SweepResult", "SweepSpec", "list_sweeps", "load_sweep",
           "recompute", "run_sweep"]
