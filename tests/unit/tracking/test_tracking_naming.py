"""Store location, experiment names and metric encoding (no store needed)."""

from __future__ import annotations

import math

import pytest

from lab.tracking import INF_SENTINEL, experiment_name, tracking_uri
from lab.tracking.runs import flatten, metric_value


def test_local_store_is_sqlite_under_lab_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    assert tracking_uri() == f"sqlite:///{tmp_path.resolve()}/mlflow/mlflow.db"


def test_mlflow_tracking_uri_points_at_a_remote_server(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    assert tracking_uri() == "http://mlflow.example:5000"


def test_experiment_name_is_project_asset_class_family_strategy(monkeypatch, tiny_result):
    monkeypatch.delenv("LAB_PROJECT", raising=False)
    r = tiny_result("sma_cross")
    assert experiment_name(r, "crypto", "trend") == "lab.crypto.trend.sma_cross"
    monkeypatch.setenv("LAB_PROJECT", "desk")
    assert experiment_name(r, "crypto", "trend") == "desk.crypto.trend.sma_cross"
    assert experiment_name(r, "crypto", "trend", project="p") == "p.crypto.trend.sma_cross"


def test_asset_class_enum_is_named_by_its_value(tiny_result):
    from lab.core.types import AssetClass

    assert experiment_name(tiny_result("x"), AssetClass.FX, "trend", "p") == "p.fx.trend.x"


@pytest.mark.parametrize("value, logged", [
    (1.5, 1.5), (0, 0.0), (float("inf"), INF_SENTINEL), (float("-inf"), -INF_SENTINEL),
    (float("nan"), None), ("text", None), (None, None),
])
def test_metric_encoding(value, logged):
    assert metric_value(value) == logged


def test_sentinel_is_finite_and_far_above_any_real_metric():
    assert math.isfinite(INF_SENTINEL) and INF_SENTINEL > 1e200


def test_config_is_flattened_with_dotted_keys():
    assert flatten({"a": 1, "c": {"m": "x", "r": 0.1}}) == {"a": 1, "c.m": "x", "c.r": 0.1}
