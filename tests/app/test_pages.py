"""AppTest: every page renders on the sample store, and the Backtest page runs."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_backtest_page_waits_for_the_first_run(lab_env):
    at = open_page("app_pages/backtest.py")
    assert not at.metric
    assert any("Run backtest" in i.value for i in at.info)


def test_backtest_page_runs_sma_cross_on_bitcoin_and_shows_metrics(lab_env):
    at = open_page("app_pages/backtest.py")
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    values = metric_values(at)
    assert {"Total return", "Sharpe", "Max drawdown", "Trades"} <= set(values)
    assert int(values["Trades"]) > 10
    assert values["Sharpe"] != "n/a"
    assert "BTCUSD_COINBASE" in at.subheader[0].value


def test_backtest_page_leverage_slider_changes_the_result(lab_env):
    at = open_page("app_pages/backtest.py")
    at.button(key="bt_run").click().run()
    before = metric_values(at)["Total return"]
    at.slider(key="bt_leverage").set_value(3).run()
    assert not at.exception
    assert metric_values(at)["Total return"] != before


def test_backtest_page_stop_loss_produces_stop_exits(lab_env):
    at = open_page("app_pages/backtest.py")
    at.slider(key="bt_sl").set_value(1.0)
    at.button(key="bt_run").click().run()
    assert not at.exception
    trades = at.dataframe[-1].value
    assert "stop" in set(trades["exit_reason"])


def test_backtest_page_switches_symbol_and_strategy(lab_env):
    at = open_page("app_pages/backtest.py")
    at.selectbox(key="bt_symbol").set_value("AAPL")
    at.selectbox(key="bt_name").set_value("rsi")
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "rsi on AAPL 1d" in at.subheader[0].value


def test_data_page_lists_every_sample_dataset(lab_env):
    at = open_page("app_pages/data.py")
    catalog = at.dataframe[0].value
    assert {"SPX", "AAPL", "EURUSD", "BTCUSD_COINBASE"} <= set(catalog["symbol"])


def test_system_page_shows_package_versions_and_the_store(lab_env):
    at = open_page("app_pages/system.py")
    packages = at.dataframe[0].value
    assert "streamlit" in set(packages["package"])
    assert any("datasets" in m.value for m in at.markdown)


@pytest.mark.parametrize("page, words", [
    ("app_pages/sweep.py", "parameter grid"),
    ("app_pages/walk_forward.py", "out-of-sample"),
    ("app_pages/optimize.py", "Optuna"),
    ("app_pages/live.py", "paper bots"),
])
def test_pages_not_built_yet_say_what_they_will_do(lab_env, page, words):
    at = open_page(page)
    assert words in at.info[0].value


def test_home_page_counts_the_stored_datasets(lab_env):
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    values = {m.label: m.value for m in at.metric}
    assert int(values["Datasets"]) >= 15


def test_backtest_page_warns_about_the_unadjusted_aapl_split(lab_env):
    at = open_page("app_pages/backtest.py")
    at.selectbox(key="bt_symbol").set_value("AAPL")
    at.button(key="bt_run").click().run()
    assert not at.exception
    assert any("split" in w.value and "2005-02-28" in w.value for w in at.warning)
