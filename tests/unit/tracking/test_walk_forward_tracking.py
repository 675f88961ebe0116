"""A walk-forward recorded in a real local MLflow store: a parent run holding the
leaderboard and the windows, one child run per strategy; the "walkforward" job and
``lab walkforward`` record one unless told not to; a bad store is reported, not raised."""

from __future__ import annotations

import dataclasses
import json
import math
import socket
import uuid
from pathlib import Path

import pandas as pd
import pytest

from lab.core.config import ExecutionConfig
from lab.research.walk_forward import load_walk_forward, run_walk_forward, walk_forward_windows
from lab.tracking import load_equity, store
from lab.tracking.walk_forwards import SUMMARY_METRICS, track_walk_forward

# the shared store of tests/unit/tracking/conftest.py is built once per worker
pytestmark = pytest.mark.xdist_group("tracking")

GRIDS = {"sma_cross": {"fast": (5, 10), "slow": (50, 100)},
         "rsi": {"period": (7, 14), "lower": (25.0, 30.0), "upper": (70.0, 75.0)}}
GRIDS_SMA = {"sma_cross": GRIDS["sma_cross"]}
JOB_PAYLOAD = {"data": "AAPL", "timeframe": "1d", "strategies": ["sma_cross"],
               "grids": {"sma_cross": {"fast": [10], "slow": [50, 100]}},
               "windows": {"n_windows": 2, "train_fraction": 0.7}, "min_trades": 1}


@pytest.fixture(scope="module")
def wf(spx_daily):
    """Two strategies, three rolling windows on 2015-2018 of the S&P 500 sample."""
    bars = spx_daily.loc["2015":"2018"]
    ws = walk_forward_windows(bars.index, n_windows=3, train_fraction=0.7)
    return run_walk_forward(bars, ["sma_cross", "rsi"], windows=ws, grids=GRIDS,
                            config=ExecutionConfig(commission={"model": "percent",
                                                               "rate": 0.0005}),
                            min_trades=1, asset_class="index", timeframe="1d", symbol="SPX")


@pytest.fixture
def project():
    return f"wftest{uuid.uuid4().hex[:8]}"


@pytest.fixture
def data_root(sample_root, tmp_path, monkeypatch) -> Path:
    """A data folder with the sample bars and no MLflow store yet."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "store").symlink_to(sample_root / "store", target_is_directory=True)
    return tmp_path


def _close(stored: float, expected) -> bool:
    return stored == pytest.approx(float(expected), rel=1e-12)


def test_parent_run_holds_the_summary_the_windows_and_the_stitched_equity(wf, uri, project,
                                                                          tmp_path):
    out = track_walk_forward(wf, wf_id="wf-test-1", tracking_uri=uri, project=project,
                             window_spec={"n_windows": 3, "train_fraction": 0.7,
                                          "anchored": False},
                             extra_params={"seed": 0, "n_trials": None}, source="test")
    assert out.recorded and out.error is None, out.error
    assert out.experiment == f"{project}.walkforward" and out.uri == uri
    c = store.client(uri)
    run = c.get_run(out.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "walk-forward wf-test-1"
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    best = wf.summary.iloc[0]
    assert tags["lab.kind"] == "walkforward" and tags["lab.wf_id"] == "wf-test-1"
    assert (tags["symbol"], tags["timeframe"], tags["source"]) == ("SPX", "1d", "test")
    assert tags["strategies"] == ",".join(wf.summary["strategy"])
    assert tags["best_strategy"] == best["strategy"]
    assert (tags["mode"], tags["select"], tags["objective"]) == ("rolling", "grid", "sharpe")
    assert tags["git_commit"] not in ("", None)

    w0 = wf.meta["windows"][0]
    assert params["n_windows"] == "3" and params["min_trades"] == "1"
    assert params["train_bars"] == str(w0["train_stop"] - w0["train_start"])
    assert params["test_bars"] == str(w0["test_stop"] - w0["test_start"])
    assert params["window.train_fraction"] == "0.7" and params["compound"] == "False"
    assert params["oos_start"] == wf.windows["test_start"].min().isoformat()
    assert params["grid.sma_cross.slow"] == "50,100"
    assert params["x.commission.rate"] == "0.0005" and params["x.cash"] == "10000.0"
    assert params["seed"] == "0" and "n_trials" not in params

    assert metrics["strategies"] == 2 and metrics["n_windows"] == 3
    for row in wf.summary.to_dict("records"):
        s = row["strategy"]
        assert metrics[f"{s}.rank"] == row["rank"]
        for k in SUMMARY_METRICS:
            if math.isfinite(row[k]):
                assert _close(metrics[f"{s}.{k}"], row[k]), (s, k)
            else:
                assert f"{s}.{k}" not in metrics
    for k in ("oos_sharpe", "consistency", "sharpe_decay", "wfe", "oos_return"):
        if math.isfinite(best[k]):
            assert _close(metrics[k], best[k]), k

    assert {a.path for a in c.list_artifacts(out.run_id)} == {
        "summary.csv", "summary.parquet", "windows.csv", "windows.parquet",
        "oos_equity.parquet", "in_sample_equity.parquet", "meta.json"}
    folder = Path(c.download_artifacts(out.run_id, "", str(tmp_path)))
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "summary.parquet"), wf.summary)
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "windows.parquet"), wf.windows)
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "oos_equity.parquet"), wf.equity)
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "in_sample_equity.parquet"),
                                  wf.in_sample)
    assert json.loads((folder / "meta.json").read_text())["grids"]["rsi"]["period"] == [7, 14]
    board = pd.read_csv(folder / "summary.csv")
    assert board["strategy"].tolist() == wf.summary["strategy"].tolist()
    assert board["oos_sharpe"].to_numpy() == pytest.approx(wf.summary["oos_sharpe"].to_numpy())
    assert len(pd.read_csv(folder / "windows.csv")) == len(wf.windows) == 6


def test_one_child_run_per_strategy_with_its_windows_and_chosen_parameters(wf, uri,
                                                                           project):
    out = track_walk_forward(wf, wf_id="wf-test-2", tracking_uri=uri, project=project)
    assert out.recorded and out.error is None, out.error
    assert len(out.children) == len(wf.summary) == 2
    c = store.client(uri)
    exp = c.get_experiment_by_name(f"{project}.walkforward")
    nested = c.search_runs([exp.experiment_id],
                           filter_string=f"tags.mlflow.parentRunId = '{out.run_id}'")
    assert {r.info.run_id for r in nested} == set(out.children)
    for cid, row in zip(out.children, wf.summary.to_dict("records")):
        run = c.get_run(cid)
        s = row["strategy"]
        assert run.info.run_name == s and run.info.status == "FINISHED"
        assert run.data.tags["lab.kind"] == "walkforward_strategy"
        assert run.data.tags["lab.wf_id"] == "wf-test-2"
        assert run.data.tags["lab.rank"] == str(row["rank"])
        for k in SUMMARY_METRICS:
            if math.isfinite(row[k]):
                assert _close(run.data.metrics[k], row[k]), (s, k)
        g = wf.windows[wf.windows["strategy"] == s]
        last = json.loads(g["params"].iloc[-1])
        assert {k: float(run.data.params[f"p.{k}"]) for k in last} == \
            {k: float(v) for k, v in last.items()}
        history = sorted(c.get_metric_history(cid, "window.oos_sharpe"),
                         key=lambda m: m.step)
        finite = g[g["oos_sharpe"].map(math.isfinite)]      # NaN is not logged
        assert [m.step for m in history] == finite["window"].tolist()
        assert [m.value for m in history] == pytest.approx(finite["oos_sharpe"].tolist())
        assert {a.path for a in c.list_artifacts(cid)} == {"windows.csv", "params.csv",
                                                           "equity.parquet"}
        chosen = pd.read_csv(c.download_artifacts(cid, "params.csv"))
        assert chosen["params"].tolist() == g["params"].tolist()
        eq = load_equity(cid, tracking_uri=uri)        # as the Runs page reads it
        pd.testing.assert_series_equal(eq["equity"], wf.equity[s].rename("equity"))
        assert eq["drawdown"].max() == 0.0 and eq["drawdown"].min() >= -1.0


def test_undefined_summary_figures_are_left_out_and_anchored_windows_named(wf, uri, project):
    summary = wf.summary.copy()
    summary.loc[0, "wfe"] = math.nan
    odd = dataclasses.replace(wf, summary=summary)
    out = track_walk_forward(odd, tracking_uri=uri, project=project,
                             window_spec={"anchored": True})
    assert out.recorded, out.error
    run = store.client(uri).get_run(out.run_id)
    first = summary.loc[0, "strategy"]
    assert "wfe" not in run.data.metrics and f"{first}.wfe" not in run.data.metrics
    assert run.data.tags["mode"] == "anchored"
    assert run.data.tags["lab.wf_id"].startswith("wf-")


def test_an_unwritable_store_is_reported_not_raised(wf, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = track_walk_forward(wf, tracking_uri=f"sqlite:///{blocker}/mlflow/mlflow.db")
    assert out.recorded is False and out.run_id is None and out.children == ()
    assert "LAB_DATA_DIR" in out.error


def test_an_unreachable_server_is_reported_not_raised(wf, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = track_walk_forward(wf, tracking_uri=f"http://127.0.0.1:{port}")
    assert not out.recorded and "unreachable" in out.error


def test_something_that_is_not_a_walk_forward_is_reported_not_raised(uri):
    out = track_walk_forward(object(), tracking_uri=uri)
    assert not out.recorded and "AttributeError" in out.error


def _run_job(root: Path, **payload):
    from lab import jobs
    from lab.jobs.runner import run_job

    job_id = jobs.submit("walkforward", {**JOB_PAYLOAD, **payload}, root=root, spawn=False)
    job = run_job(job_id, root)
    assert job.status == "done", job.error
    return job


def test_the_job_records_a_run_unless_track_is_false(data_root, uri, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)      # the shared store: tables exist
    job = _run_job(data_root)
    run_id = job.result["tracked_run"]
    assert run_id
    run = store.client(uri).get_run(run_id)
    assert run.data.tags["lab.wf_id"] == job.result["wf_id"]
    assert run.data.tags["source"] == "job" and run.data.tags["symbol"] == "AAPL"
    assert run.data.params["window.n_windows"] == "2"
    saved = load_walk_forward(job.result["folder"])
    assert _close(run.data.metrics["oos_sharpe"], saved.summary["oos_sharpe"].iloc[0])

    quiet = _run_job(data_root, track=False)
    assert quiet.result["tracked_run"] is None
    hits = store.client(uri).search_runs(
        store.all_experiment_ids(store.client(uri)),
        filter_string=f"tags.`lab.wf_id` = '{quiet.result['wf_id']}'")
    assert hits == []


def test_a_tracking_failure_is_logged_and_the_job_still_succeeds(data_root, monkeypatch,
                                                                 tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{blocker}/mlflow.db")
    job = _run_job(data_root)
    assert job.result["tracked_run"] is None and job.result["folder"]
    assert "tracking: TrackingError" in capsys.readouterr().out     # the job's log


def _cli(root: Path, *extra: str) -> list[str]:
    return ["--store", str(root), "walkforward", "--data", "AAPL", "--timeframe", "1d",
            "--strategies", "sma_cross", "--grid", "fast=10", "--grid", "slow=50,100",
            "--windows", "2", "--min-trades", "1", *extra]


def test_cli_records_the_run_in_the_data_folder_store_and_prints_its_id(data_root, capsys):
    from lab.cli import main

    assert main(_cli(data_root, "--json")) == 0
    doc = json.loads(capsys.readouterr().out)
    tracking = doc["tracking"]
    assert tracking["recorded"] and tracking["error"] is None
    uri = store.tracking_uri(data_root)
    run = store.client(uri).get_run(tracking["run_id"])
    assert run.data.tags["source"] == "cli" and run.data.tags["lab.kind"] == "walkforward"
    assert _close(run.data.metrics["oos_sharpe"], doc["summary"][0]["oos_sharpe"])

    assert main(_cli(data_root)) == 0
    assert "recorded in MLflow: run " in capsys.readouterr().out


def test_cli_no_track_records_nothing(data_root, capsys):
    from lab.cli import main

    assert main(_cli(data_root, "--no-track")) == 0
    assert "MLflow" not in capsys.readouterr().out
    assert not (data_root / "mlflow").exists()
    assert main(_cli(data_root, "--no-track", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["tracking"] is None


def test_levels_are_recorded_on_the_parent_and_each_child(spx_daily, uri, project):
    bars = spx_daily.loc["2015":"2018"]
    ws = walk_forward_windows(bars.index, n_windows=2, train_fraction=0.7)
    res = run_walk_forward(bars, "sma_cross", windows=ws, grids=GRIDS_SMA, min_trades=1,
                           asset_class="index", timeframe="1d", symbol="SPX",
                           sl=(None, 0.02), tp=(None,), leverage=(1, 2))
    out = track_walk_forward(res, wf_id="wf-test-levels", tracking_uri=uri, project=project)
    assert out.recorded and out.error is None, out.error
    c = store.client(uri)
    params = c.get_run(out.run_id).data.params
    assert (params["levels.sl"], params["levels.tp"], params["levels.leverage"]) == \
        ("none,0.02", "none", "1,2")
    child = c.get_run(out.children[0]).data.params
    last = res.windows.iloc[-1]
    for name in ("sl", "tp", "leverage"):
        v = last[f"param_{name}"]
        assert child[f"p.{name}"] == ("none" if math.isnan(v) else f"{v:g}")
    chosen = pd.read_csv(c.download_artifacts(out.children[0], "params.csv"))
    assert {"param_sl", "param_tp", "param_leverage"} <= set(chosen.columns)
    assert chosen["param_leverage"].tolist() == res.windows["param_leverage"].tolist()

