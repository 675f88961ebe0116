"""Runs page when the newest runs are an Optuna study and its trial runs (metrics only,
no equity): trials are folded under their study and listed on demand; the details
default to the newest backtest, a trial's heading names its study
instead of "None -> None", and it says why there is no curve instead of a raw MLflow
exception."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def trial_store(tmp_path_factory, sample_catalog):
    from lab.api import run_backtest
    from lab.core import ExecutionConfig
    from lab.research.optimize import optimize
    from lab.tracking import track_backtest, tracking_uri
    from lab.tracking.studies import track_study

    root = tmp_path_factory.mktemp("runs-trials")
    uri = tracking_uri(root)
    bars = sample_catalog.load("AAPL", "1d")
    res = run_backtest(bars, "sma_cross", {"fast": 10, "slow": 50}, ExecutionConfig(),
                       asset_class="equity", timeframe="1d", symbol="AAPL")
    bt = track_backtest(res, asset_class="equity", family="trend", source="cli",
                        tracking_uri=uri)
    assert bt.recorded, bt.error
    study = optimize(bars, "sma_cross", study_name="trials", n_trials=3, seed=1,
                     storage=f"sqlite:///{root / 'optuna.db'}", pruning=False,
                     asset_class="equity", timeframe="1d", symbol="AAPL")
    out = track_study(study, tracking_uri=uri, source="cli")       # newer than the backtest
    assert out.recorded and len(out.children) == 3, out.error
    return root, bt.run_id, out.children


def _runs_page(root, monkeypatch) -> AppTest:
    """The Runs page of a running app on the store under ``root``."""
    monkeypatch.setenv("LAB_DATA_DIR", str(root))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/runs.py")
    at.run()
    return at


def test_trials_are_folded_under_their_study_and_shown_on_demand(trial_store, monkeypatch):
    root, backtest_id, trials = trial_store
    at = _runs_page(root, monkeypatch)
    assert not at.exception, [e.message for e in at.exception]
    listed = at.dataframe[0].value
    assert set(trials).isdisjoint(listed["run_id"])                   # folded away
    assert list(listed["kind"]) == ["study", "backtest"], list(listed["kind"])
    study_id = listed["run_id"].iloc[0]
    assert at.selectbox(key="runs_detail").value == backtest_id      # newest backtest
    at.selectbox(key="runs_detail").set_value(study_id).run()
    at.toggle(key=f"runs_children_{study_id}").set_value(True).run()
    assert not at.exception, [e.message for e in at.exception]
    children = next(d.value for d in at.dataframe if "parent_run_id" in d.value
                    and d.value["parent_run_id"].eq(study_id).all())
    assert sorted(children["run_id"]) == sorted(trials)
    assert set(children["kind"]) == {"trial"}
    assert all(p.startswith("fast=") and "slow=" in p for p in children["params"])


def test_details_default_to_the_newest_backtest_and_trials_say_what_they_hold(
        trial_store, monkeypatch):
    root, backtest_id, trials = trial_store
    at = _runs_page(root, monkeypatch)
    at.toggle(key="runs_nested").set_value(True).run()              # trials listed too
    assert not at.exception, [e.message for e in at.exception]
    assert at.dataframe[0].value["run_id"].iloc[0] != backtest_id      # trials are newer
    assert set(trials) <= set(at.dataframe[0].value["run_id"])
    assert at.selectbox(key="runs_detail").value == backtest_id
    heading = next(m.value for m in at.markdown if "status" in m.value)
    assert "None" not in heading and "AAPL 1d" in heading and "→" in heading
    at.selectbox(key="runs_detail").set_value(trials[0]).run()
    assert not at.exception, [e.message for e in at.exception]
    heading = next(m.value for m in at.markdown if "status" in m.value)
    assert "None" not in heading and "trial" in heading and "study **trials**" in heading
    assert not at.warning and not at.error, [w.value for w in [*at.warning, *at.error]]
    assert any("records metrics and tables" in i.value for i in at.info)
