"""The Walk-forward page in real Chromium: a short walk-forward started by clicking runs
as a job and ends on its results (leaderboard, equity, scatter, windows, drift).

Needs Debian's chromium at /usr/bin/chromium (``.ci/run`` installs it); the ``server``
and ``browser`` fixtures are in ``tests/e2e/conftest.py``.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_a_short_walk_forward_ends_on_its_results(server, browser, artifacts_dir):
    url, root = server
    page = browser.new_page(viewport={"width": 1500, "height": 3200})
    page.goto(url + "/walk_forward", wait_until="networkidle")
    page.get_by_role("button", name="Start walk-forward").wait_for(timeout=60_000)
    page.get_by_text("Grid of sma_cross").click()
    values = page.get_by_role("textbox", name="or values")
    for i, text in enumerate(("5, 10, 20, 40", "50, 100, 200")):
        values.nth(i).fill(text)
        values.nth(i).press("Enter")
        page.wait_for_timeout(500)
    page.get_by_text("windows: train").first.wait_for(timeout=30_000)  # layout shown first
    assert not list(root.glob("walkforward/*"))
    page.get_by_role("button", name="Start walk-forward").click()
    page.get_by_text("Walk-forward jobs").wait_for(timeout=30_000)
    page.locator('[data-testid="stMarkdownContainer"]', has_text="done").filter(
        has_text="walk-forward sma_cross").first.wait_for(timeout=180_000)
    page.get_by_role("tab", name="Results").click()
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    labels = {t.strip() for t in
              page.locator('[data-testid="stMetricLabel"]').all_inner_texts()}
    assert {"Best strategy", "OOS Sharpe (mean)", "Consistency", "Sharpe decay",
            "WF efficiency"} <= labels
    plots = page.locator(".js-plotly-plot")
    plots.nth(2).wait_for(timeout=60_000)
    assert plots.count() == 3
    page.wait_for_timeout(2000)
    page.screenshot(path=str(artifacts_dir / "walk_forward.png"), full_page=True)
    assert not page.locator('[data-testid="stException"]').count()
    page.close()
