"""Walk-forward validation: choose parameters on each train window, test on the next.

``spec`` (``WalkForwardSpec``, the candidates as a ``SweepSpec``), ``windows`` (train /
test windows), ``select`` (argmax or Optuna among scored candidates), ``run``
(``run_walk_forward``: folds and the in-sample reference), ``store``
(``WalkForwardResult`` and its files), ``service`` (a ``WalkForwardSpec`` on stored
bars, for the CLI and the job runner).
"""

from lab.research.walk_forward.run import WalkForwardCancelled, run_walk_forward
from lab.research.walk_forward.spec import LEVELS, SELECT, WalkForwardSpec, walk_forward_spec
from lab.research.walk_forward.store import (SUMMARY_COLUMNS, WINDOW_METRICS, WalkForwardResult,
                                             load_walk_forward, save_walk_forward,
                                             walk_forward_root)
from lab.research.walk_forward.windows import Window, walk_forward_windows

__all__ = ["LEVELS", "SELECT", "SUMMARY_COLUMNS", "WINDOW_METRICS", "WalkForwardCancelled",
           "WalkForwardResult", "WalkForwardSpec", "Window", "load_walk_forward",
           "run_walk_forward", "save_walk_forward", "walk_forward_root", "walk_forward_spec",
           "walk_forward_windows"]
