"""How a walk-forward chooses among the candidates of a train window (scored by
``lab.engines.batch.run_many``): the argmax of the objective, or Optuna TPE over
categorical dimensions.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np


def best_index(values: np.ndarray, trades: np.ndarray, min_trades: int) -> int | None:
    """Index of the largest finite value among rows with ``trades >= min_trades``."""
    ok = (trades >= min_trades) & np.isfinite(values)
    if not ok.any():
        return None
    return int(np.flatnonzero(ok)[np.argmax(values[ok])])


def select_optuna(score: Callable[[list[int]], np.ndarray], grid: Mapping[str, tuple],
                   index_of: Mapping[tuple, int], objective_col: int, trades_col: int,
                   min_trades: int, n_trials: int, seed: int) -> tuple[int | None, int]:
    """TPE search over categorical dimensions (grid values, searched levels).

    ``grid`` maps each dimension to its values; ``index_of`` maps a combination (in
    ``grid`` order) to a candidate id; a combination it lacks scores -inf.

    Returns
    -------
    (int or None, int)
        Id of the best scored candidate with enough trades (None if none), and how many
        of the scored candidates had enough trades.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names = list(grid)
    seen: dict[int, np.ndarray] = {}

    def fn(trial):
        combo = tuple(trial.suggest_categorical(n, list(grid[n])) for n in names)
        j = index_of.get(combo)
        if j is None:                      # breaks the strategy's constraint
            return -math.inf
        if j not in seen:
            seen[j] = score([j])[0]
        row = seen[j]
        v = row[objective_col]
        if row[trades_col] < min_trades or not math.isfinite(v):
            return -math.inf
        return float(v)

    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(fn, n_trials=n_trials)
    if not seen:
        return None, 0
    js = list(seen)
    rows = np.stack([seen[j] for j in js])
    k = best_index(rows[:, objective_col], rows[:, trades_col], min_trades)
    return (None if k is None else js[k]), int((rows[:, trades_col] >= min_trades).sum())
