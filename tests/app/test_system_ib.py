"""System page: the IB gateway check, against the stand-in gateway (real ib_async)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.venues.ib_gateway import StandInGateway


def _page(port: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "system.py"), default_timeout=60)
    at.run()
    at.text_input(key="ibgw-host").set_value("127.0.0.1")
    return at


def test_gateway_check_shows_paper_account_server_version_and_masks_the_account(lab_env,
                                                                                 monkeypatch):
    monkeypatch.setenv("LAB_IB_PORT", "4002")
    at = _page(4002)
    assert any("IB Gateway paper (4002)" in c.value for c in at.caption)
    with StandInGateway() as gw:
        monkeypatch.setenv("LAB_IB_PORT", str(gw.port))     # the stand-in's free port
        at = _page(gw.port)
        assert any("not one of IB's default ports" in c.value for c in at.caption)
        at.button(key="ibgw-check").click().run()
        assert not at.exception
        [ok] = at.success
        assert "Paper account" in ok.value and "server version 176" in ok.value
        assert "DU****321" in ok.value and "DU7654321" not in ok.value


def test_gateway_check_without_gateway_says_what_to_start(lab_env, monkeypatch):
    with StandInGateway() as gw:
        gw.stop_listening()
        monkeypatch.setenv("LAB_IB_PORT", str(gw.port))
        at = _page(gw.port)
        at.button(key="ibgw-check").click().run()
        [warn] = at.warning
        assert f"127.0.0.1:{gw.port}" in warn.value and "start IB Gateway or TWS" in warn.value
