"""The Sweep page in real Chromium: size a sweep, start it by clicking, watch the job,
read the leaderboard and the heatmap.

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

    root = tmp_path_factory.mktemp("e2e-sweep-data")
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
