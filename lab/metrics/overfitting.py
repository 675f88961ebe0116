"""How much a Sharpe ratio found by searching can be trusted.

Every function here works on **per-bar (non-annualized) Sharpe ratios**: mean of the
per-bar returns over their standard deviation, with no ``sqrt(periods_per_year)``
factor. The formulas are stated in those units; annualized values must be converted
first (``per_bar_sharpe``), because the standard error of a Sharpe ratio depends on the
number of observations it was estimated from, not on the calendar.

Sources
-------
* Bailey, D. H. and López de Prado, M. (2012). "The Sharpe Ratio Efficient Frontier".
  Journal of Risk 15(2). Probabilistic Sharpe ratio (PSR, eq. 11 there) and minimum
  track record length (MinTRL, eq. 14), after Mertens (2002) for the variance of the
  Sharpe estimator under non-normal i.i.d. returns.
* Bailey, D. H. and López de Prado, M. (2014). "The Deflated Sharpe Ratio: Correcting
  for Selection Bias, Backtest Overfitting and Non-Normality". Journal of Portfolio
  Management 40(5), 94-107. Expected maximum Sharpe ratio of N trials (eq. 2 there,
  from the False Strategy theorem) and DSR = PSR against that maximum (eq. 1).

Kurtosis is Pearson's (normal = 3), not the excess kurtosis.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

#: Euler-Mascheroni constant, used in the expected maximum of N normal draws.
EULER_GAMMA = 0.5772156649015329


def per_bar_sharpe(annual_sharpe, periods_per_year):
    """Annualized Sharpe -> per-bar Sharpe: ``SR / sqrt(periods_per_year)``.

    Parameters
    ----------
    annual_sharpe : float or ndarray
        Sharpe ratio annualized with ``sqrt(periods_per_year)`` (as
        ``lab.metrics.performance_metrics`` reports it).
    periods_per_year : float or ndarray
        Bars per year (252 for daily equities, 8760 for hourly crypto).
    """
    return np.asarray(annual_sharpe, dtype=float) / np.sqrt(np.asarray(periods_per_year,
                                                                        dtype=float))


def _variance_term(sr, skew, kurtosis):
    """``1 - skew * SR + (kurtosis - 1) / 4 * SR^2``: (T - 1) times the variance of the
    Sharpe estimator (Mertens 2002). Non-negative for any real distribution, since
    kurtosis >= 1 + skew^2; clipped at a tiny positive number against rounding."""
    v = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    return np.maximum(v, 1e-12)


def sharpe_standard_error(sr, n_obs, skew=0.0, kurtosis=3.0):
    """Standard error of a per-bar Sharpe estimate.

    ``sqrt((1 - skew SR + (kurtosis - 1) / 4 SR^2) / (T - 1))`` (Bailey & López de
    Prado 2012, eq. 8; Mertens 2002). For normal returns it is
    ``sqrt((1 + SR^2 / 2) / (T - 1))`` (Lo 2002).

    Parameters
    ----------
    sr : float or ndarray
        Per-bar Sharpe ratio.
    n_obs : int or ndarray
        T, number of returns the Sharpe was estimated from (>= 2).
    skew, kurtosis : float or ndarray
        Sample skewness and Pearson kurtosis (normal = 3) of the returns.
    """
    sr = np.asarray(sr, dtype=float)
    n = np.asarray(n_obs, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(_variance_term(sr, skew, kurtosis) / (n - 1.0))


def probabilistic_sharpe_ratio(sr, n_obs, sr_benchmark=0.0, skew=0.0, kurtosis=3.0):
    """Probability that the true Sharpe ratio exceeds ``sr_benchmark`` (PSR).

    ``PSR(SR*) = Phi((SR - SR*) sqrt(T - 1) / sqrt(1 - skew SR + (kurtosis - 1) / 4
    SR^2))`` (Bailey & López de Prado 2012, eq. 11), all Sharpe ratios per bar.

    Parameters
    ----------
    sr : float or ndarray
        Observed per-bar Sharpe ratio.
    n_obs : int or ndarray
        T, number of per-bar returns (>= 2).
    sr_benchmark : float or ndarray
        SR*, per-bar Sharpe to beat (0 = "is there any skill").
    skew, kurtosis : float or ndarray
        Skewness and Pearson kurtosis (normal = 3) of the returns.

    Returns
    -------
    float or ndarray
        Probability in [0, 1]; NaN where ``sr`` is NaN or T < 2.
    """
    sr = np.asarray(sr, dtype=float)
    n = np.asarray(n_obs, dtype=float)
    skew = np.asarray(skew, dtype=float)
    kurtosis = np.asarray(kurtosis, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (sr - sr_benchmark) * np.sqrt(n - 1.0) / np.sqrt(
            _variance_term(sr, skew, kurtosis))
        out = norm.cdf(z)
    out = np.where(np.isnan(sr) | ~(n >= 2) | np.isnan(z), np.nan, out)
    return out[()] if out.ndim == 0 else out


def expected_max_sharpe(n_trials, sr_variance, sr_mean=0.0):
    """Expected maximum of ``n_trials`` Sharpe ratios when none has skill.

    ``E[max SR] = mean + sqrt(V) ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e)))``
    with g the Euler-Mascheroni constant (Bailey & López de Prado 2014, eq. 2; an
    approximation of the expected maximum of N independent normal draws).

    Parameters
    ----------
    n_trials : int or ndarray
        N, the number of independent trials (parameter sets) that were tried.
    sr_variance : float or ndarray
        V, variance of the trials' per-bar Sharpe ratios.
    sr_mean : float
        Mean Sharpe under the null (0: no skill).

    Returns
    -------
    float or ndarray
        Per-bar Sharpe ratio SR0. Equal to ``sr_mean`` for N = 1 (one trial carries no
        selection bias) and for V = 0; NaN for N < 1 or NaN variance.
    """
    n = np.asarray(n_trials, dtype=float)
    v = np.asarray(sr_variance, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(n > 1, n, 2.0)
        z = ((1.0 - EULER_GAMMA) * norm.ppf(1.0 - 1.0 / safe)
             + EULER_GAMMA * norm.ppf(1.0 - 1.0 / (safe * math.e)))
        out = sr_mean + np.sqrt(np.maximum(v, 0.0)) * np.where(n > 1, z, 0.0)
    out = np.where((n >= 1) & ~np.isnan(v), out, np.nan)
    return out[()] if out.ndim == 0 else out


def deflated_sharpe_ratio(sr, n_obs, n_trials, sr_variance, skew=0.0, kurtosis=3.0):
    """Probability that a Sharpe ratio selected as the best of N trials is real (DSR).

    ``DSR = PSR(SR0)`` with ``SR0 = expected_max_sharpe(N, V)`` (Bailey & López de
    Prado 2014, eq. 1-2): the observed Sharpe is tested against the best Sharpe that N
    skill-less trials with the observed dispersion would be expected to produce.

    Parameters
    ----------
    sr : float or ndarray
        Per-bar Sharpe ratio of the selected trial.
    n_obs : int or ndarray
        T, number of its per-bar returns.
    n_trials : int or ndarray
        N, number of trials tried (all of them, not only the ones shown).
    sr_variance : float or ndarray
        V, variance of the per-bar Sharpe ratios of the N trials.
    skew, kurtosis : float or ndarray
        Skewness and Pearson kurtosis of the selected trial's returns.

    Returns
    -------
    float or ndarray
        Probability in [0, 1]. With N = 1 it equals ``PSR(0)``.

    Examples
    --------
    The paper's example: annual SR 2.5 over 5 years of daily returns (T = 1250,
    250 bars a year), skew -3, kurtosis 10, after N = 100 trials whose annualized
    Sharpe ratios have variance 1/2:

    >>> round(float(deflated_sharpe_ratio(2.5 / 250 ** 0.5, 1250, 100, 0.5 / 250,
    ...                                   -3, 10)), 4)
    0.9004
    """
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    return probabilistic_sharpe_ratio(sr, n_obs, sr0, skew, kurtosis)


def min_track_record_length(sr, sr_benchmark=0.0, skew=0.0, kurtosis=3.0,
                            confidence=0.95):
    """Minimum number of bars for the Sharpe ratio to beat ``sr_benchmark`` with
    ``confidence`` (MinTRL).

    ``MinTRL = 1 + (1 - skew SR + (kurtosis - 1) / 4 SR^2) (Phi^-1(confidence) /
    (SR - SR*))^2`` (Bailey & López de Prado 2012, eq. 14), per-bar Sharpe ratios.
    It is the T at which ``probabilistic_sharpe_ratio`` equals ``confidence``.

    Parameters
    ----------
    sr : float or ndarray
        Observed per-bar Sharpe ratio.
    sr_benchmark : float
        SR*, per-bar.
    skew, kurtosis : float or ndarray
        Skewness and Pearson kurtosis (normal = 3).
    confidence : float
        Probability level in (0, 1), e.g. 0.95.

    Returns
    -------
    float or ndarray
        Number of bars (not rounded); +inf when ``sr <= sr_benchmark`` (no track
        record is long enough).

    Raises
    ------
    ValueError
        When ``confidence`` is not strictly between 0 and 1.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence={confidence} must be in (0, 1), e.g. 0.95")
    sr = np.asarray(sr, dtype=float)
    gap = sr - sr_benchmark
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 1.0 + _variance_term(sr, skew, kurtosis) * (norm.ppf(confidence) / gap) ** 2
    out = np.where(gap > 0, out, np.where(np.isnan(gap), np.nan, np.inf))
    return out[()] if out.ndim == 0 else out


# --------------------------------------------------------------------------------------
# Probability of backtest overfitting (PBO) by combinatorially symmetric cross-validation
# --------------------------------------------------------------------------------------
#
# Bailey, D. H., Borwein, J., López de Prado, M. and Zhu, Q. J. (2017). "The Probability
# of Backtest Overfitting". Journal of Computational Finance 20(4), 39-69 (working paper
# 2013-2015, SSRN 2326253). Section 2 ("CSCV"), steps 1-6:
#
# 1. M = T x N matrix of per-bar returns of N trials (same bars for all).
# 2. Cut the rows into S disjoint blocks of equal size (S even).
# 3. For every one of the C(S, S/2) combinations c of S/2 blocks: J = rows of c (in-sample),
#    J' = rows of the other blocks (out-of-sample).
# 4. R = performance of each trial on J, R' = on J'; n* = argmax R.
# 5. w = relative rank of R'[n*] among R' (rank / (N + 1), ranks 1..N).
# 6. logit lambda_c = ln(w / (1 - w)); PBO = share of combinations with lambda_c <= 0
#    (the selected trial does not beat the out-of-sample median).

#: Performance measures ``probability_of_backtest_overfitting`` understands.
PBO_METRICS = ("sharpe", "mean")


def _cscv_combinations(n_splits: int) -> np.ndarray:
    """Boolean matrix (C(S, S/2), S): row c marks the in-sample blocks of combination c."""
    from itertools import combinations

    combos = list(combinations(range(n_splits), n_splits // 2))
    out = np.zeros((len(combos), n_splits), dtype=bool)
    for i, c in enumerate(combos):
        out[i, list(c)] = True
    return out


def probability_of_backtest_overfitting(returns_matrix, n_splits: int = 16,
                                        metric: str = "sharpe") -> dict:
    """PBO of choosing the best of N trials in-sample, by CSCV (Bailey et al. 2017).

    Parameters
    ----------
    returns_matrix : ndarray or DataFrame, shape (T, N)
        Per-bar simple returns (fractions) of N >= 2 trials over the same T bars.
        NaN counts as a zero return (a bar before the first trade, say).
    n_splits : int
        S, number of blocks (even, >= 2, at most T). 16 gives C(16, 8) = 12,870
        combinations. The last ``T mod S`` rows are dropped so blocks are equal.
    metric : str
        In-sample and out-of-sample performance: ``"sharpe"`` (per-bar mean / standard
        deviation, ddof 1; not annualized - ranks do not depend on the scale) or
        ``"mean"`` (mean per-bar return).

    Returns
    -------
    dict
        ``pbo``: probability in [0, 1], share of combinations whose logit <= 0.
        ``logits``: ndarray (n_combinations,), lambda_c = ln(w_c / (1 - w_c)).
        ``rank_oos``: ndarray, w_c, relative out-of-sample rank of the IS-best trial.
        ``is_best``, ``oos_of_is_best``: ndarray, performance of the selected trial
        in-sample and out-of-sample (per bar, units of ``metric``).
        ``selected``: ndarray of int, column of the IS-best trial per combination.
        ``degradation_slope``, ``degradation_intercept``: OLS fit of
        ``oos_of_is_best`` on ``is_best`` (performance degradation, section 3 there).
        ``prob_oos_loss``: share of combinations where the selected trial's OOS
        performance is < 0.
        ``n_trials``, ``n_splits``, ``n_combinations``, ``block_size``, ``metric``.

    Raises
    ------
    ValueError
        Fewer than 2 trials, S odd or < 2, fewer than 2 rows per block, unknown metric.

    Notes
    -----
    Ties in the out-of-sample ranks get their average rank, so N identical trials give
    w = 1/2 and lambda = 0 (counted as overfit: the selection added nothing). The
    per-block sums make every combination O(N), so S = 16 costs about 12,870 x N
    operations.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.normal(0, 0.01, (2000, 20))
    >>> round(probability_of_backtest_overfitting(noise, 8)["pbo"], 1) in (0.3, 0.4, 0.5, 0.6, 0.7)
    True
    """
    from scipy.stats import rankdata

    m = np.asarray(getattr(returns_matrix, "values", returns_matrix), dtype=float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"returns_matrix must be T x N with N >= 2 trials, got shape {m.shape}")
    if metric not in PBO_METRICS:
        raise ValueError(f"metric={metric!r}; one of {', '.join(PBO_METRICS)}")
    if n_splits < 2 or n_splits % 2:
        raise ValueError(f"n_splits={n_splits} must be even and >= 2 (16 is usual)")
    t, n = m.shape
    block = t // n_splits
    if block < 2:
        raise ValueError(f"{t} rows cannot make {n_splits} blocks of at least 2 rows; "
                         "lower n_splits")
    m = np.nan_to_num(m[: block * n_splits], nan=0.0)
    blocks = m.reshape(n_splits, block, n)
    s1 = blocks.sum(axis=1)                      # (S, N)
    s2 = (blocks * blocks).sum(axis=1)
    combos = _cscv_combinations(n_splits)        # (C, S)
    rows = block * (n_splits // 2)

    def perf(mask):
        w = mask.astype(float)
        total = w @ s1
        mean = total / rows
        if metric == "mean":
            return mean
        var = (w @ s2 - rows * mean * mean) / (rows - 1)
        sd = np.sqrt(np.maximum(var, 0.0))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(sd > 1e-15, mean / np.where(sd > 1e-15, sd, 1.0), 0.0)
        return out

    r_is = perf(combos)                          # (C, N)
    r_oos = perf(~combos)
    selected = np.argmax(r_is, axis=1)
    idx = np.arange(len(combos))
    ranks = rankdata(r_oos, axis=1, method="average")
    w = ranks[idx, selected] / (n + 1.0)
    logits = np.log(w / (1.0 - w))
    is_best = r_is[idx, selected]
    oos_best = r_oos[idx, selected]
    if np.ptp(is_best) > 0:
        slope, intercept = np.polyfit(is_best, oos_best, 1)
    else:
        slope, intercept = float("nan"), float(np.mean(oos_best))
    return dict(pbo=float(np.mean(logits <= 0.0)), logits=logits, rank_oos=w,
                is_best=is_best, oos_of_is_best=oos_best, selected=selected,
                degradation_slope=float(slope), degradation_intercept=float(intercept),
                prob_oos_loss=float(np.mean(oos_best < 0.0)), n_trials=int(n),
                n_splits=int(n_splits), n_combinations=int(len(combos)),
                block_size=int(block), metric=metric)
