"""Walk-forward windows: rolling and anchored layouts, edges, errors."""

from __future__ import annotations

import pandas as pd
import pytest

from lab.core.errors import ConfigError
from lab.research.walk_forward.windows import Window, walk_forward_windows


def _check_layout(windows, n, anchored):
    for w in windows:
        assert w.test.start == w.train.stop                 # test follows its train window
        assert 0 <= w.train.start < w.train.stop <= w.test.start < w.test.stop <= n
        if anchored:
            assert w.train.start == 0
    for a, b in zip(windows, windows[1:]):
        assert b.test.start == a.test.stop                  # contiguous, no overlap
    assert windows[-1].test.stop == n


@pytest.mark.parametrize("anchored", [False, True])
def test_fraction_layout(anchored):
    idx = pd.date_range("2024-01-01", periods=1000, freq="h", tz="UTC")
    ws = walk_forward_windows(idx, n_windows=5, train_fraction=0.7, anchored=anchored)
    assert len(ws) == 5
    _check_layout(ws, 1000, anchored)
    tests = {w.test_bars for w in ws}
    assert len(tests) == 1
    t = tests.pop()
    first_train = ws[0].train_bars
    assert first_train / (first_train + t) == pytest.approx(0.7, abs=0.01)
    if anchored:
        assert [w.train_bars for w in ws] == [first_train + i * t for i in range(5)]
    else:
        assert {w.train_bars for w in ws} == {first_train}
        assert ws[0].train.start >= 0


@pytest.mark.parametrize("anchored", [False, True])
def test_explicit_layout(anchored):
    ws = walk_forward_windows(103, train_bars=40, test_bars=20, anchored=anchored)
    assert len(ws) == 3                      # (103 - 40) // 20
    _check_layout(ws, 103, anchored)
    assert ws[0].train == slice(0 if anchored else 3, 43) and ws[0].test == slice(43, 63)
    assert ws[-1].test == slice(83, 103)
    last2 = walk_forward_windows(103, train_bars=40, test_bars=20, n_windows=2,
                                 anchored=anchored)
    assert [w.test for w in last2] == [w.test for w in ws[1:]]


def test_exact_fit_edge():
    ws = walk_forward_windows(60, train_bars=40, test_bars=20)
    assert ws == [Window(slice(0, 40), slice(40, 60))]


def test_round_trip():
    w = Window(slice(0, 10), slice(10, 15))
    assert Window.from_dict(w.to_dict()) == w


@pytest.mark.parametrize("kwargs, match", [
    ({}, "n_windows and train_fraction"),
    ({"n_windows": 3}, "n_windows and train_fraction"),
    ({"n_windows": 3, "train_fraction": 1.0}, "between 0 and 1"),
    ({"n_windows": 3, "train_fraction": 0}, "between 0 and 1"),
    ({"n_windows": 0, "train_fraction": 0.5}, "whole number >= 1"),
    ({"n_windows": 50, "train_fraction": 0.7}, "too few"),
    ({"train_bars": 10}, "both train_bars and test_bars"),
    ({"train_bars": 10, "test_bars": 5, "train_fraction": 0.5}, "not both"),
    ({"train_bars": 90, "test_bars": 20}, "cannot hold one window"),
    ({"train_bars": 40, "test_bars": 20, "n_windows": 5}, "at most 3"),
    ({"train_bars": 1, "test_bars": 20}, "train_bars"),
    ({"train_bars": 10, "test_bars": 2.5}, "test_bars"),
])
def test_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        walk_forward_windows(100, **kwargs)
