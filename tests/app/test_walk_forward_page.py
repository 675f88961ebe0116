"""AppTest of the Walk-forward page on the sample store: the window layout is shown
before anything runs, bad settings disable Start, and a walk-forward started by the
button runs as a real job to its results (leaderboard, figures, windows)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from lab import jobs
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
PAGE = "app_pages/walk_forward.py"


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def small(at: AppTest) -> AppTest:
    at.selectbox(key="wf_symbol").set_value("BTCUSD_COINBASE").run()
    tf_key = "wf_tf_BTCUSD_COINBASE"
    at.selectbox(key=tf_key).set_value("1d").run()
    at.text_input(key="wf_g_sma_cross_fast_values").set_value("5, 10, 20")
    at.text_input(key="wf_g_sma_cross_slow_values").set_value("50, 100")
    at.number_input(key="wf_n").set_value(3)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_windows_are_shown_and_bad_settings_disable_start(lab_env):
    at = small(open_page())
    assert any("3 windows" in c.value and "rolling" in c.value for c in at.caption)
    assert not at.button(key="wf_start").disabled
    at.radio(key="wf_mode").set_value("bars").run()
    at.number_input(key="wf_train_bars").set_value(10**6).run()
    assert any("cannot hold one window" in e.value for e in at.error)
    assert at.button(key="wf_start").disabled


def test_start_runs_a_job_and_shows_the_result(lab_env):
    at = small(open_page())
    at.button(key="wf_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    job_id = at.session_state["wf_watch"]
    job = jobs.wait(job_id, timeout=120)
    assert job.status == "done", job.error
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="wf_view").value == job.result["wf_id"]
    assert job.result["tracked_run"]                   # recorded in MLflow by the job
    assert any(job.result["tracked_run"] in c.value for c in at.caption)
    values = {m.label: m.value for m in at.metric}
    assert values["Best strategy"] == "sma_cross"
    assert "OOS Sharpe (mean)" in values and "WF efficiency" in values
    board = at.dataframe[0].value
    assert list(board["strategy"]) == ["sma_cross"]
    windows = at.dataframe[1].value
    assert list(windows["window"]) == [1, 2, 3]
    assert len(at.get("plotly_chart")) == 3            # equity, scatter, drift
