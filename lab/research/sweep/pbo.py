"""Probability of backtest overfitting (PBO) of a sweep's leaders: their per-bar returns
recomputed, then ``lab.metrics.overfitting.probability_of_backtest_overfitting``."""

from __future__ import annotations

import pandas as pd

from lab.metrics.overfitting import probability_of_backtest_overfitting
from lab.research.sweep.run import recompute


def sweep_returns_matrix(sweep_result, rows, *, catalog=None, root=None):
    """Per-bar returns of some sweep rows, recomputed with ``lab.research.sweep.recompute``.

    Parameters
    ----------
    sweep_result : lab.research.sweep.SweepResult
    rows : DataFrame
        Rows of ``sweep_result.results`` (or of a leaderboard built from them), all on
        the same (symbol, timeframe).
    catalog, root
        As in ``recompute``.

    Returns
    -------
    DataFrame, shape (T, len(rows))
        Simple returns per bar (fractions), columns named by ``set_id``.

    Raises
    ------
    ValueError
        When the rows span several (symbol, timeframe) pairs (different bars).
    """
    pairs = set(zip(rows["symbol"], rows["timeframe"]))
    if len(pairs) > 1:
        raise ValueError(f"rows span several symbol/timeframe pairs {sorted(pairs)}; "
                         "PBO needs trials on the same bars")
    cols = {}
    for _, row in rows.iterrows():
        res = recompute(sweep_result, row, catalog=catalog, root=root)
        cols[int(row["set_id"])] = res.returns
    return pd.DataFrame(cols).fillna(0.0)


def sweep_pbo(sweep_result, board, *, top_k: int = 20, n_splits: int = 16,
              metric: str = "sharpe", catalog=None, root=None) -> dict:
    """PBO of picking the best of the ``top_k`` first rows of a sweep leaderboard.

    The returns of the ``top_k`` rows are recomputed (``sweep_returns_matrix``) and fed
    to ``probability_of_backtest_overfitting``; ``n_splits`` is lowered (to an even
    number) when the series is too short. Only the top rows are used, so the estimate
    is about choosing among the leaders, not among all trials.

    Returns
    -------
    dict
        As ``probability_of_backtest_overfitting``, plus ``set_ids`` (list of int).
    """
    top = board.head(int(top_k))
    mat = sweep_returns_matrix(sweep_result, top, catalog=catalog, root=root)
    splits = int(n_splits)
    while splits > 2 and len(mat) // splits < 2:
        splits -= 2
    out = probability_of_backtest_overfitting(mat.to_numpy(), splits, metric)
    out["set_ids"] = [int(c) for c in mat.columns]
    return out
