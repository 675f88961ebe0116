"""AppTest: the Backtest page fills a futures contract's spec from the registry."""

from __future__ import annotations

from tests.app.test_pages import open_page


def test_es_contract_inputs_come_from_the_registry_and_size_by_margin(lab_env):
    at = open_page("app_pages/backtest.py")
    at.selectbox(key="bt_symbol").set_value("ESZ13").run()
    assert not at.exception, [e.message for e in at.exception]
    # the Advanced expander is drawn only when opened; closed, the contract still comes
    # from the registry
    assert "bt_im_ESZ13" not in {n.key for n in at.number_input}
    at.number_input(key="bt_cash").set_value(30_000.0)
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    result = at.session_state["bt_last"]["result"]
    assert result.config.initial_margin == 12_650.0 and result.config.multiplier == 50.0
    assert result.config.maintenance_per_contract == 11_500.0
    assert result.config.tick_size == 0.25 and result.config.whole_units
    # 30,000 buys 2 ES by margin (a cash account could not buy one: ~84,000 notional);
    # after losses the equity pays for one
    assert result.trades.qty.iloc[0] == 2.0 and set(result.trades.qty) <= {1.0, 2.0}
    at.session_state["bt_advanced"] = True                  # open it: the same figures
    at.run()
    assert at.number_input(key="bt_im_ESZ13").value == 12_650.0
    assert at.number_input(key="bt_mmpc_ESZ13").value == 11_500.0
    assert at.number_input(key="bt_mult_ESZ13").value == 50.0
    assert at.number_input(key="bt_tick_ESZ13").value == 0.25
    assert at.number_input(key="bt_xfee_ESZ13").value == 1.40
    assert at.checkbox(key="bt_whole_ESZ13").value is True
    assert any("E-mini S&P 500 (CME)" in c.value for c in at.caption)
    # a stock gets the generic US spec: SEC fee on sales, whole shares, cent tick
    at.selectbox(key="bt_symbol").set_value("AAPL").run()
    assert at.number_input(key="bt_sec_AAPL").value == 27.80
    assert at.number_input(key="bt_im_AAPL").value == 0.0


def test_data_page_shows_the_roll_dates_of_a_continuous_dataset(tmp_path, monkeypatch,
                                                                 request):
    import pandas as pd
    from streamlit.testing.v1 import AppTest

    from lab.data import Catalog
    from lab.data.continuous import (contracts_from_records, continuous_futures,
                                     equity_index_expiry, store_continuous)
    from tests.conftest import ROOT

    df = pd.read_csv(ROOT / "tests" / "fixtures" / "lean_es" / "es_contracts_1m.csv.gz")
    df["ts_event"] = pd.to_datetime(df["ts_event"], utc=True)
    contracts = contracts_from_records(df.set_index("ts_event"), symbol_column="contract")
    series = continuous_futures(contracts, {c: equity_index_expiry(c) for c in contracts},
                                roll="volume", adjust="difference")
    store_continuous(Catalog(tmp_path), series, "ES_CONT", "1m")
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    import streamlit as st

    st.cache_resource.clear()          # the catalog of another test's store is cached
    st.cache_data.clear()
    request.addfinalizer(st.cache_resource.clear)
    request.addfinalizer(st.cache_data.clear)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/data.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Continuous futures from ESZ13, ESH14: roll by volume" in c.value
               for c in at.caption)
    rolls = next(d.value for d in at.dataframe if "from" in d.value.columns)
    assert rolls[["from", "to"]].values.tolist() == [["ESZ13", "ESH14"]]
    assert str(rolls["roll at (UTC)"].iloc[0]).startswith("2013-12-20")
