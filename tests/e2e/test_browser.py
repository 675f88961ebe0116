"""The real app in real Chromium: start the server, click through a backtest.

Needs Debian's chromium at /usr/bin/chromium (``.ci/run`` installs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.ui.plot_frame import FRAME_TITLE
from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_backtest_by_clicking_shows_equity_chart_and_metrics(server, browser, artifacts_dir):
    url, _ = server
    page = browser.new_page(viewport={"width": 1500, "height": 1800})
    page.goto(url + "/backtest", wait_until="networkidle")
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Research").wait_for(timeout=60_000)        # the st.navigation registry
    assert "Walk-forward" in nav.inner_text()
    page.get_by_role("button", name="Run backtest").click(timeout=60_000)
    metrics = page.locator('[data-testid="stMetric"]')
    metrics.first.wait_for(timeout=60_000)
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    assert {"Total return", "Sharpe", "Max drawdown", "Trades"} <= {l.strip() for l in labels}
    # the price and the equity chart, in one frame drawn by plotly.js (lab.ui.plot_frame)
    charts = page.locator(CHART_FRAMES)
    charts.wait_for(timeout=60_000)
    assert charts.count() == 1
    frame = charts.element_handle().content_frame()
    frame.wait_for_function("() => document.body.dataset.drawn === '2'", timeout=60_000)
    title = frame.locator("#chart0 .gtitle").first.text_content()
    assert title.startswith("BTCUSD_COINBASE 1h")
    assert frame.locator("#chart1 .scatterlayer .trace").count() == 3
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts_dir / "backtest.png"), full_page=True)
    assert not page.locator('[data-testid="stException"]').count()

    # zoom into the equity chart, as a user drags across it
    zoom = ["2018-01-01", "2018-06-30"]
    frame.evaluate("(r) => Plotly.relayout('chart1', {'xaxis.range': r})", zoom)
    charts.evaluate("e => { e.dataset.marked = 'before the change'; }")
    marks = "() => [...document.querySelectorAll('.chart')].map(c => c._fullData.length)"
    traces = frame.evaluate(marks)

    # after the first run the page follows a moved slider without a click
    before = "|".join(page.locator('[data-testid="stMetricValue"]').all_inner_texts())
    slider = page.locator('[data-testid="stSlider"]', has_text="Leverage").get_by_role("slider")
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        """(before) => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
                       .map(e => e.innerText).join('|') !== before""", arg=before,
        timeout=60_000)
    assert not page.get_by_text("Settings changed since this run").count()
    # the equity chart is redrawn in place, once, and keeps the zoom; the price chart
    # (same trades marked: leverage does not change the prices) is not redrawn
    frame.wait_for_function("() => document.body.dataset.drawn === '3'", timeout=60_000)
    assert charts.evaluate("e => e.dataset.marked") == "before the change"
    shown = frame.evaluate("() => document.getElementById('chart1').layout.xaxis.range")
    assert [x[:10] for x in shown] == zoom
    page.wait_for_timeout(500)
    assert _drawn(frame) == 3 and frame.evaluate(marks) == traces

    # another view hides the charts without unloading them; back on Chart they show at
    # once as they were (no reload of plotly.js, no redraw)
    page.get_by_role("radio", name="Trades").click()
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
    page.wait_for_function(f"""() => document.querySelector(`{CHART_FRAMES}`)
                               .getBoundingClientRect().height === 0""", timeout=60_000)
    page.get_by_role("radio", name="Chart").click()
    page.wait_for_function(f"""() => document.querySelector(`{CHART_FRAMES}`)
                               .getBoundingClientRect().height > 900""", timeout=60_000)
    assert charts.evaluate("e => e.getBoundingClientRect().height") == 520 + 16 + 460
    assert charts.evaluate("e => e.dataset.marked") == "before the change"
    assert _drawn(frame) == 3
    page.close()


CHART_FRAMES = f'iframe[title="{FRAME_TITLE}"]'


def _drawn(frame) -> int:
    """Figures the chart frame has drawn."""
    return frame.evaluate("() => Number(document.body.dataset.drawn || 0)")


def test_uploading_a_bad_file_is_refused_and_a_good_one_is_stored(server, browser, tmp_path,
                                                                  artifacts_dir):
    import pandas as pd

    url, root = server
    good = pd.read_parquet(sorted((ROOT / "data" / "samples").glob("*.parquet"))[0]).head(300)
    good_path = tmp_path / "good.csv"
    good.to_csv(good_path, index=False)
    bad = good.copy()
    bad.loc[5, "high"] = bad.loc[5, "low"] - 1.0
    bad_path = tmp_path / "bad.csv"
    bad.to_csv(bad_path, index=False)

    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(url + "/data", wait_until="networkidle")
    page.get_by_text("Validate and store").wait_for(timeout=60_000)
    # the button can show before the form's widgets have rendered (a busy machine)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached",
                                                                          timeout=120_000)

    def upload(path: Path, symbol: str) -> None:
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
        # the upload is its own request: wait until the uploader lists the file
        page.locator('[data-testid="stFileChipName"]', has_text=path.name).wait_for(
            timeout=30_000)
        page.get_by_placeholder("e.g. SPY").fill(symbol)
        page.get_by_role("button", name="Validate and store").click()

    upload(bad_path, "BADFILE")
    page.get_by_text("was refused and nothing was stored").wait_for(timeout=60_000)
    assert not list(root.glob("store/**/*BADFILE*"))
    upload(good_path, "GOODFILE")
    page.get_by_text("Stored GOODFILE").wait_for(timeout=60_000)
    page.screenshot(path=str(artifacts_dir / "data_upload.png"), full_page=True)
    page.close()


def test_the_same_backtest_on_two_engines_agrees_in_the_browser(server, browser,
                                                                 artifacts_dir):
    url, _ = server
    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    page.goto(url + "/backtest", wait_until="networkidle")
    page.get_by_role("combobox", name="Symbol").click()
    page.get_by_role("option", name="AAPL · stock").click()
    _wait_idle(page)                       # as a user sees the page settle
    page.get_by_role("combobox", name="Compare with").click()
    page.get_by_role("option", name="backtrader").click()
    _wait_idle(page)
    page.get_by_role("button", name="Run backtest").click(timeout=60_000)
    page.get_by_role("radio", name="Engines").click(timeout=120_000)
    page.get_by_text("vectorized and backtrader agree").wait_for(timeout=60_000)
    page.get_by_text("Trades that differ").wait_for()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts_dir / "engines.png"), full_page=True)
    page.close()


def _wait_idle(page, timeout: float = 60_000) -> None:
    """Until the script has finished and no element is stale."""
    page.wait_for_function(
        """() => {
          const app = document.querySelector('[data-testid="stApp"]');
          return app && app.getAttribute('data-test-script-state') !== 'running'
                 && !document.querySelector('[data-stale="true"]');
        }""", timeout=timeout)
