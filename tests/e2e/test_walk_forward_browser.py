"""The Walk-forward page in real Chromium: a short walk-forward started by clicking runs
as a job and ends on its results (leaderboard, equity, scatter, windows, drift).

Needs Debian's chromium at /usr/bin/chromium (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from lab.data import Catalog, build_sample_store

    root = tmp_path_factory.mktemp("e2e-wf-data")
    build_sample_store(Catalog(root))
    port = _free_port()
    env = {**os.environ, "LAB_DATA_DIR": str(root)}
    log = open(root / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not start: " + (root / "streamlit.log").read_text())
    yield url, root
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium (.ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


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
