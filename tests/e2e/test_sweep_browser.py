"""The Sweep page in real Chromium: size a sweep, start it by clicking, watch the job,
read the leaderboard and the heatmap.

Needs Debian's chromium at /usr/bin/chromium (``.ci/run`` installs it).
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_a_sweep_started_by_clicking_ends_on_its_leaderboard(server, browser, artifacts_dir):
    url, root = server
    page = browser.new_page(viewport={"width": 1500, "height": 2300})
    page.goto(url + "/sweep", wait_until="networkidle")
    page.get_by_role("button", name="Start sweep").wait_for(timeout=60_000)
    sl = page.get_by_role("textbox", name="Stop-loss levels (% of entry)")
    sl.fill("off, 3")
    sl.press("Enter")
    sets = page.locator('[data-testid="stMetric"]', has_text="Parameter sets")
    sets.get_by_text("3,530").wait_for(timeout=30_000)      # sized before anything runs
    assert not list(root.glob("sweeps/*"))
    page.screenshot(path=str(artifacts_dir / "sweep_form.png"), full_page=True)
    page.get_by_role("button", name="Start sweep").click()
    page.get_by_text("Sweep jobs").wait_for(timeout=30_000)
    page.locator('[data-testid="stMarkdownContainer"]', has_text="done").filter(
        has_text="sma_cross on BTCUSD_COINBASE@1h").first.wait_for(timeout=120_000)
    page.get_by_role("tab", name="Leaderboard").click()
    board = page.locator('[data-testid="stDataFrame"]').first
    board.wait_for(timeout=60_000)
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    assert {"Trials", "DSR of the best", "Stability of the best"} <= {l.strip() for l in labels}
    trials = page.locator('[data-testid="stMetric"]', has_text="Trials")
    assert "3,530" in trials.inner_text()
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    assert page.get_by_role("button", name="Open in Backtest").is_visible()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts_dir / "sweep.png"), full_page=True)
    assert not page.locator('[data-testid="stException"]').count()
    page.close()
