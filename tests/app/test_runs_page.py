"""AppTest of the Runs page on a real MLflow store holding backtests of the samples."""

from __future__ import annotations

import socket

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

# one worker builds the shared fixtures once (make test runs --dist loadgroup)
pytestmark = pytest.mark.xdist_group("runs_page")

APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def runs_store(tmp_path_factory, sample_catalog):
    """A data folder whose MLflow store holds three runs: two on BTC 1h (one from the
    app, with a tearsheet), one on AAPL 1d."""
    from lab.api import run_backtest
    from lab.core import ExecutionConfig
    from lab.tracking import track_backtest, tracking_uri

    root = tmp_path_factory.mktemp("runs-page")
    uri = tracking_uri(root)
    btc = sample_catalog.load("BTCUSD_COINBASE", "1h")
    aapl = sample_catalog.load("AAPL", "1d")
    specs = [
        ("btc_fast", btc, "BTCUSD_COINBASE", "1h", "crypto", "trend", "sma_cross",
         {"fast": 10, "slow": 50}, ExecutionConfig(direction="both", leverage=2.0), "app",
         "<html><body>tearsheet</body></html>"),
        ("btc_slow", btc, "BTCUSD_COINBASE", "1h", "crypto", "trend", "sma_cross",
         {"fast": 20, "slow": 100}, ExecutionConfig(), "cli", None),
        ("aapl", aapl, "AAPL", "1d", "equity", "mean_reversion", "rsi", None,
         ExecutionConfig(sl=0.05), "cli", None),
    ]
    ids = {}
    for key, bars, sym, tf, ac, fam, strat, params, cfg, source, sheet in specs:
        res = run_backtest(bars, strat, params, cfg, asset_class=ac, timeframe=tf, symbol=sym)
        out = track_backtest(res, asset_class=ac, family=fam, source=source,
                             tearsheet_html=sheet, tracking_uri=uri)
        assert out.recorded, out.error
        ids[key] = out.run_id
    return root, ids


@pytest.fixture
def runs_env(runs_store, monkeypatch):
    root, ids = runs_store
    monkeypatch.setenv("LAB_DATA_DIR", str(root))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return ids


def open_runs() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/runs.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def runs_table(at: AppTest):
    return at.dataframe[0].value


def test_runs_page_lists_every_recorded_run_newest_first(runs_env):
    at = open_runs()
    table = runs_table(at)
    assert list(table["run_id"]) == [runs_env["aapl"], runs_env["btc_slow"], runs_env["btc_fast"]]
    assert set(table["symbol"]) == {"AAPL", "BTCUSD_COINBASE"}
    assert "fast=10, slow=50" in set(table["params"])


@pytest.mark.parametrize("widget, key, value, expected", [
    ("selectbox", "runs_experiment", "lab.crypto.trend.sma_cross", {"btc_fast", "btc_slow"}),
    ("selectbox", "runs_strategy", "rsi", {"aapl"}),
    ("text_input", "runs_symbol", "AAPL", {"aapl"}),
    ("text_input", "runs_tag", "source=app", {"btc_fast"}),
])
def test_runs_page_filters(runs_env, widget, key, value, expected):
    at = open_runs()
    getattr(at, widget)(key=key).set_value(value).run()
    assert not at.exception, [e.message for e in at.exception]
    assert set(runs_table(at)["run_id"]) == {runs_env[k] for k in expected}


def test_filter_without_matches_says_so(runs_env):
    at = open_runs()
    at.text_input(key="runs_symbol").set_value("NOPE").run()
    assert any("No recorded runs match" in i.value for i in at.info)


def test_comparing_two_runs_shows_metrics_side_by_side_and_overlaid_equity(runs_env):
    at = open_runs()
    at.multiselect(key="runs_compare").set_value([runs_env["btc_fast"],
                                                  runs_env["aapl"]]).run()
    assert not at.exception, [e.message for e in at.exception]
    compare = at.dataframe[1].value
    assert compare.shape[1] == 2 and {"Sharpe", "Max drawdown", "Trades"} <= set(compare.index)
    assert any(c.proto.id and "runs_overlay" in c.proto.id for c in at.get("plotly_chart"))


def test_run_details_show_params_config_artifacts_and_the_tearsheet(runs_env):
    at = open_runs()
    at.selectbox(key="runs_detail").set_value(runs_env["btc_fast"]).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("sma_cross" in m.value and "BTCUSD_COINBASE 1h" in m.value for m in at.markdown)
    assert {"fast": 10, "slow": 50} in [j.value if isinstance(j.value, dict) else
                                        __import__("json").loads(j.value) for j in at.json]
    artifacts = set(at.dataframe[-1].value["artifact"])
    assert {"equity.parquet", "trades.parquet", "tearsheet.html"} <= artifacts
    assert at.get("download_button"), "tearsheet download missing"
    assert {m.label for m in at.metric} >= {"Total return", "Sharpe"}


def test_reopen_puts_the_exact_run_into_the_backtest_page(runs_env):
    at = open_runs()
    at.selectbox(key="runs_detail").set_value(runs_env["aapl"]).run()
    at.button(key="runs_reopen").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Backtest"
    # the Backtest page consumes ``bt_reopen`` into its widgets
    assert at.selectbox(key="bt_symbol").value == "AAPL"
    assert at.selectbox(key="bt_name").value == "rsi"


def test_unreachable_store_is_said_clearly(runs_env, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    at = open_runs()
    assert any("unreachable" in e.value for e in at.error)
