"""StudySpec: typed, frozen, checked on construction, and the job payload."""

from __future__ import annotations

import json

import pytest

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.jobs.optimize_job import prepare
from lab.research.optimize import StudySpec

BASE = dict(symbol="BTCUSD_COINBASE", timeframe="1h", strategy="sma_cross",
            study_name="sma-btc")


def test_round_trips_through_json_leaving_unset_options_out():
    spec = StudySpec(**BASE, n_trials=20, objectives=("sharpe", "max_drawdown"),
                     search_sl=(0.01, 0.05), seed=7, config=ExecutionConfig(cash=500.0))
    doc = json.loads(json.dumps(spec.to_dict()))
    assert StudySpec.from_dict(doc) == spec
    assert doc["search_sl"] == [0.01, 0.05] and "search_tp" not in doc and "storage" not in doc
    assert spec.levels() == {"search_sl": (0.01, 0.05)}


@pytest.mark.parametrize("change, match", [
    ({"objectives": ("luck",)}, r"objectives \['luck'\]: one or two of"),
    ({"sampler": "bogo"}, "sampler 'bogo'"),
    ({"workers": 0}, "workers: give 1 or more"),
    ({"search_tp": (0.01,)}, r"search_tp must be a \(low, high\) pair"),
    ({"param_space": {"nope": [1]}}, "sma_cross has no parameter 'nope'"),
])
def test_bad_settings_are_refused_on_construction(change, match):
    with pytest.raises(ConfigError, match=match):
        StudySpec(**{**BASE, **change})


def test_missing_and_unknown_payload_keys_are_named():
    with pytest.raises(ConfigError, match="optimize job needs study_name"):
        StudySpec.from_dict({k: v for k, v in BASE.items() if k != "study_name"})
    with pytest.raises(ConfigError, match="unknown options trails"):
        StudySpec.from_dict({**BASE, "trails": 5})


def test_job_payload_is_the_spec_plus_track():
    payload, title, total, result = prepare({**BASE, "n_trials": 12, "track": False})
    assert payload == {**StudySpec(**BASE, n_trials=12).to_dict(), "track": False}
    assert total == 12 and result == {"study_name": "sma-btc"}
    assert title == "optimize sma_cross on BTCUSD_COINBASE@1h · study sma-btc · 12 trials (sharpe)"
