"""A sweep recorded in a real local MLflow store: parent run with the spec, the
leaderboard and the results; the best rows as nested child runs."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from lab.research.sweep.leaderboard import leaderboard, trials_summary
from lab.research.sweep import SweepSpec, recompute, run_sweep
from lab.tracking import get_run, list_artifacts
from lab.tracking.sweeps import track_sweep

pytestmark = pytest.mark.xdist_group("tracking")


@pytest.fixture(scope="module")
def swept(sample_root, sample_catalog):
    spec = SweepSpec(strategies=("sma_cross",), symbols=(("AAPL", "1d"),),
                     grids={"sma_cross": {"fast": (10, 20), "slow": (50, 100)}},
                     sl=(None, 0.05))
    res = run_sweep(spec, root=sample_root, workers=0, catalog=sample_catalog)
    return res, leaderboard(res.results, min_trades=1)


@pytest.fixture
def project():
    return f"sweeptest{uuid.uuid4().hex[:8]}"


def _recompute(catalog):
    return lambda res, row: recompute(res, row, catalog=catalog)


def test_a_sweep_becomes_a_parent_run_with_its_top_rows_as_children(swept, uri, project,
                                                                    sample_catalog, lab_env):
    res, board = swept
    outcome = track_sweep(res, board, top_n=2, tracking_uri=uri, project=project,
                          recompute=_recompute(sample_catalog),
                          trials=trials_summary(res.results))
    assert outcome.recorded and outcome.error is None, outcome.error
    assert outcome.experiment == f"{project}.sweeps"
    parent = get_run(outcome.run_id, tracking_uri=uri)
    assert parent["tags"]["lab.kind"] == "sweep"
    assert parent["tags"]["lab.sweep_id"] == res.id
    assert parent["tags"]["symbols"] == "AAPL@1d"
    assert parent["metrics"]["trials"] == len(res.results) == 8
    assert parent["metrics"]["best_sharpe"] == pytest.approx(board["sharpe"].max())
    assert parent["metrics"]["best_dsr"] == pytest.approx(board["dsr"].max())

    from lab.tracking import store

    c = store.client(uri)
    run = c.get_run(outcome.run_id)
    assert run.data.params["grid.sma_cross.fast"] == "10,20"
    assert run.data.params["sl"] == "off,0.05"
    assert run.data.params["x.cash"] == "10000.0"
    assert {"leaderboard.parquet", "leaderboard.csv", "results.parquet", "spec.json",
            "trials_summary.csv"} <= set(list_artifacts(outcome.run_id, tracking_uri=uri))
    stored = pd.read_parquet(c.download_artifacts(outcome.run_id, "leaderboard.parquet"))
    assert stored["sharpe"].tolist() == board["sharpe"].tolist()

    assert len(outcome.children) == 2 and all(ch.recorded for ch in outcome.children)
    for rank, child in enumerate(outcome.children, start=1):
        r = c.get_run(child.run_id)
        row = board.iloc[rank - 1]
        assert r.data.tags["mlflow.parentRunId"] == outcome.run_id
        assert r.data.tags["lab.sweep_id"] == res.id
        assert r.data.tags["lab.sweep_rank"] == str(rank)
        assert r.data.tags["source"] == "sweep"
        assert r.data.metrics["sharpe"] == pytest.approx(row["sharpe"], rel=1e-9)
        assert r.data.metrics["dsr"] == pytest.approx(row["dsr"])
        assert child.experiment == f"{project}.equity.trend.sma_cross"
    nested = c.search_runs([c.get_experiment_by_name(f"{project}.equity.trend.sma_cross")
                            .experiment_id],
                           filter_string=f"tags.mlflow.parentRunId = '{outcome.run_id}'")
    assert len(nested) == 2


def test_an_unreachable_store_is_reported_not_raised(swept):
    res, board = swept
    outcome = track_sweep(res, board, tracking_uri="http://127.0.0.1:9", top_n=1,
                          recompute=lambda *a: pytest.fail("must not recompute"))
    assert not outcome.recorded and "unreachable" in outcome.error


def test_children_that_cannot_be_recomputed_are_reported_and_the_parent_kept(swept, uri,
                                                                            project):
    res, board = swept

    def broken(res, row):
        raise RuntimeError("bars moved")

    outcome = track_sweep(res, board, top_n=1, tracking_uri=uri, project=project,
                          recompute=broken)
    assert outcome.recorded and get_run(outcome.run_id, tracking_uri=uri)["status"] == "FINISHED"
    assert "bars moved" in outcome.error and not outcome.children[0].recorded
    alone = track_sweep(res, board, top_n=3, tracking_uri=uri, project=project)
    assert alone.recorded and "no recompute function" in alone.error and not alone.children
