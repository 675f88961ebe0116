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


def test_level_inputs_size_the_candidates_and_reach_the_job(lab_env):
    at = small(open_page())
    at.text_input(key="wf_sl_levels").set_value("off, 2")
    at.text_input(key="wf_lev_levels").set_value("1, x").run()
    assert any("Leverage: 'x' is not a number" in e.value for e in at.error)
    assert at.button(key="wf_start").disabled
    at.text_input(key="wf_lev_levels").set_value("1, 2").run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("sma_cross 6 sets x 4 levels" in c.value for c in at.caption)
    at.button(key="wf_start").click().run()
    job_id = at.session_state["wf_watch"]
    payload = jobs.get(job_id).payload
    assert (payload["sl"], payload["tp"], payload["leverage"]) == ([None, 0.02], None, [1.0, 2.0])
    job = jobs.wait(job_id, timeout=120)
    assert job.status == "done", job.error
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("levels sl off/2% x leverage 1/2" in c.value for c in at.caption)
    windows = at.dataframe[1].value
    assert {"param_sl", "param_leverage"} <= set(windows.columns)


def test_drift_figure_draws_searched_levels_in_panels_of_their_own():
    import math

    import pandas as pd

    from lab.research.walk_forward import WalkForwardResult
    from lab.ui.walk_forward_views import drift_figure

    windows = pd.DataFrame({
        "strategy": ["s"] * 3, "window": [1, 2, 3],
        "params": ['{"fast": 5}', '{"fast": 10}', None], "param_fast": [5.0, 10.0, math.nan],
        "param_sl": [math.nan, 0.02, math.nan], "param_tp": [math.nan] * 3,
        "param_leverage": [2.0, 1.0, math.nan]})
    res = WalkForwardResult(pd.DataFrame(), windows, pd.DataFrame(), pd.DataFrame(),
                            meta={"levels": {"sl": [None, 0.02], "tp": [None],
                                             "leverage": [1.0, 2.0]}})
    fig = drift_figure(res, "s")
    traces = {t.name: t for t in fig.data}
    assert set(traces) == {"fast", "sl (% of entry, 0 = off)", "leverage (x)"}
    sl, lev = traces["sl (% of entry, 0 = off)"], traces["leverage (x)"]
    assert traces["fast"].yaxis == "y" and sl.yaxis == "y2" and lev.yaxis == "y3"
    assert list(sl.y[:2]) == [0.0, 2.0] and math.isnan(sl.y[2])
    assert list(lev.y[:2]) == [2.0, 1.0]
    assert fig.layout.yaxis2.title.text == "% of entry"
    assert fig.layout.yaxis3.title.text == "leverage (x)"
    # nothing searched: the strategy's parameters only
    res.meta["levels"] = {"sl": [None], "tp": [None], "leverage": [1.0]}
    assert [t.name for t in drift_figure(res, "s").data] == ["fast"]
