"""Indicator kernels on hand-made series with exact expected values, plus laws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lab.kernels import composite as ck
from lab.kernels import indicators as ik

nan = np.nan


def a(*values):
    return np.array(values, dtype=np.float64)


def eq(actual, expected):
    np.testing.assert_array_equal(actual, np.asarray(expected))


# bars used for the ATR / Supertrend / trailing-stop golden values (ATR period 2):
# TR  = [nan, 1.5, 1.5, 1.5, 2.5, 2.5, 2, 6.5]
# ATR = [nan, nan, 1.5, 1.5, 2, 2.25, 2.125, 4.3125]
HIGH = a(10, 11, 12, 13, 12, 10, 9, 14)
LOW = a(9, 10, 11, 12, 10, 8, 7, 9)
CLOSE = a(9.5, 10.5, 11.5, 12.5, 10.5, 8.5, 7.5, 13.5)


def test_sma_is_nan_until_the_window_is_full():
    eq(ik.sma_nb(a(1, 2, 3, 4, 5), 3), [nan, nan, 2, 3, 4])


def test_sma_is_nan_while_the_window_holds_a_nan_and_recovers_after():
    eq(ik.sma_nb(a(1, 2, nan, 4, 6, 8), 2), [nan, 1.5, nan, nan, 5, 7])


def test_sma_of_period_one_is_the_input():
    eq(ik.sma_nb(a(3, 1, 2), 1), [3, 1, 2])


def test_ema_is_seeded_with_the_sma_of_the_first_period_values():
    # alpha = 2 / (3 + 1) = 0.5; seed mean(2, 4, 6) = 4
    eq(ik.ema_nb(a(2, 4, 6, 8, 4, 2), 3), [nan, nan, 4, 6, 5, 3.5])


def test_ema_skips_leading_nans_so_an_ema_of_an_ema_works():
    eq(ik.ema_nb(a(nan, nan, 2, 4, 6, 8), 3), [nan, nan, nan, nan, 4, 6])


def test_rma_uses_alpha_one_over_period():
    eq(ik.rma_nb(a(1, 2, 3, 6, 6), 2), [nan, 1.5, 2.25, 4.125, 5.0625])


def test_rsi_golden_values_with_wilder_smoothing():
    # changes +1 -1 +2 0 -1; period 2: G/L seeds 0.5/0.5, then Wilder updates
    out = ik.rsi_nb(a(10, 11, 10, 12, 12, 11), 2)
    np.testing.assert_allclose(out, [nan, nan, 50, 100 * 1.25 / 1.5, 100 * 0.625 / 0.75,
                                     100 * 0.3125 / 0.875], rtol=1e-15)


def test_rsi_is_50_on_a_flat_series_and_100_when_only_rising():
    eq(ik.rsi_nb(a(5, 5, 5, 5), 2), [nan, nan, 50, 50])
    eq(ik.rsi_nb(a(1, 2, 3, 4), 2), [nan, nan, 100, 100])


def test_true_range_uses_the_previous_close_and_is_nan_on_bar_zero():
    eq(ik.true_range_nb(a(10, 12, 11), a(9, 10, 8), a(9.5, 11, 9)), [nan, 2.5, 3])


def test_atr_first_value_is_the_mean_of_tr_1_to_period():
    eq(ik.atr_nb(HIGH, LOW, CLOSE, 2), [nan, nan, 1.5, 1.5, 2, 2.25, 2.125, 4.3125])


@pytest.mark.parametrize("ddof,value", [(0, 0.5), (1, np.sqrt(0.5))])
def test_rolling_std_population_and_sample(ddof, value):
    eq(ik.rolling_std_nb(a(1, 2, 3, 4), 2, ddof), [nan, value, value, value])


def test_rolling_std_of_equal_values_is_exactly_zero():
    eq(ik.rolling_std_nb(a(1234.56, 1234.56, 1234.56), 2, 1), [nan, 0, 0])


def test_rolling_max_min_include_the_current_bar():
    x = a(3, 1, 4, 1, 5, nan, 2)
    eq(ik.rolling_max_nb(x, 2), [nan, 3, 4, 4, 5, nan, nan])
    eq(ik.rolling_min_nb(x, 3), [nan, nan, 1, 1, 1, nan, nan])


def test_shift_lags_and_refuses_to_look_ahead():
    eq(ik.shift_nb(a(1, 2, 3), 1), [nan, 1, 2])
    with pytest.raises(ValueError):
        ik.shift_nb(a(1, 2, 3), -1)


def test_roc_is_a_fraction():
    np.testing.assert_allclose(ik.roc_nb(a(100, 110, 121, 60.5), 1),
                               [nan, 0.1, 0.1, -0.5], rtol=1e-15)


def test_zscore_golden_and_nan_where_std_is_zero():
    # windows (1,2,3): z = 1; (2,3,3): z = (1/3) / sqrt(1/3); (3,3,3): std 0 -> NaN
    np.testing.assert_allclose(ik.zscore_nb(a(1, 2, 3, 3, 3, 3), 3, 1),
                               [nan, nan, 1, np.sqrt(1 / 3), nan, nan], rtol=1e-14)


@pytest.mark.parametrize("kernel", [ik.sma_nb, ik.ema_nb, ik.rsi_nb, ik.roc_nb])
def test_period_below_one_raises(kernel):
    with pytest.raises(ValueError):
        kernel(a(1, 2, 3), 0)


def test_cross_above_and_below_golden():
    x = a(1, 2, 3, 2, 1, nan, 3, 1)
    lvl = np.full(8, 2.0)
    eq(ik.cross_above_nb(x, lvl), [0, 0, 1, 0, 0, 0, 0, 0])
    eq(ik.cross_below_nb(x, lvl), [0, 0, 0, 0, 1, 0, 0, 1])
    assert ik.cross_above_nb(x, lvl).dtype == np.bool_


def test_cross_is_false_where_the_other_series_is_nan():
    x = a(1, 3, 1, 3)
    y = a(nan, 2, 2, nan)
    eq(ik.cross_above_nb(x, y), [0, 0, 0, 0])
    eq(ik.cross_below_nb(x, y), [0, 0, 1, 0])


def test_supertrend_golden_values_period_2_multiplier_1():
    line, direction = ck.supertrend_nb(HIGH, LOW, CLOSE, 2, 1.0)
    eq(line, [nan, nan, 10, 11, 13, 11.25, 10.125, 7.1875])
    eq(direction, [nan, nan, 1, 1, -1, -1, -1, 1])


def test_atr_trailing_stop_golden_values_period_2_multiplier_1():
    stop, direction = ck.atr_trailing_stop_nb(CLOSE, ik.atr_nb(HIGH, LOW, CLOSE, 2), 1.0)
    eq(stop, [nan, nan, 10, 11, 12.5, 10.75, 9.625, 9.1875])
    eq(direction, [nan, nan, 1, 1, -1, -1, -1, 1])


def test_stochastic_raw_k_golden_and_50_on_a_zero_range():
    h, lo, c = a(10, 12, 11, 11), a(8, 9, 11, 11), a(9, 11, 11, 11)
    np.testing.assert_allclose(ck.stochastic_raw_nb(h, lo, c, 2), [nan, 75, 200 / 3, 50],
                               rtol=1e-15)


def test_macd_golden_values():
    x = a(1, 2, 3, 4, 5, 6)
    line, sig, hist = ck.macd_nb(x, 1, 3, 2)
    # ema(1) = x; ema(3) seeded 2 then alpha 0.5 -> 3, 4, 5 ; line = 1 from bar 2
    eq(line, [nan, nan, 1, 1, 1, 1])
    eq(sig, [nan, nan, nan, 1, 1, 1])
    eq(hist, [nan, nan, nan, 0, 0, 0])


def test_bollinger_and_keltner_golden_values():
    mid, up, lo = ck.bollinger_nb(a(1, 3, 5), 2, 2.0, 0)
    eq(mid, [nan, 2, 4])
    eq(up, [nan, 4, 6])
    eq(lo, [nan, 0, 2])
    mid, up, lo = ck.keltner_nb(HIGH, LOW, CLOSE, 2, 2, 1.0)
    assert up[2] == mid[2] + 1.5 and lo[7] == mid[7] - 4.3125


finite = arrays(np.float64, st.integers(30, 80),
                elements=st.floats(1.0, 1000.0, allow_nan=False, allow_infinity=False))


@settings(max_examples=40, deadline=None)
@given(x=finite, cut=st.integers(1, 29))
def test_every_kernel_value_is_unchanged_when_later_bars_are_removed(x, cut):
    h, lo, c = x * 1.01, x * 0.99, x
    full = [ik.sma_nb(x, 5), ik.ema_nb(x, 5), ik.rsi_nb(x, 5), ik.atr_nb(h, lo, c, 5),
            ik.rolling_std_nb(x, 5, 1), ik.zscore_nb(x, 5, 0), ik.roc_nb(x, 3),
            ik.rolling_max_nb(x, 4), *ck.supertrend_nb(h, lo, c, 3, 2.0),
            *ck.stochastic_nb(h, lo, c, 5, 3, 3), *ck.ichimoku_nb(h, lo, 3, 5, 8, 5),
            *ck.macd_nb(x, 3, 6, 4)]
    hh, ll, cc, xx = h[:cut], lo[:cut], c[:cut], x[:cut]
    part = [ik.sma_nb(xx, 5), ik.ema_nb(xx, 5), ik.rsi_nb(xx, 5), ik.atr_nb(hh, ll, cc, 5),
            ik.rolling_std_nb(xx, 5, 1), ik.zscore_nb(xx, 5, 0), ik.roc_nb(xx, 3),
            ik.rolling_max_nb(xx, 4), *ck.supertrend_nb(hh, ll, cc, 3, 2.0),
            *ck.stochastic_nb(hh, ll, cc, 5, 3, 3), *ck.ichimoku_nb(hh, ll, 3, 5, 8, 5),
            *ck.macd_nb(xx, 3, 6, 4)]
    for f, p in zip(full, part):
        np.testing.assert_array_equal(f[:cut], p)


@settings(max_examples=30, deadline=None)
@given(value=st.floats(0.01, 1e6), n=st.integers(3, 40))
def test_averages_of_a_constant_are_the_constant(value, n):
    x = np.full(60, value)
    for out in (ik.sma_nb(x, n), ik.ema_nb(x, n), ik.rma_nb(x, n)):
        np.testing.assert_allclose(out[n - 1:], value, rtol=1e-12)
        assert np.isnan(out[:n - 1]).all()
