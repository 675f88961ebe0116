"""Probability of backtest overfitting (CSCV, Bailey et al. 2017) on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest

from lab.core.config import Commission, ExecutionConfig
from lab.metrics.overfitting import probability_of_backtest_overfitting
from lab.research.sweep.pbo import sweep_pbo, sweep_returns_matrix


def test_trials_of_pure_noise_have_a_pbo_near_one_half():
    # No trial has skill: the IS-best is a random draw out of sample, so its OOS rank
    # is uniform and P(logit <= 0) = 1/2 on average over independent data sets.
    pbos = [probability_of_backtest_overfitting(
        np.random.default_rng(seed).normal(0, 0.01, (1600, 30)), 10)["pbo"]
        for seed in range(12)]
    assert 0.35 < float(np.mean(pbos)) < 0.65


def test_one_trial_with_real_edge_in_every_block_gives_pbo_zero():
    rng = np.random.default_rng(1)
    m = rng.normal(0, 0.01, (3200, 25))
    m[:, 7] += 0.01                  # per-bar Sharpe ~1 in every block
    out = probability_of_backtest_overfitting(m, 16)
    assert out["pbo"] == 0.0
    assert (out["selected"] == 7).all()
    assert out["n_combinations"] == 12870
    assert out["block_size"] == 200
    assert out["prob_oos_loss"] == 0.0
    assert (out["rank_oos"] == 25 / 26).all()


def test_a_trial_that_wins_in_one_half_and_loses_in_the_other_is_overfit():
    # Trial 0 earns in the first half and loses in the second: whenever it is picked
    # IS on mostly-first-half blocks its OOS is the worst. The others are noise.
    rng = np.random.default_rng(2)
    m = rng.normal(0, 0.01, (1600, 10))
    m[:800, 0] += 0.02
    m[800:, 0] -= 0.02
    out = probability_of_backtest_overfitting(m, 8)
    picked = out["selected"] == 0
    assert picked.mean() > 0.15
    assert (out["logits"][picked] < 0).all()
    assert out["pbo"] > 0.3
    assert out["degradation_slope"] < 0


def test_identical_trials_count_as_overfit_and_mean_metric_works():
    col = np.random.default_rng(3).normal(0.001, 0.01, 400)
    m = np.column_stack([col] * 4)
    out = probability_of_backtest_overfitting(m, 4, metric="mean")
    assert np.allclose(out["rank_oos"], 0.5)
    assert out["pbo"] == 1.0


def test_bad_inputs_raise_value_error():
    m = np.zeros((100, 3))
    for kwargs in ({"n_splits": 5}, {"n_splits": 0}, {"metric": "calmar"}, {"n_splits": 60}):
        with pytest.raises(ValueError):
            probability_of_backtest_overfitting(m, **kwargs)
    with pytest.raises(ValueError):
        probability_of_backtest_overfitting(np.zeros((100, 1)))


def test_sweep_pbo_recomputes_the_top_rows(sample_catalog, tmp_path):
    from lab.research.sweep.leaderboard import leaderboard
    from lab.research.sweep import SweepSpec, run_sweep

    spec = SweepSpec(strategies=("sma_cross",), symbols=(("SPX", "1d"),),
                     grids={"sma_cross": {"fast": (5, 10, 20), "slow": (30, 50, 100)}},
                     start="2010-01-01", end="2018-12-31",
                     config=ExecutionConfig(commission=Commission(rate=0.001)))
    res = run_sweep(spec, sweep_id="pbo", root=tmp_path, workers=0, catalog=sample_catalog)
    board = leaderboard(res.results, min_trades=1)
    mat = sweep_returns_matrix(res, board.head(4), catalog=sample_catalog)
    assert mat.shape[1] == 4
    assert list(mat.columns) == [int(s) for s in board.head(4)["set_id"]]
    out = sweep_pbo(res, board, top_k=6, n_splits=8, catalog=sample_catalog)
    assert 0.0 <= out["pbo"] <= 1.0
    assert len(out["set_ids"]) == min(6, len(board))
    assert out["n_combinations"] == 70
