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


def test_halted_bot_shows_the_difference_and_adopt_behind_a_confirmation(live_env):
    """A real bot process halts on a position its ledger does not know and is stopped;
    the page shows the difference, Adopt needs the confirmation, then the bot is
    ACTIVE with the position; Flatten closes it and the fills tab shows IB's commission
    beside the model's."""
    from tests.unit.live.ib.test_ib_bot_process import _config, _run, _stop, _wait

    with StandInGateway() as gw:
        gw.add_position("DU7654321", "ESZ3", 2, 1676.0 * 50)
        control.create(_config(gw.port, "es-halt"), live_env)
        bot = _run("es-halt", live_env)
        try:
            _wait("the halt", lambda: control.status("es-halt", live_env)["risk_state"]
                  == "HALTED")
        finally:
            _stop(bot)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.switch_page("app_pages/live.py")
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        assert any("ledger does not match the broker" in e.value
                   and "ledger position 0.0 != broker position 2.0" in e.value
                   for e in at.error)
        assert at.button(key="lv_adopt_es-halt").disabled         # not confirmed yet
        at.checkbox(key="lv_rec_ok_es-halt").check().run()
        at.button(key="lv_adopt_es-halt").click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert any("adopted position +2 ES at 1676" in s.value for s in at.success)
        st_ = control.status("es-halt", live_env)
        assert (st_["risk_state"], st_["position"]) == ("ACTIVE", 2.0)
        assert not any("ledger does not match" in e.value for e in at.error)   # resolved
        at.button(key="lv_flatten_es-halt").click().run()
        assert gw.positions() == {}
        at.run()
        captions = " ".join(c.value for c in at.caption)
        assert "Commissions: broker 1.70 vs model 1.70, drift +0.00" in captions
        assert [f["reason"] for f in control.fills("es-halt", live_env)] == \
            ["adopted", "flatten"]
