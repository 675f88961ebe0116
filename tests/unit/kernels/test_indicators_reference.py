"""Every indicator kernel against an independent reference on real sample bars.

References are pandas' own rolling/ewm formulas (or a plain-Python port of the published
algorithm for Supertrend and the ATR trailing stop). Agreement: the same warm-up NaNs
and values equal to 1e-9 relative (differences such as the MACD line, which cross
zero, get an absolute tolerance of 1e-9 x the price level instead).

Rolling standard deviations are checked against numpy's two-pass ``std`` over
``sliding_window_view`` with the same ``ddof`` as pandas' ``rolling().std(ddof=...)``:
pandas' online update leaves residue where the true std is 0 (about 6e-6 on two equal
S&P 500 closes), which the kernel's per-window two-pass sum does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab.kernels import composite as ck
from lab.kernels import indicators as ik

RTOL = 1e-9


def assert_matches(actual, expected, rtol=RTOL, atol=0.0):
    expected = np.asarray(expected, dtype=float)
    assert actual.dtype == np.float64 and actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected),
                                  err_msg="warm-up NaNs differ")
    assert np.isfinite(expected).sum() > 0.5 * len(expected)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


def seeded_ewm(x: pd.Series, period: int, alpha: float) -> pd.Series:
    """TA-Lib seeding in pandas: SMA of the first `period` valid values, then ewm."""
    x = pd.Series(np.asarray(x, dtype=float))
    start = int(x.first_valid_index())
    y = x.copy()
    y.iloc[:start + period - 1] = np.nan
    y.iloc[start + period - 1] = x.iloc[start:start + period].mean()
    return y.ewm(alpha=alpha, adjust=False).mean()


def rolling_std(s: pd.Series, period: int, ddof: int) -> np.ndarray:
    """Two-pass std of every full window (pandas' ``rolling(period).std(ddof)``)."""
    x = s.to_numpy(float)
    out = np.full(len(x), np.nan)
    out[period - 1:] = np.lib.stride_tricks.sliding_window_view(x, period).std(
        axis=1, ddof=ddof)
    return out


def test_pandas_rolling_std_agrees_with_two_pass_reference_away_from_zero(real_bars):
    c = real_bars["close"]
    ref = rolling_std(c, 20, 1)
    pd_std = c.rolling(20).std().to_numpy()
    big = ref > 1e-3 * c.to_numpy()
    np.testing.assert_allclose(pd_std[big], ref[big], rtol=1e-6)


def arrays(bars):
    return (bars["high"].to_numpy(float).copy(), bars["low"].to_numpy(float).copy(),
            bars["close"].to_numpy(float).copy())


def ref_true_range(bars) -> pd.Series:
    h, lo, c = bars["high"], bars["low"], bars["close"]
    pc = c.shift(1)
    tr = pd.concat([h - lo, (h - pc).abs(), (lo - pc).abs()], axis=1).max(axis=1)
    tr.iloc[0] = np.nan
    return tr.reset_index(drop=True)


def ref_atr(bars, period) -> pd.Series:
    return seeded_ewm(ref_true_range(bars), period, 1.0 / period)


PERIODS = [2, 14, 50]


@pytest.mark.parametrize("period", PERIODS)
def test_sma_matches_pandas_rolling_mean(real_bars, period):
    c = real_bars["close"]
    assert_matches(ik.sma_nb(c.to_numpy(float), period), c.rolling(period).mean())


@pytest.mark.parametrize("period", PERIODS)
def test_ema_matches_sma_seeded_pandas_ewm(real_bars, period):
    c = real_bars["close"]
    assert_matches(ik.ema_nb(c.to_numpy(float), period),
                   seeded_ewm(c, period, 2.0 / (period + 1)))


@pytest.mark.parametrize("period", PERIODS)
def test_rma_matches_wilder_recursion(real_bars, period):
    c = real_bars["close"].to_numpy(float)
    expected = np.full(len(c), np.nan)
    expected[period - 1] = c[:period].mean()
    for i in range(period, len(c)):
        expected[i] = (expected[i - 1] * (period - 1) + c[i]) / period
    assert_matches(ik.rma_nb(c, period), expected)


@pytest.mark.parametrize("period", PERIODS)
def test_rsi_matches_wilder_rsi_in_pandas(real_bars, period):
    c = real_bars["close"].reset_index(drop=True)
    d = c.diff()
    g = seeded_ewm(d.clip(lower=0), period, 1.0 / period)
    lo = seeded_ewm((-d).clip(lower=0), period, 1.0 / period)
    expected = 100.0 - 100.0 / (1.0 + g / lo)
    assert_matches(ik.rsi_nb(c.to_numpy(float), period), expected)


def test_true_range_matches_pandas(real_bars):
    assert_matches(ik.true_range_nb(*arrays(real_bars)), ref_true_range(real_bars))


@pytest.mark.parametrize("period", PERIODS)
def test_atr_matches_wilder_smoothed_true_range(real_bars, period):
    assert_matches(ik.atr_nb(*arrays(real_bars), period), ref_atr(real_bars, period))


@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("period", [2, 20, 100])
def test_rolling_std_matches_pandas_ddof(real_bars, period, ddof):
    c = real_bars["close"]
    assert_matches(ik.rolling_std_nb(c.to_numpy(float), period, ddof),
                   rolling_std(c, period, ddof), atol=1e-12 * float(c.median()))


@pytest.mark.parametrize("period", [1, 20, 55])
def test_rolling_max_min_match_pandas(real_bars, period):
    h, lo = real_bars["high"], real_bars["low"]
    assert_matches(ik.rolling_max_nb(h.to_numpy(float), period), h.rolling(period).max())
    assert_matches(ik.rolling_min_nb(lo.to_numpy(float), period), lo.rolling(period).min())


@pytest.mark.parametrize("k", [0, 1, 7])
def test_shift_matches_pandas_shift(real_bars, k):
    c = real_bars["close"]
    assert_matches(ik.shift_nb(c.to_numpy(float), k), c.shift(k))


@pytest.mark.parametrize("period", [1, 10, 100])
def test_roc_matches_pandas_pct_change(real_bars, period):
    c = real_bars["close"]
    assert_matches(ik.roc_nb(c.to_numpy(float), period), c.pct_change(period),
                   atol=1e-15)


@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("period", [5, 20, 100])
def test_zscore_matches_pandas(real_bars, period, ddof):
    c = real_bars["close"]
    sd = rolling_std(c, period, ddof)
    expected = (c - c.rolling(period).mean()) / np.where(sd == 0, np.nan, sd)
    assert_matches(ik.zscore_nb(c.to_numpy(float), period, ddof), expected, atol=1e-9)


@pytest.mark.parametrize("fast,slow,signal", [(12, 26, 9), (5, 35, 5)])
def test_macd_matches_seeded_pandas_ewm(real_bars, fast, slow, signal):
    c = real_bars["close"].reset_index(drop=True)
    line = seeded_ewm(c, fast, 2 / (fast + 1)) - seeded_ewm(c, slow, 2 / (slow + 1))
    sig = seeded_ewm(line, signal, 2 / (signal + 1))
    out = ck.macd_nb(c.to_numpy(float), fast, slow, signal)
    atol = 1e-9 * float(c.median())
    assert_matches(out[0], line, atol=atol)
    assert_matches(out[1], sig, atol=atol)
    assert_matches(out[2], line - sig, atol=atol)


@pytest.mark.parametrize("period,k", [(20, 2.0), (50, 1.5)])
def test_bollinger_matches_pandas_population_std(real_bars, period, k):
    c = real_bars["close"]
    mid = c.rolling(period).mean()
    sd = rolling_std(c, period, 0)
    out = ck.bollinger_nb(c.to_numpy(float), period, k, 0)
    assert_matches(out[0], mid)
    assert_matches(out[1], mid + k * sd)
    assert_matches(out[2], mid - k * sd)


def test_keltner_matches_ema_plus_wilder_atr(real_bars):
    c = real_bars["close"].reset_index(drop=True)
    mid = seeded_ewm(c, 20, 2 / 21)
    atr = ref_atr(real_bars, 10)
    out = ck.keltner_nb(*arrays(real_bars), 20, 10, 2.0)
    assert_matches(out[0], mid)
    assert_matches(out[1], mid + 2.0 * atr)
    assert_matches(out[2], mid - 2.0 * atr)


@pytest.mark.parametrize("k_period,k_smooth,d_period", [(14, 1, 3), (14, 3, 3), (5, 3, 5)])
def test_stochastic_matches_pandas(real_bars, k_period, k_smooth, d_period):
    h, lo, c = real_bars["high"], real_bars["low"], real_bars["close"]
    hh, ll = h.rolling(k_period).max(), lo.rolling(k_period).min()
    raw = (100 * (c - ll) / (hh - ll)).where(hh != ll, 50.0).where(hh.notna())
    k = raw.rolling(k_smooth).mean()
    d = k.rolling(d_period).mean()
    out = ck.stochastic_nb(*arrays(real_bars), k_period, k_smooth, d_period)
    assert_matches(out[0], k)
    assert_matches(out[1], d)


def test_ichimoku_matches_pandas(real_bars):
    h, lo = real_bars["high"], real_bars["low"]

    def mid(n):
        return (h.rolling(n).max() + lo.rolling(n).min()) / 2

    t, k = mid(9), mid(26)
    out = ck.ichimoku_nb(h.to_numpy(float), lo.to_numpy(float), 9, 26, 52, 26)
    assert_matches(out[0], t)
    assert_matches(out[1], k)
    assert_matches(out[2], ((t + k) / 2).shift(26))
    assert_matches(out[3], mid(52).shift(26))


def pine_supertrend(h, lo, c, atr, m):
    """Plain-Python port of the TradingView SuperTrend script (KivancOzbilgic)."""
    n = len(c)
    line, dirn = np.full(n, np.nan), np.full(n, np.nan)
    up = dn = trend = None
    for i in range(n):
        if np.isnan(atr[i]):
            continue
        src = (h[i] + lo[i]) / 2
        up_i, dn_i = src - m * atr[i], src + m * atr[i]
        if up is not None:
            up_i = max(up_i, up) if c[i - 1] > up else up_i
            dn_i = min(dn_i, dn) if c[i - 1] < dn else dn_i
            trend = 1 if (trend == -1 and c[i] > dn) else (-1 if (trend == 1 and c[i] < up)
                                                          else trend)
        else:
            trend = 1
        up, dn = up_i, dn_i
        line[i] = up if trend == 1 else dn
        dirn[i] = trend
    return line, dirn


@pytest.mark.parametrize("period,mult", [(10, 3.0), (7, 1.5)])
def test_supertrend_matches_pine_port_on_wilder_atr(real_bars, period, mult):
    h, lo, c = arrays(real_bars)
    atr = ref_atr(real_bars, period).to_numpy()
    line, dirn = pine_supertrend(h, lo, c, atr, mult)
    out = ck.supertrend_nb(h, lo, c, period, mult)
    np.testing.assert_array_equal(out[1], dirn)
    assert_matches(out[0], line)
    assert (np.diff(dirn[period:]) != 0).sum() > 10      # the data really flips


def vervoort_stop(c, atr, m):
    n = len(c)
    stop, dirn = np.full(n, np.nan), np.full(n, np.nan)
    s = None
    for i in range(n):
        if np.isnan(atr[i]):
            continue
        loss = m * atr[i]
        if s is None:
            s, d = c[i] - loss, 1
        elif c[i] > s and c[i - 1] > s:
            s, d = max(s, c[i] - loss), 1
        elif c[i] < s and c[i - 1] < s:
            s, d = min(s, c[i] + loss), -1
        elif c[i] > s:
            s, d = c[i] - loss, 1
        else:
            s, d = c[i] + loss, -1
        stop[i], dirn[i] = s, d
    return stop, dirn


def test_atr_trailing_stop_matches_python_port(real_bars):
    h, lo, c = arrays(real_bars)
    atr = ref_atr(real_bars, 14).to_numpy()
    stop, dirn = vervoort_stop(c, atr, 3.0)
    out = ck.atr_trailing_stop_nb(c, ik.atr_nb(h, lo, c, 14), 3.0)
    np.testing.assert_array_equal(out[1], dirn)
    assert_matches(out[0], stop)


def test_crosses_match_pandas_expression_on_sma_pair(real_bars):
    c = real_bars["close"]
    f, s = c.rolling(10).mean(), c.rolling(30).mean()
    valid = f.notna() & s.notna() & f.shift().notna() & s.shift().notna()
    above = ((f > s) & (f.shift() <= s.shift()) & valid).to_numpy()
    below = ((f < s) & (f.shift() >= s.shift()) & valid).to_numpy()
    a, b = ik.sma_nb(c.to_numpy(float), 10), ik.sma_nb(c.to_numpy(float), 30)
    np.testing.assert_array_equal(ik.cross_above_nb(a, b), above)
    np.testing.assert_array_equal(ik.cross_below_nb(a, b), below)
    assert above.sum() > 5 and below.sum() > 5
