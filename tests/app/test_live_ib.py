"""Live page: starting a bot on IB (paper, or live only with the switch and the typed
account), live bots in red, the gateway status of a bot on IB; against the stand-in."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lab.live import control
from lab.live.ib.journal import Journal, journal_path
from tests.conftest import ROOT
from tests.venues.ib_gateway import StandInGateway


@pytest.fixture()
def live_env(tmp_path, sample_root, monkeypatch):
    (tmp_path / "store").symlink_to(sample_root / "store", target_is_directory=True)
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LAB_LIVE_TRADING", raising=False)
    return tmp_path


def _form(port: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/live.py")
    at.run()
    at.radio(key="lv_feed").set_value("ib").run()
    at.number_input(key="lv_ibport").set_value(port)
    at.text_input(key="lv_ibsym").set_value("ES")
    at.selectbox(key="lv_ibsec").set_value("FUT")
    at.text_input(key="lv_ibexp").set_value("201312")
    at.text_input(key="lv_name").set_value("es-ib")
    return at.run()


def _start(at: AppTest) -> AppTest:
    at.button(key="lv_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_live_bot_needs_the_switch_then_the_typed_account_nothing_created_before(
        live_env, monkeypatch):
    with StandInGateway(accounts=("U1234567",)) as gw:
        at = _form(gw.port)
        at.radio(key="lv_ibkind").set_value("live").run()
        assert any("real money" in e.value for e in at.error)
        _start(at)
        assert any("LAB_LIVE_TRADING=1" in e.value for e in at.error)
        monkeypatch.setenv("LAB_LIVE_TRADING", "1")
        at.text_input(key="lv_ibconfirm").set_value("U7654321")
        _start(at)
        assert any("typed account id is not the account" in e.value for e in at.error)
        assert control.list_bots(live_env) == []
        assert gw.requests("place_order") == []


def test_paper_bot_on_a_live_login_is_refused_and_no_gateway_says_what_to_start(live_env):
    with StandInGateway(accounts=("U1234567",)) as gw:
        at = _start(_form(gw.port))
        assert any("logged in to a LIVE account" in e.value for e in at.error)
        gw.stop_listening()
        at = _start(_form(gw.port))
        assert any("start IB Gateway or TWS" in e.value for e in at.error)
    assert control.list_bots(live_env) == []


def test_bot_on_ib_shows_its_gateway_status_and_a_live_bot_is_red(live_env, monkeypatch):
    from lab.core.config import ExecutionConfig
    from lab.live.config import BotConfig, RiskLimits

    cfg = BotConfig(name="es-live", symbol="ES", timeframe="1m", strategy="buy_and_hold",
                    execution=ExecutionConfig(multiplier=50), asset_class="future",
                    account="live", feed={"kind": "ib"}, risk=RiskLimits(max_daily_loss=0.02),
                    broker={"kind": "ib", "port": 4001, "confirm": "U1234567",
                            "contract": {"symbol": "ES", "sec_type": "FUT",
                                         "expiry": "201312"}})
    uid = control.create(cfg, live_env)
    journal = Journal(journal_path(live_env), uid)
    journal.set_status("es-live", {"connected": True, "where": "127.0.0.1:4001 (IB Gateway "
                                   "live)", "mode": "live", "account": "U1***567",
                                   "server_version": 176, "connectivity": "ok",
                                   "last_error": "", "last_heartbeat": 0.0})
    journal.close()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/live.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("this bot trades real money" in v for v in errors)
    assert any("LIVE account: real money" in v and "U1***567" in v and "176" in v
               for v in errors)
    assert "U1234567" not in str([e.value for e in at.error] + [m.value for m in at.markdown])
