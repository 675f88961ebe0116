"""AppTest: the Data page's download forms start real background download jobs against
the local venue stand-ins; the catalog shows the new dataset; Databento shows its cost
and downloads only after it is accepted."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lab import jobs
from lab.data import Catalog
from tests.conftest import ROOT
from tests.venues.fixtures import (binance_server, coinbase_btc_hourly,  # noqa: F401
                                   databento_server)

APP = str(ROOT / "app.py")


@pytest.fixture
def fresh_root(tmp_path, monkeypatch):
    """An empty data folder (the app builds the samples in it); caches cleared so the
    page's catalog is this folder's."""
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield tmp_path
    st.cache_resource.clear()
    st.cache_data.clear()


def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("app_pages/data.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _only_job(root) -> jobs.Job:
    [job] = jobs.list_jobs("download", root=root)
    return jobs.wait(job.id, timeout=240, root=root)


def test_ccxt_form_downloads_in_a_background_job(fresh_root, binance_server, monkeypatch):
    for key, value in binance_server.env().items():
        monkeypatch.setenv(key, value)
    at = _page()
    at.date_input(key="dl_cx_start").set_value(dt.date(2019, 6, 1))
    at.checkbox(key="dl_cx_now").uncheck()
    at.date_input(key="dl_cx_end").set_value(dt.date(2019, 9, 30))
    _button(at, "Download").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    job = _only_job(fresh_root)
    assert job.status == "done", job.error
    assert job.title == "download ccxt BTC/USDT 1h from 2019-06-01 (binance)"
    btc = coinbase_btc_hourly()
    expected = btc[(btc.index >= "2019-06-01") & (btc.index < "2019-10-01")]
    assert Catalog(fresh_root).info("BTCUSDT_BINANCE", "1h")["rows"] == len(expected)
    at.run()
    table = at.dataframe[0].value
    assert "BTCUSDT_BINANCE" in set(table["symbol"])
    assert any(f"+{len(expected):,} bars" in c.value for c in at.caption)


def test_databento_form_shows_the_cost_before_downloading(fresh_root, databento_server):
    at = _page()
    at.text_input(key="dl_db_sym").set_value("ES.c.0")
    at.date_input(key="dl_db_start").set_value(dt.date(2020, 12, 28))
    at.checkbox(key="dl_db_now").uncheck()
    at.date_input(key="dl_db_end").set_value(dt.date(2020, 12, 28))
    _button(at, "Get the cost").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("cost $1.25" in m.value for m in at.markdown)
    assert databento_server.get_range_calls == 0 and not jobs.list_jobs("download",
                                                                          root=fresh_root)
    at.button(key="dl_db_go").click()
    at.run()
    job = _only_job(fresh_root)
    assert job.status == "done", job.error
    assert job.payload["max_cost"] == pytest.approx(1.25)
    assert Catalog(fresh_root).info("ES.c.0", "1m")["rows"] == 4


def test_ib_form_downloads_through_the_stand_in_gateway(fresh_root, monkeypatch):
    from tests.venues.ib_gateway import StandInGateway
    from tests.venues.ib_gateway.market import bars_of

    with StandInGateway() as gw:
        monkeypatch.setenv("LAB_IB_PORT", str(gw.port))
        at = _page()
        at.text_input(key="dl_ib_sym").set_value("SPY")
        at.date_input(key="dl_ib_start").set_value(dt.date(2017, 1, 1))   # up to now
        [b for b in at.button if b.label == "Download"][-1].click()      # ccxt, Yahoo, IB
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        job = _only_job(fresh_root)
        assert job.status == "done", job.error
        windows = len(gw.requests("historical"))
    bars = Catalog(fresh_root).load("SPY", "1d")        # the stand-in's SPY: S&P 500 / 10
    real = bars_of("SPY").loc["2017-01-01":]
    assert windows >= 9 and len(bars) == len(real)
    assert (bars["close"].to_numpy() == real["close"].to_numpy()).all()
