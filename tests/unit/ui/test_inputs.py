"""Level and range text inputs of the forms (lab.ui.inputs)."""

from __future__ import annotations

import pytest

from lab.core.errors import ConfigError
from lab.ui.inputs import parse_levels, parse_range, split_list


def test_percent_levels_become_fractions_and_off_words_mean_none():
    assert parse_levels("off, 1; 2.5%, 0", "Stop-loss") == (None, 0.01, 0.025, None)
    assert parse_levels("1, 2,3", "Leverage", percent=False) == (1.0, 2.0, 3.0)
    assert split_list(" 1, ;2 ,") == ["1", "2"]


def test_ranges_are_low_high_in_percent_or_off():
    assert parse_range("1:5", "Stop-loss") == (0.01, 0.05)
    assert parse_range("1:3", "Leverage", percent=False) == (1.0, 3.0)
    assert parse_range(" OFF ", "Take-profit") is None


@pytest.mark.parametrize("call, match", [
    (lambda: parse_levels("1, x", "Stop-loss"), "Stop-loss: 'x' is not a number"),
    (lambda: parse_levels(" , ", "Leverage", percent=False), "give at least one level"),
    (lambda: parse_range("5:1", "Stop-loss"), "low must be >= 0 and <= high"),
    (lambda: parse_range("1-5", "Stop-loss"), "write low:high"),
])
def test_bad_inputs_name_the_field_and_the_fix(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


def test_the_command_line_uses_the_same_grammar_in_fractions():
    """``--sl none,0.02`` / ``--leverage 1:3`` / ``--sl 0.02``: the forms' parser, no
    percent."""
    from lab.cli.optimize import _range
    from lab.cli.sweep import _floats

    assert _floats("none, 0.02; -", "sl", allow_none=True) == (None, 0.02, None)
    assert _floats("1,3", "leverage") == (1.0, 3.0)
    assert _range("0.01:0.05", "sl") == (None, (0.01, 0.05))
    assert _range("2", "leverage") == (2.0, None) and _range("off", "tp") == (None, None)
    with pytest.raises(ConfigError, match="--leverage: 'none' is not a number; write e.g. 1, 2, 3"):
        _floats("none", "leverage")
    with pytest.raises(ConfigError, match=r"--sl: '0.05:0.01': low must be >= 0 and <= high"):
        _range("0.05:0.01", "sl")
    with pytest.raises(ConfigError, match=r"write low:high \(e.g. 0.01:0.05\), one number"):
        _range("1-5", "sl")
