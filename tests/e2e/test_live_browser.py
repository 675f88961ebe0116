"""Live page in Chromium: start a replay bot from a Backtest result, see it trade and its
replay check say the same while it runs, pause and resume it, hit the emergency stop."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _until(pred, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")


def test_paper_bot_from_a_backtest_trades_pauses_resumes_and_emergency_stops(
        server, browser, artifacts_dir):
    from lab.live import control

    url, root = server
    page = browser.new_page(viewport={"width": 1500, "height": 1900})
    try:
        _scenario(page, url, root, artifacts_dir)
    finally:
        control.emergency_stop(root)                  # leave no bot process behind
        page.close()


def _scenario(page, url, root, artifacts_dir):
    from lab.live import control

    page.goto(url + "/backtest", wait_until="networkidle")
    page.get_by_role("button", name="Run backtest").click(timeout=60_000)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Start paper bot").click(timeout=60_000)
    pop = page.locator('[data-testid="stPopoverBody"]')
    pop.get_by_label("Bot name").wait_for(timeout=120_000)
    pop.get_by_label("Bot name").fill("e2e-bot")
    speed = pop.get_by_label("Replay speed, bars/s (0 = fastest)")
    speed.fill("100")
    speed.press("Enter")
    pop.get_by_role("button", name="Start bot").click()
    page.get_by_text("Bot e2e-bot started").wait_for(timeout=60_000)
    _until(lambda: len(control.fills("e2e-bot", root)) >= 2)           # it trades
    cfg = control.config("e2e-bot", root)
    assert cfg.feed["kind"] == "replay" and cfg.feed["speed"] == 100

    page.goto(url + "/live", wait_until="networkidle")
    # the bot's detail, with the replay check of the running bot: its finished bars
    # against their backtest
    page.get_by_text("Replay check: the backtest of the").wait_for(timeout=120_000)
    assert page.get_by_text("state running").count() or page.get_by_text(
        "state finished").count()
    assert not page.get_by_text("Replay check: DIFFERENT").count()
    page.get_by_role("button", name="Pause").click(timeout=120_000)
    _until(lambda: control.status("e2e-bot", root)["state"] == "paused")
    page.get_by_role("button", name="Resume").click(timeout=120_000)
    _until(lambda: control.status("e2e-bot", root)["state"] == "running")
    page.locator('[data-testid="stMetric"]').filter(has_text="Bars seen").wait_for(
        timeout=30_000)
    page.wait_for_timeout(2500)
    page.screenshot(path=str(artifacts_dir / "live_running.png"), full_page=True)

    page.get_by_role("button", name="Emergency stop").click(timeout=120_000)
    page.get_by_text("I understand: flatten all and halt").click()
    page.get_by_role("button", name="Flatten all and halt").click()
    page.get_by_text("Emergency stop done").wait_for(timeout=90_000)
    st = control.status("e2e-bot", root)
    assert st["risk_state"] == "HALTED" and st["position"] == 0.0 and st["pid"] is None
    page.wait_for_timeout(3000)
    page.screenshot(path=str(artifacts_dir / "live_emergency_stop.png"), full_page=True)
    assert not page.locator('[data-testid="stException"]').count()
