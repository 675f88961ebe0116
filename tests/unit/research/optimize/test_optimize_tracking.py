"""track_study writes a parent run and one child per trial to a real local MLflow store."""

from __future__ import annotations

import pytest

from lab.core.config import ExecutionConfig
from lab.research.optimize import optimize
from lab.tracking import store
from lab.tracking.studies import track_study


def test_parent_and_child_runs(spx_daily, tmp_path):
    res = optimize(spx_daily.loc["2010":"2019"], "sma_cross", study_name="t",
                   storage=f"sqlite:///{tmp_path / 'o.db'}", n_trials=6, seed=1,
                   config=ExecutionConfig(), asset_class="index", timeframe="1d",
                   symbol="SPX", search_sl=(0.01, 0.05), pruning=False)
    uri = store.tracking_uri(tmp_path / "data")
    out = track_study(res, tracking_uri=uri, source="test")
    assert out.recorded and out.error is None, out.error
    assert len(out.children) == 6
    c = store.client(uri)
    parent = c.get_run(out.run_id)
    assert parent.data.tags["lab.kind"] == "study"
    assert parent.data.tags["lab.study_name"] == "t"
    assert parent.data.metrics["trials"] == 6
    assert parent.info.status == "FINISHED"
    kids = [c.get_run(i) for i in out.children]
    assert all(k.data.tags["mlflow.parentRunId"] == out.run_id for k in kids)
    first = res.trials.iloc[0]
    k0 = kids[0]
    assert k0.data.tags["lab.trial"] == str(first["number"])
    assert float(k0.data.params["p.sl"]) == pytest.approx(first["param_sl"])
    if first["state"] == "COMPLETE":
        assert k0.data.metrics["value_sharpe"] == pytest.approx(first["value_sharpe"])
    names = {a.path for a in c.list_artifacts(out.run_id)}
    assert {"trials.csv", "trials.parquet", "best.csv"} <= names


def test_never_raises_on_a_bad_store(tmp_path):
    class Bogus:
        study_name = "x"
    out = track_study(Bogus(), tracking_uri=f"sqlite:///{tmp_path}/nodir/none/db.sqlite")
    assert not out.recorded and out.error
