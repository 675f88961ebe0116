"""ExecutionConfig and Commission refuse bad input with a message that says how to fix it."""

from __future__ import annotations

import pytest

from lab.core import (AssetClass, Commission, ConfigError, ExecutionConfig, periods_per_year)


@pytest.mark.parametrize("kwargs, words", [
    ({"leverage": 0.5}, "between 1"),
    ({"leverage": 101}, "between 1"),
    ({"cash": -5}, "positive"),
    ({"sl": 0}, "fraction of the entry price"),
    ({"sl": 2.0}, "at or below zero"),
    ({"tp": -0.1}, "fraction of the entry price"),
    ({"slippage": 5}, "0.0005 = 5 bps"),
    ({"size": 1.5}, "raise leverage instead"),
    ({"direction": "sideways"}, "sideways"),
    ({"leverage": 50, "maintenance_margin": 0.05}, "initial margin"),
    ({"min_notional": -1}, "min_notional=-1 must be a number >= 0"),
    ({"min_notional": float("nan")}, "smallest entry order value"),
    ({"min_notional": float("inf")}, "0 = off"),
    ({"min_notional": "10"}, "min_notional='10'"),
])
def test_bad_execution_config_is_refused_with_a_hint(kwargs, words):
    with pytest.raises(ConfigError, match=words):
        ExecutionConfig(**kwargs)


def test_percent_commission_given_in_percent_units_is_refused():
    with pytest.raises(ConfigError, match="fractions"):
        Commission("percent", rate=0.1)


def test_negative_commission_is_refused():
    with pytest.raises(ConfigError, match=">= 0"):
        Commission("per_share", rate=-0.005)


def test_config_round_trips_through_a_plain_dict():
    cfg = ExecutionConfig(direction="both", leverage=5, sl=0.02, tp=0.04,
                          commission=Commission("per_share", 0.005, 1.0, 0.01),
                          min_notional=10.0)
    assert cfg.to_dict()["min_notional"] == 10.0
    assert ExecutionConfig.from_dict(cfg.to_dict()) == cfg


def test_config_recorded_before_min_notional_existed_reads_as_off():
    d = ExecutionConfig().to_dict()
    del d["min_notional"]
    assert ExecutionConfig.from_dict(d).min_notional == 0.0


@pytest.mark.parametrize("tf, ac, expected", [
    ("1d", AssetClass.EQUITY, 252.0),
    ("1h", AssetClass.CRYPTO, 8760.0),
    ("1d", AssetClass.CRYPTO, 365.0),
    ("1h", AssetClass.FX, 252.0 * 24),
    ("1h", AssetClass.EQUITY, 252.0 * 6.5),
    ("1w", AssetClass.INDEX, 52.0),
])
def test_periods_per_year_follows_bar_size_and_calendar(tf, ac, expected):
    assert periods_per_year(tf, ac) == pytest.approx(expected)
