"""AppTest: every page renders on the sample store, and the Backtest page runs."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")


def open_page(page: str, track: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    if page.endswith("backtest.py") and not track:
        at.toggle(key="bt_track").set_value(False)
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
    assert int(values["Trades"].replace(",", "")) > 10
    assert values["Sharpe"] != "n/a"
    assert "BTCUSD_COINBASE" in at.subheader[0].value


def test_after_the_first_run_a_moved_slider_reruns_without_a_click(lab_env):
    at = open_page("app_pages/backtest.py")
    at.button(key="bt_run").click().run()
    first = at.session_state["bt_last"]["result"]
    before = metric_values(at)["Total return"]
    at.slider(key="bt_leverage").set_value(3.0).run()
    assert not at.exception, [e.message for e in at.exception]
    assert metric_values(at)["Total return"] != before
    assert at.session_state["bt_last"]["result"].config.leverage == 3.0
    assert not any("Settings changed" in c.value for c in at.caption)
    assert any("not recorded" in c.value.lower() or "Not recorded" in c.value
               for c in at.caption)
    at.slider(key="bt_leverage").set_value(1.0).run()           # back: the kept result
    assert at.session_state["bt_last"]["result"] is first
    assert metric_values(at)["Total return"] == before


def test_with_backtrader_a_changed_setting_waits_for_the_button(lab_env):
    at = open_page("app_pages/backtest.py")
    at.selectbox(key="bt_symbol").set_value("MSFT")
    at.selectbox(key="bt_compare").set_value("backtrader")
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    before = metric_values(at)["Total return"]
    at.slider(key="bt_leverage").set_value(2.0).run()
    assert any("Settings changed" in c.value and "backtrader" in c.value
               for c in at.caption)
    assert metric_values(at)["Total return"] == before
    at.button(key="bt_run").click().run()
    assert metric_values(at)["Total return"] != before
    assert not any("Settings changed" in c.value for c in at.caption)


def test_a_parameter_beyond_its_search_range_backtests(lab_env):
    at = open_page("app_pages/backtest.py")
    at.number_input(key="bt_sma_cross_slow").set_value(500)          # searched 10-400
    at.button(key="bt_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["bt_last"]["result"].params["slow"] == 500


def test_an_invalid_parameter_after_a_run_names_the_rule_and_recovers(lab_env):
    at = open_page("app_pages/backtest.py")
    at.button(key="bt_run").click().run()
    at.number_input(key="bt_sma_cross_fast").set_value(60).run()    # slow is 50
    assert at.error and "fast" in at.error[0].value
    assert not at.metric
    at.number_input(key="bt_sma_cross_fast").set_value(10).run()
    assert not at.error and at.session_state["bt_last"]["result"].params["fast"] == 10


def test_a_blown_account_is_told_why_trading_stopped(lab_env):
    at = open_page("app_pages/backtest.py")
    at.number_input(key="bt_sma_cross_fast").set_value(6)
    at.number_input(key="bt_sma_cross_slow").set_value(20)
    at.radio(key="bt_direction").set_value("both")
    at.slider(key="bt_leverage").set_value(50.0)
    at.number_input(key="bt_crate_percent").set_value(0.04)
    at.session_state["bt_advanced"] = True                  # open Advanced
    at.run()
    at.number_input(key="bt_min_notional").set_value(10.0)
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    stopped = [w.value for w in at.warning if "Trading stopped" in w.value]
    assert stopped and "minimum order value (10.00)" in stopped[0]
    at.number_input(key="bt_min_notional").set_value(0.0).run()      # follows: no minimum
    assert not any("Trading stopped" in w.value for w in at.warning)
    at.number_input(key="bt_min_notional").set_value(10.0).run()
    at.session_state["bt_advanced"] = False                 # closed, the value stays
    at.run()
    assert "bt_min_notional" not in {n.key for n in at.number_input}
    at.slider(key="bt_size").set_value(99).run()            # a change re-runs: still 10
    assert at.session_state["bt_last"]["result"].config.min_notional == 10.0
    assert any("minimum order value (10.00)" in w.value for w in at.warning)


def test_backtest_page_stop_loss_produces_stop_exits(lab_env):
    at = open_page("app_pages/backtest.py")
    at.slider(key="bt_sl").set_value(1.0)
    at.button(key="bt_run").click().run()
    assert not at.exception
    assert not at.dataframe                                     # Trades tab closed
    at.session_state["bt_tab"] = "Trades"
    at.run()
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


def test_system_page_says_the_local_mlflow_store_works(lab_env, monkeypatch):
    """Regression: it said "not recorded yet; tracking arrives with the MLflow issue"
    while runs were being recorded."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from lab.tracking import store

    store.client(store.tracking_uri(lab_env))
    at = open_page("app_pages/system.py")
    line = next(m.value for m in at.markdown if m.value.startswith("Run tracking"))
    assert f"local store {lab_env.resolve() / 'mlflow' / 'mlflow.db'}, working" in line
    assert "not recorded yet" not in line


def test_live_page_without_bots_offers_the_start_form(tmp_path, sample_root, monkeypatch):
    (tmp_path / "store").symlink_to(sample_root / "store", target_is_directory=True)
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    at = open_page("app_pages/live.py")
    assert any("No bots yet" in i.value for i in at.info)
    assert any(b.label == "Start bot" for b in at.button)


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


def test_backtest_page_analytics_and_tearsheet_render(lab_env):
    at = open_page("app_pages/backtest.py")
    at.selectbox(key="bt_symbol").set_value("MSFT")
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert "Alpha (ann., daily OLS)" not in {m.label for m in at.metric}  # tab closed
    at.session_state["bt_tab"] = "Analytics"
    at.run()
    labels = {m.label for m in at.metric}
    assert {"Alpha (ann., daily OLS)", "Beta"} <= labels
    beta = next(m.value for m in at.metric if m.label == "Beta")
    assert beta != "n/a"
    at.selectbox(key="bt_bench").set_value("SPX").run()
    assert not at.exception, [e.message for e in at.exception]
    at.session_state["bt_tab"] = "Tearsheet"
    at.run()
    at.button(key="bt_tearsheet_btn").click().run()
    assert not at.exception, [e.message for e in at.exception]
    key, html = at.session_state["bt_tearsheet"]
    assert "SPX" in html and "Sharpe" in html


def test_backtest_page_records_the_run_in_mlflow(lab_env):
    at = open_page("app_pages/backtest.py", track=True)
    at.selectbox(key="bt_symbol").set_value("LTCUSD_BITSTAMP")
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    outcome = at.session_state["bt_last"]["future"].result(timeout=120)
    assert outcome.recorded, outcome.error
    at.run()
    assert any(outcome.run_id in c.value for c in at.caption)

    from lab.tracking import get_run, tracking_uri

    run = get_run(outcome.run_id, tracking_uri=tracking_uri(lab_env))
    assert run["symbol"] == "LTCUSD_BITSTAMP" and run["tags"]["source"] == "app"


def test_a_recorded_run_reopens_with_its_exact_settings(lab_env):
    at = open_page("app_pages/backtest.py")
    run = {"run_id": "abcdef123456", "strategy": "bollinger",
           "params": {"period": 30, "k": 2.5}, "symbol": "EURUSD", "timeframe": "4h",
           "start": "2017-03-01T00:00:00+00:00", "end": "2017-09-30T00:00:00+00:00",
           "engine": "vectorized",
           "config": {"cash": 25000.0, "direction": "both", "leverage": 5.0,
                      "maintenance_margin": 0.01, "sl": 0.01, "tp": 0.02,
                      "both_hit": "nearest_to_open",
                      "commission": {"model": "percent", "rate": 0.00002, "minimum": 0.0,
                                     "maximum_fraction": 0.0},
                      "slippage": 0.0001, "multiplier": 1.0, "size_type": "equity_fraction",
                      "size": 0.5, "whole_units": False, "min_notional": 25.0}}
    at.session_state["bt_reopen"] = run
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    at.button(key="bt_run").click().run()              # Advanced closed: still its values
    assert not at.exception, [e.message for e in at.exception]
    result = at.session_state["bt_last"]["result"]
    assert (result.strategy, result.symbol, result.timeframe) == ("bollinger", "EURUSD", "4h")
    assert result.params == {"period": 30, "k": 2.5}
    # settings added since the run was recorded keep their defaults
    assert result.config == __import__("lab").core.config.ExecutionConfig.from_dict(
        run["config"])
    assert result.equity.index[0] >= __import__("pandas").Timestamp("2017-03-01", tz="UTC")
    assert result.equity.index[-1] < __import__("pandas").Timestamp("2017-10-01", tz="UTC")
    at.session_state["bt_advanced"] = True
    at.run()
    assert at.number_input(key="bt_min_notional").value == 25.0
    assert at.selectbox(key="bt_both").value == "nearest_to_open"


def test_switching_symbol_shows_that_symbols_own_timeframes(lab_env):
    at = open_page("app_pages/backtest.py")
    assert at.selectbox(key="bt_tf_BTCUSD_COINBASE").value == "1h"
    at.selectbox(key="bt_symbol").set_value("AAPL").run()
    tf = at.selectbox(key="bt_tf_AAPL")
    assert tf.value == "1d" and "1h" not in tf.options


def test_a_native_backtrader_strategy_runs_on_backtrader_only(lab_env):
    at = open_page("app_pages/backtest.py")
    at.selectbox(key="bt_symbol").set_value("MSFT")
    at.selectbox(key="bt_name").set_value("bt_sma_cross").run()
    assert at.selectbox(key="bt_engine").options == ["backtrader"]
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    result = at.session_state["bt_last"]["result"]
    assert result.engine == "backtrader" and len(result.trades) > 5


def test_live_page_sets_and_shows_the_account_limits(tmp_path, sample_root, monkeypatch):
    from lab.live import control

    (tmp_path / "store").symlink_to(sample_root / "store", target_is_directory=True)
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    at = open_page("app_pages/live.py")
    assert any("Account risk (paper)" in e.label and "no account limits" in e.label
               for e in at.expander)
    at.number_input(key="lv_acct_paper_max_drawdown").set_value(5.0)
    at.number_input(key="lv_acct_paper_max_position_units").set_value(2.5)
    next(b for b in at.button if b.label == "Save account limits").click().run()
    assert not at.exception, [e.message for e in at.exception]
    lim = control.account_limits("paper", tmp_path)
    assert lim.max_drawdown == 0.05 and lim.max_position_units == 2.5
    assert any("ACTIVE" in e.label and "max_drawdown 0.05" in e.label
               and "max_position_units 2.5" in e.label for e in at.expander)
