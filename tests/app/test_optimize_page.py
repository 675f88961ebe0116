"""AppTest of the Optimize page on the sample store: a study started by the button and
run by a real job, its results (best trials, Optuna plots, DSR, PBO) and a trial opened
in Backtest with the same result."""

from __future__ import annotations

import json
import uuid

import pytest
from streamlit.testing.v1 import AppTest

from lab import jobs
from lab.jobs.runner import run_job
from lab.research.optimize import default_storage, load_study_result
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
PAGE = "app_pages/optimize.py"


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_start_runs_a_study_as_a_job_and_shows_its_results(lab_env):
    name = f"page-{uuid.uuid4().hex[:6]}"
    at = open_page()
    at.selectbox(key="op_symbol").set_value("AAPL").run()
    at.text_input(key="op_study_name").set_value(name)
    at.number_input(key="op_n_trials").set_value(6)
    at.number_input(key="op_seed").set_value(1)
    at.text_input(key="op_search_sl").set_value("1:5")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    at.button(key="op_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    job = jobs.wait(at.session_state["op_watch"], timeout=120)
    assert job.status == "done", job.error
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="op_pick").value == name
    values = {m.label: m.value for m in at.metric}
    assert values["Trials"] == "6"
    assert values["Deflated Sharpe"].endswith("%") or values["Deflated Sharpe"] == "n/a"
    assert len(at.get("plotly_chart")) >= 2


def test_bad_range_disables_start(lab_env):
    at = open_page()
    at.text_input(key="op_search_lev").set_value("5:1").run()
    assert any("Leverage" in e.value for e in at.error)
    assert at.button(key="op_start").disabled


@pytest.fixture
def finished_study(lab_env):
    name = f"fin-{uuid.uuid4().hex[:6]}"
    job_id = jobs.submit("optimize", {"symbol": "AAPL", "timeframe": "1d",
                                      "strategy": "sma_cross", "study_name": name,
                                      "n_trials": 25, "seed": 4, "pruning": False,
                                      "search_tp": [0.05, 0.3], "track": False},
                         spawn=False)
    job = run_job(job_id)
    assert job.status == "done", job.error
    return load_study_result(name, default_storage(lab_env))


def test_open_in_backtest_and_pbo(finished_study):
    at = open_page()
    at.selectbox(key="op_pick").set_value(finished_study.study_name).run()
    assert not at.exception, [e.message for e in at.exception]
    at.button(key="op_pbo_btn").click().run()
    assert not at.exception, [e.message for e in at.exception]
    values = {m.label: m.value for m in at.metric}
    assert values["PBO"].endswith("%")
    best = finished_study.best.iloc[0]
    at.button(key="op_open").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Backtest"
    assert at.session_state["bt_symbol"] == "AAPL"
    params = json.loads(best["params"])
    assert {p: at.session_state[f"bt_sma_cross_{p}"] for p in params} == params
    at.switch_page("app_pages/backtest.py")
    at.toggle(key="bt_track").set_value(False)
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    result = at.session_state["bt_last"]["result"]
    assert result.metrics["sharpe"] == pytest.approx(best["sharpe"], rel=1e-9)


@pytest.mark.xdist_group("postgres")
def test_two_workers_on_a_postgres_storage_from_the_page(lab_env, postgres):
    """With a password in the storage URL: after Start the page, the job row and the
    results show it redacted (the runner reads it from the 0600 secrets file)."""
    url = postgres.create_database("page_study").replace("postgres@", "postgres:pgS3cret@")
    shown = url.replace("pgS3cret", "***")
    name = f"pg-{uuid.uuid4().hex[:6]}"
    at = open_page()
    at.selectbox(key="op_symbol").set_value("AAPL").run()
    at.text_input(key="op_study_name").set_value(name)
    at.number_input(key="op_n_trials").set_value(10)
    at.number_input(key="op_workers").set_value(2)
    at.text_input(key="op_storage").set_value(url)
    at.checkbox(key="op_pruning").set_value(False)
    at.run()
    at.button(key="op_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    job = jobs.wait(at.session_state["op_watch"], timeout=180)
    assert job.status == "done", job.error
    assert job.payload["workers"] == 2 and job.payload["storage"] == shown
    assert "pgS3cret" not in repr(job)
    at.run()                  # the jobs panel sees the end and selects study and storage
    assert not at.exception, [e.message for e in at.exception]
    assert at.text_input(key="op_storage").value == shown
    assert at.text_input(key="op_results_storage").value == shown
    assert not any("pgS3cret" in str(e.value) for e in [*at.text_input, *at.markdown,
                                                         *at.caption, *at.error, *at.info])
    assert at.selectbox(key="op_pick").value == name
    assert {m.label: m.value for m in at.metric}["Trials"] == "10"
    res = load_study_result(name, url)
    assert len(res.trials) == 10 and res.trials["worker"].nunique() == 2


def test_unreachable_storage_is_refused_before_the_job_starts(lab_env):
    at = open_page()
    at.text_input(key="op_storage").set_value("postgresql://me:pw@127.0.0.1:1/nothing")
    at.run()
    before = len(jobs.list_jobs("optimize", limit=1000))
    at.button(key="op_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("not started" in e and "cannot open the database" in e for e in errors)
    assert not any(":pw@" in e for e in errors)
    assert len(jobs.list_jobs("optimize", limit=1000)) == before
