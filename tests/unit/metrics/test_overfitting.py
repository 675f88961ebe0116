"""PSR, DSR, expected maximum Sharpe and MinTRL on cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from lab.metrics.overfitting import (EULER_GAMMA, deflated_sharpe_ratio,
                                     expected_max_sharpe, min_track_record_length,
                                     per_bar_sharpe, probabilistic_sharpe_ratio,
                                     sharpe_standard_error)


def test_dsr_reproduces_the_papers_numerical_example():
    # Bailey & López de Prado (2014), "A numerical example": SR 2.5 annualized, 5 years
    # of daily returns, skew -3, kurtosis 10, 100 trials with Var[SR] = 1/2 annualized:
    # SR0 = 0.1132 per day and DSR = 0.9004.
    sr = 2.5 / math.sqrt(250)
    v = 0.5 / 250
    assert expected_max_sharpe(100, v) == pytest.approx(0.1132, abs=5e-5)
    assert deflated_sharpe_ratio(sr, 1250, 100, v, -3, 10) == pytest.approx(0.9004, abs=5e-5)


def test_psr_of_normal_returns_is_lo_2002_z_score():
    sr, t = 0.1, 500
    z = sr * math.sqrt(t - 1) / math.sqrt(1 + sr ** 2 / 2)
    assert probabilistic_sharpe_ratio(sr, t) == pytest.approx(norm.cdf(z), rel=1e-12)
    assert sharpe_standard_error(sr, t) == pytest.approx(math.sqrt((1 + sr ** 2 / 2) / (t - 1)))


def test_psr_is_one_half_when_the_sharpe_equals_the_benchmark():
    assert probabilistic_sharpe_ratio(0.07, 300, sr_benchmark=0.07, skew=-1, kurtosis=6) == 0.5


def test_negative_skew_and_fat_tails_lower_the_psr_of_a_positive_sharpe():
    base = probabilistic_sharpe_ratio(0.05, 1000)
    assert probabilistic_sharpe_ratio(0.05, 1000, skew=-2.0) < base
    assert probabilistic_sharpe_ratio(0.05, 1000, kurtosis=12.0) < base
    assert probabilistic_sharpe_ratio(0.05, 1000, skew=+1.0) > base


def test_psr_grows_with_the_track_record():
    ts = np.array([50, 200, 1000, 5000])
    p = probabilistic_sharpe_ratio(0.05, ts)
    assert np.all(np.diff(p) > 0) and p[-1] > 0.99


def test_psr_is_nan_for_undefined_inputs():
    out = probabilistic_sharpe_ratio(np.array([np.nan, 0.1]), np.array([100, 1]))
    assert np.isnan(out).all()


def test_one_trial_has_no_selection_bias_so_dsr_equals_psr_against_zero():
    assert expected_max_sharpe(1, 0.004) == 0.0
    assert deflated_sharpe_ratio(0.08, 400, 1, 0.004, -0.5, 5) == pytest.approx(
        probabilistic_sharpe_ratio(0.08, 400, 0.0, -0.5, 5), rel=1e-12)


def test_no_dispersion_among_trials_means_no_deflation():
    assert expected_max_sharpe(1000, 0.0) == 0.0


def test_expected_max_sharpe_is_the_papers_closed_form_and_grows_with_trials():
    n, v = 10, 0.01
    z = (1 - EULER_GAMMA) * norm.ppf(1 - 1 / n) + EULER_GAMMA * norm.ppf(1 - 1 / (n * math.e))
    assert expected_max_sharpe(n, v) == pytest.approx(math.sqrt(v) * z)
    grid = expected_max_sharpe(np.array([2, 10, 100, 1000, 10000]), v)
    assert np.all(np.diff(grid) > 0)


def test_expected_max_sharpe_matches_simulated_maxima_of_normal_draws():
    # the closed form is an approximation: within ~4 % at N = 10, ~1 % from N = 100
    rng = np.random.default_rng(7)
    for n, rel in ((10, 0.05), (100, 0.015), (1000, 0.015)):
        simulated = rng.standard_normal((4000, n)).max(axis=1).mean()
        assert expected_max_sharpe(n, 1.0) == pytest.approx(simulated, rel=rel)


def test_more_trials_deflate_the_same_sharpe_more():
    dsr = deflated_sharpe_ratio(0.1, 1000, np.array([1, 10, 100, 1000]), 0.002)
    assert np.all(np.diff(dsr) < 0)


def test_min_track_record_length_is_where_psr_reaches_the_confidence():
    sr, skew, kurt = 0.12, -1.2, 7.0
    t = min_track_record_length(sr, 0.02, skew, kurt, confidence=0.95)
    assert probabilistic_sharpe_ratio(sr, t, 0.02, skew, kurt) == pytest.approx(0.95, abs=1e-12)


def test_min_track_record_length_for_normal_returns():
    # 1 + (1 + SR^2/2) (1.6449 / SR)^2
    sr = 0.1
    expected = 1 + (1 + sr ** 2 / 2) * (norm.ppf(0.95) / sr) ** 2
    assert min_track_record_length(sr) == pytest.approx(expected)
    assert min_track_record_length(sr) == pytest.approx(272.9, abs=0.05)


def test_no_track_record_is_long_enough_below_the_benchmark():
    assert min_track_record_length(0.05, 0.05) == math.inf
    assert min_track_record_length(-0.1) == math.inf


def test_min_track_record_length_rejects_a_confidence_in_percent():
    with pytest.raises(ValueError, match="0.95"):
        min_track_record_length(0.1, confidence=95)


def test_per_bar_sharpe_divides_by_the_square_root_of_the_bars_per_year():
    assert per_bar_sharpe(2.0, 252) == pytest.approx(2.0 / math.sqrt(252))
