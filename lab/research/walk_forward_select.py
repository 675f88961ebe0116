"""How a walk-forward scores candidates on a train window: the sweep kernel over
(parameter set x level) candidates in one call, and the choice among them (argmax of the
objective, or Optuna TPE over categorical dimensions).

Split from ``lab.research.walk_forward``, which runs the folds.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np

from lab.core.strategy import Signals


def slice_signals(signals: Sequence[Signals], sl: slice) -> tuple[np.ndarray, ...]:
    """Four column-major bool matrices (bars of ``sl`` x sets)."""
    out = []
    for name in ("entries_long", "exits_long", "entries_short", "exits_short"):
        a = np.empty((sl.stop - sl.start, len(signals)), dtype=np.bool_, order="F")
        for j, s in enumerate(signals):
            a[:, j] = getattr(s, name)[sl]
        out.append(a)
    return tuple(out)


def score_candidates(ohlc: tuple[np.ndarray, ...], signals: Sequence[Signals], cands: Sequence[int],
           sl: slice, level_params: np.ndarray, ppy: float) -> np.ndarray:
    """Sweep-kernel statistics of candidates ``cands`` on bars ``sl``, in one kernel call.

    Parameters
    ----------
    cands : sequence of int
        Candidate ids ``set * n_levels + level`` (levels fastest, as a sweep's rows).
    level_params : ndarray, float64, shape (n_levels, N_PARAMS)
        Kernel parameter rows (``params_vector``) of each (sl, tp, leverage) level.

    Returns
    -------
    ndarray, float64, shape (len(cands), N_STATS)
    """
    from lab.kernels.sweep import simulate_many_nb
    from lab.research.sweep_exec import _KERNEL_LOCK

    n_levels = len(level_params)
    sets = list(dict.fromkeys(c // n_levels for c in cands))     # signals once per set
    pos = {j: k for k, j in enumerate(sets)}
    el, xl, es, xs = slice_signals([signals[j] for j in sets], sl)
    params = np.ascontiguousarray(level_params[[c % n_levels for c in cands]])
    sig_col = np.array([pos[c // n_levels] for c in cands], dtype=np.int64)
    o, h, l, c = (np.ascontiguousarray(a[sl]) for a in ohlc)
    with _KERNEL_LOCK:
        return simulate_many_nb(o, h, l, c, el, xl, es, xs, sig_col, params, float(ppy))


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
