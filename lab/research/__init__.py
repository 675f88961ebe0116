"""Research on top of the engines: parameter sweeps (``lab.research.sweep``), and the
leaderboard, overfitting checks, walk-forward and optimization built on them.

Dask and vectorbt are imported inside the functions that need them.
"""

from lab.research.sweep import (SweepCancelled, SweepResult, SweepSpec, list_sweeps,
                                load_sweep, recompute, run_sweep)

__all__ = ["SweepCancelled", "SweepResult", "SweepSpec", "list_sweeps", "load_sweep",
           "recompute", "run_sweep"]
