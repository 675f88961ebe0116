"""Runs recorded in a real local MLflow store and read back."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import mlflow
import pandas as pd
import pytest

import lab
from lab.core import ExecutionConfig
from lab.tracking import (compare_metrics, get_run, list_artifacts, list_runs, load_equity,
                          load_text, load_trades, track_backtest)

# one worker builds the shared fixtures once (make test runs --dist loadgroup)
pytestmark = pytest.mark.xdist_group("tracking")


@pytest.fixture(scope="module")
def recorded(uri, btc_result, aapl_result):
    """Two BTC runs (one with a figure and a tearsheet) and one AAPL run, project "t1"."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=btc_result.equity.index[:50], y=btc_result.equity[:50]))
    out = {
        "btc": track_backtest(btc_result, asset_class="crypto", family="trend", project="t1",
                              tracking_uri=uri, source="test", figures={"equity curve": fig},
                              tearsheet_html="<html><body>QuantStats tearsheet</body></html>"),
        "btc2": track_backtest(btc_result, asset_class="crypto", family="trend",
                               project="t1", tracking_uri=uri, source="app"),
        "aapl": track_backtest(aapl_result, asset_class="equity", family="mean_reversion",
                               project="t1", tracking_uri=uri, source="test"),
    }
    for o in out.values():
        assert o.recorded, o.error
    return out


def test_run_goes_to_project_asset_class_family_strategy_experiment(recorded, uri):
    assert recorded["btc"].experiment == "t1.crypto.trend.sma_cross"
    assert recorded["aapl"].experiment == "t1.equity.mean_reversion.rsi"
    assert recorded["btc"].uri == uri and recorded["btc"].error is None
    assert get_run(recorded["btc"].run_id, tracking_uri=uri)["status"] == "FINISHED"


def test_tags_hold_identity_fingerprint_git_commit_and_version(recorded, uri, btc_result):
    run = get_run(recorded["btc"].run_id, tracking_uri=uri)
    tags = run["tags"]
    assert tags["symbol"] == "BTCUSD_COINBASE" and tags["timeframe"] == "1h"
    assert tags["data_fingerprint"] == btc_result.fingerprint == run["fingerprint"]
    assert re.fullmatch(r"[0-9a-f]{40}", tags["git_commit"])
    assert tags["lab_version"] == lab.__version__
    assert tags["engine"] == "vectorized" and tags["source"] == "test"
    assert pd.Timestamp(run["start"]) == btc_result.equity.index[0]
    assert pd.Timestamp(run["end"]) == btc_result.equity.index[-1]
    assert run["periods_per_year"] == 8760


def test_params_and_config_reopen_the_run_exactly(recorded, uri, btc_result):
    run = get_run(recorded["btc"].run_id, tracking_uri=uri)
    assert run["strategy"] == "sma_cross" and run["params"] == {"fast": 10, "slow": 50}
    assert ExecutionConfig.from_dict(run["config"]) == btc_result.config
    raw = mlflow.MlflowClient(tracking_uri=uri).get_run(run["run_id"]).data.params
    assert raw["p.fast"] == "10" and raw["x.leverage"] == "2.0"
    assert raw["x.commission.model"] == "percent" and raw["x.sl"] == "0.05"


def test_metrics_are_logged_as_computed(recorded, uri, btc_result):
    m = get_run(recorded["btc"].run_id, tracking_uri=uri)["metrics"]
    finite = {k: v for k, v in btc_result.metrics.items() if math.isfinite(v)}
    assert m == pytest.approx(finite, rel=1e-12)


def test_infinite_metric_comes_back_infinite_and_nan_is_not_logged(uri, btc_result):
    odd = replace(btc_result, metrics={**btc_result.metrics, "profit_factor": float("inf"),
                                       "sortino": float("nan")})
    out = track_backtest(odd, asset_class="crypto", family="trend", project="t1inf",
                         tracking_uri=uri)
    m = get_run(out.run_id, tracking_uri=uri)["metrics"]
    assert m["profit_factor"] == float("inf") and "sortino" not in m
    row = list_runs(experiment=out.experiment, tracking_uri=uri).iloc[0]
    assert row["profit_factor"] == float("inf") and math.isnan(row["sortino"])


def test_equity_and_trades_artifacts_read_back_equal_the_originals(recorded, uri, btc_result):
    rid = recorded["btc"].run_id
    eq = load_equity(rid, tracking_uri=uri)
    pd.testing.assert_series_equal(eq["equity"], btc_result.equity, check_names=False)
    pd.testing.assert_series_equal(eq["drawdown"], btc_result.drawdown, check_names=False)
    pd.testing.assert_series_equal(eq["position"], btc_result.position, check_names=False)
    pd.testing.assert_frame_equal(load_trades(rid, tracking_uri=uri), btc_result.trades)


def test_tearsheet_and_figures_are_stored_as_html(recorded, uri):
    rid = recorded["btc"].run_id
    files = list_artifacts(rid, tracking_uri=uri)
    assert {"equity.parquet", "trades.parquet", "summary.json", "tearsheet.html",
            "figures/equity_curve.html"} <= set(files)
    assert "QuantStats" in load_text(rid, "tearsheet.html", tracking_uri=uri)
    assert "cdn.plot.ly" in load_text(rid, "figures/equity_curve.html", tracking_uri=uri)
    assert "tearsheet.html" not in list_artifacts(recorded["btc2"].run_id, tracking_uri=uri)


def test_local_artifacts_live_under_the_data_folder(recorded, uri, store_root):
    run = get_run(recorded["aapl"].run_id, tracking_uri=uri)
    assert run["artifact_uri"].startswith((store_root / "mlflow" / "artifacts").as_uri())


def test_list_runs_filters_by_experiment_strategy_symbol_and_tag(recorded, uri):
    ids = {k: o.run_id for k, o in recorded.items()}
    btc = list_runs(experiment="t1.crypto.trend.sma_cross", tracking_uri=uri)
    assert set(btc.run_id) == {ids["btc"], ids["btc2"]}
    assert list(btc.run_id) == [ids["btc2"], ids["btc"]]          # newest first
    mine = set(ids.values())
    assert set(list_runs(strategy="rsi", tracking_uri=uri).run_id) & mine == {ids["aapl"]}
    assert set(list_runs(symbol="AAPL", tracking_uri=uri).run_id) & mine == {ids["aapl"]}
    assert set(list_runs(tag="source=app", tracking_uri=uri).run_id) & mine == {ids["btc2"]}
    assert set(list_runs(tag="project=t1", symbol="BTCUSD_COINBASE",
                         tracking_uri=uri).run_id) == {ids["btc"], ids["btc2"]}
    assert list_runs(experiment="no.such.experiment", tracking_uri=uri).empty


def test_list_runs_frame_has_identity_params_and_main_metrics(recorded, uri, aapl_result):
    row = list_runs(experiment="t1.equity.mean_reversion.rsi", tracking_uri=uri).iloc[0]
    assert row["strategy"] == "rsi" and row["symbol"] == "AAPL"
    assert row["timeframe"] == "1d" and row["status"] == "FINISHED"
    assert row["params"] == ", ".join(f"{k}={v}" for k, v in aapl_result.params.items())
    assert row["sharpe"] == pytest.approx(aapl_result.metrics["sharpe"])
    assert row["start_time"].tz is not None


def test_malformed_tag_filter_says_how_to_write_it(uri):
    from lab.tracking import TrackingError

    with pytest.raises(TrackingError, match="key=value"):
        list_runs(tag="source", tracking_uri=uri)


def test_compare_metrics_puts_runs_side_by_side(recorded, uri, btc_result, aapl_result):
    table = compare_metrics([recorded["btc"].run_id, recorded["aapl"].run_id],
                            tracking_uri=uri)
    assert table.shape[1] == 2 and "sharpe" in table.index
    assert list(table.loc["sharpe"]) == pytest.approx(
        [btc_result.metrics["sharpe"], aapl_result.metrics["sharpe"]])


def test_local_store_follows_lab_data_dir(monkeypatch, store_root, tiny_result):
    monkeypatch.setenv("LAB_DATA_DIR", str(store_root))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = track_backtest(tiny_result(), asset_class="equity", family="test", project="t1env")
    assert out.recorded, out.error
    assert out.uri == f"sqlite:///{store_root.resolve()}/mlflow/mlflow.db"
    assert len(list_runs(experiment="t1env.equity.test.tiny")) == 1
