"""WalkForwardSpec: typed, frozen, checked on construction, and the job payload."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError, UnknownStrategyError
from lab.jobs.walkforward_job import prepare
from lab.research.walk_forward import WalkForwardSpec


def _spec(**kw) -> WalkForwardSpec:
    base = dict(data="BTCUSD_COINBASE", strategies=("sma_cross",), timeframe="1d",
                grids={"sma_cross": {"fast": [5, 10], "slow": [50]}},
                windows={"n_windows": 2, "train_fraction": 0.7})
    return WalkForwardSpec(**{**base, **kw})


def test_round_trips_through_json_and_is_frozen():
    spec = _spec(sl=[None, 0.02], leverage=(1, 2), select="optuna", n_trials=7, seed=3,
                 config=ExecutionConfig(cash=5000.0))
    doc = json.loads(json.dumps(spec.to_dict()))
    assert WalkForwardSpec.from_dict(doc) == spec
    assert doc["sl"] == [None, 0.02] and doc["tp"] is None and doc["config"]["cash"] == 5000.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.select = "grid"


def test_comma_separated_strategies_and_config_dicts_are_normalized():
    spec = _spec(strategies="sma_cross, rsi", config={"cash": 2000.0})
    assert spec.strategies == ("sma_cross", "rsi")
    assert spec.config == ExecutionConfig(cash=2000.0)


@pytest.mark.parametrize("change, error, match", [
    ({"strategies": ""}, ConfigError, "at least one strategy"),
    ({"strategies": ("nope",)}, UnknownStrategyError, "nope"),
    ({"data": ""}, ConfigError, "needs data"),
    ({"select": "random"}, ConfigError, "unknown selection 'random'"),
    ({"objective": "luck"}, ConfigError, "unknown objective 'luck'"),
    ({"windows": {"folds": 3}}, ConfigError, r"unknown window option\(s\) \['folds'\]"),
    ({"sl": "0.02"}, ConfigError, "sl levels must be a list"),
    ({"leverage": [0.5]}, ConfigError, "leverage level 0.5 does not fit"),
])
def test_bad_settings_are_refused_on_construction(change, error, match):
    with pytest.raises(error, match=match):
        _spec(**change)


def test_unknown_payload_keys_are_named():
    with pytest.raises(ConfigError, match=r"unknown walk-forward option\(s\) \['windowz'\]"):
        WalkForwardSpec.from_dict({**_spec().to_dict(), "windowz": {}})


def test_job_payload_is_the_spec_plus_track_and_id():
    payload, title, total, result = prepare({**_spec().to_dict(), "track": False})
    assert WalkForwardSpec.from_dict({k: v for k, v in payload.items()
                                      if k not in ("track", "wf_id")}) == _spec()
    assert payload["track"] is False and payload["wf_id"] == result["wf_id"]
    assert title == "walk-forward sma_cross on BTCUSD_COINBASE@1d · grid" and total == 2
