"""AppTest of the Sweep page on the sample store: the size of a sweep before it runs,
a sweep started by the button and run by a real job to its leaderboard, a row opened
in Backtest with the same result, and the jobs panel after a dead runner."""

from __future__ import annotations

import json
import math

import pytest
from streamlit.testing.v1 import AppTest

from lab import jobs
from lab.jobs import store
from lab.jobs.runner import run_job
from lab.research.sweep import SweepSpec, load_sweep
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
PAGE = "app_pages/sweep.py"


def open_sweep_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def small_grid(at: AppTest) -> AppTest:
    at.multiselect(key="sw_symbols").set_value(["AAPL"])
    at.text_input(key="sw_g_sma_cross_fast_values").set_value("10, 20, 100")
    at.text_input(key="sw_g_sma_cross_slow_values").set_value("50, 100")
    at.text_input(key="sw_sl_levels").set_value("off, 5")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_number_of_parameter_sets_is_shown_before_anything_runs(lab_env):
    at = small_grid(open_sweep_page())
    before = len(jobs.list_jobs(limit=1000))
    values = metrics(at)
    # fast 100 >= slow: 2 of 6 combinations invalid -> 4 sets x 2 stop levels
    assert values["Parameter sets"] == "8"
    assert values["Dropped as invalid"] == "4"
    assert not at.button(key="sw_start").disabled
    at.text_input(key="sw_lev_levels").set_value("1, x").run()
    assert any("Leverage" in e.value and "'x'" in e.value for e in at.error)
    assert at.button(key="sw_start").disabled
    assert len(jobs.list_jobs(limit=1000)) == before


def test_start_runs_the_sweep_as_a_job_and_shows_its_leaderboard(lab_env):
    at = small_grid(open_sweep_page())
    at.selectbox(key="sw_workers").set_value("auto")       # in the runner process
    at.button(key="sw_start").click().run()
    assert not at.exception, [e.message for e in at.exception]
    job_id = at.session_state["sw_watch"]
    job = jobs.wait(job_id, timeout=90)
    assert job.status == "done", job.error
    at.run()                              # the panel sees it finished and shows the board
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="sw_view").value == job.result["sweep_id"]
    values = metrics(at)
    assert values["Trials"] == "8"
    assert values["DSR of the best"].endswith("%")
    board = next(d.value for d in at.dataframe if "dsr" in d.value.columns)
    assert len(board) >= 1 and board["rank"].tolist() == sorted(board["rank"])
    assert any("deflated Sharpe ratio" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 1                   # the heatmap


@pytest.fixture
def finished_sweep(lab_env):
    spec = SweepSpec(strategies=("sma_cross",), symbols=(("AAPL", "1d"),),
                     grids={"sma_cross": {"fast": (10, 20), "slow": (50, 100)}},
                     sl=(None, 0.05), leverage=(1.0, 2.0))
    job_id = jobs.submit("sweep", {"spec": spec.to_dict(), "workers": 0}, spawn=False)
    job = run_job(job_id)                  # in this process: the page only reads the result
    assert job.status == "done", job.error
    return load_sweep(job.result["sweep_id"])


def test_open_in_backtest_reproduces_the_selected_row(finished_sweep):
    at = open_sweep_page()
    at.selectbox(key="sw_view").set_value(finished_sweep.id).run()
    board = next(d.value for d in at.dataframe if "dsr" in d.value.columns)
    top = finished_sweep.results.sort_values(["sharpe", "profit_factor", "total_return"],
                                             ascending=False).iloc[0]
    assert board.iloc[0]["sharpe"] == pytest.approx(top["sharpe"])
    at.button(key="sw_open").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Backtest"          # st.switch_page, bt_reopen consumed
    assert at.session_state["bt_symbol"] == "AAPL"
    assert at.session_state["bt_name"] == "sma_cross"
    params = json.loads(top["params"])
    assert {p: at.session_state[f"bt_sma_cross_{p}"] for p in params} == params
    assert at.session_state["bt_leverage"] == top["leverage"]
    assert at.session_state["bt_sl"] == (0.0 if math.isnan(top["sl"]) else top["sl"] * 100)
    at.switch_page("app_pages/backtest.py")         # AppTest stays on the page it opened
    at.toggle(key="bt_track").set_value(False)
    at.button(key="bt_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    result = at.session_state["bt_last"]["result"]
    assert result.params == params
    assert result.metrics["sharpe"] == pytest.approx(top["sharpe"], rel=1e-9)


def test_a_dead_runner_shows_as_failed_with_resume(lab_env):
    spec = SweepSpec(strategies=("sma_cross",), symbols=(("AAPL", "1d"),),
                     grids={"sma_cross": {"fast": (10,), "slow": (50,)}})
    job_id = jobs.submit("sweep", {"spec": spec.to_dict()}, spawn=False)
    with store.transaction() as con:
        store.update(con, job_id, status="running", pid=2 ** 22 + 11, pid_start=1.0)
    at = open_sweep_page()
    assert any("died" in c.value for c in at.caption)
    assert at.button(key=f"sw_resume_{job_id}")


def test_record_in_mlflow_stores_the_sweep_and_its_top_rows(finished_sweep):
    at = open_sweep_page()
    at.selectbox(key="sw_view").set_value(finished_sweep.id).run()
    at.button(key="sw_record").click().run()
    assert not at.exception, [e.message for e in at.exception]
    outcome = at.session_state[f"sw_track_{finished_sweep.id}"].result(timeout=120)
    assert outcome.recorded and outcome.error is None, outcome.error
    assert len(outcome.children) == 5 and all(c.recorded for c in outcome.children)
    assert outcome.children[0].experiment.endswith(".equity.trend.sma_cross")


def test_compare_lines_up_two_sweeps(finished_sweep):
    other = SweepSpec(strategies=("sma_cross",), symbols=(("MSFT", "1d"),),
                      grids={"sma_cross": {"fast": (10, 20), "slow": (50, 100)}},
                      sl=(None, 0.05), leverage=(1.0, 2.0))
    job = run_job(jobs.submit("sweep", {"spec": other.to_dict(), "workers": 0}, spawn=False))
    at = open_sweep_page()
    at.multiselect(key="sw_cmp").set_value([finished_sweep.id, job.result["sweep_id"]]).run()
    assert not at.exception, [e.message for e in at.exception]
    frames = [d.value for d in at.dataframe]
    table = next(f for f in frames if f"{finished_sweep.id} · sharpe" in f.columns)
    assert len(table) == 10
    corr = next(f for f in frames if "config_spearman" in f.columns)
    assert 0 < corr.loc[0, "configs"] <= 16 and -1 <= corr.loc[0, "config_spearman"] <= 1


def test_pbo_of_the_top_rows_is_estimated_on_demand(finished_sweep):
    at = open_sweep_page()
    at.selectbox(key="sw_view").set_value(finished_sweep.id).run()
    assert not any(m.label.startswith("PBO") for m in at.metric)
    at.button(key="sw_pbo_btn").click().run()
    assert not at.exception, [e.message for e in at.exception]
    out = at.session_state[f"sw_pbo_{finished_sweep.id}"]
    assert "error" not in out, out
    assert 0.0 <= out["pbo"] <= 1.0 and len(out["set_ids"]) >= 2
    assert any(m.label.startswith("PBO of choosing the best") for m in at.metric)


def test_the_default_date_range_is_that_of_the_chosen_symbol_and_timeframe(lab_env):
    from lab.api import open_catalog

    ds = open_catalog().datasets()
    btc = ds[ds["symbol"] == "BTCUSD_COINBASE"].set_index("timeframe")
    assert btc.loc["1d", "start"] < btc.loc["1h", "start"]      # the case of the bug
    at = open_sweep_page()
    at.multiselect(key="sw_symbols").set_value(["BTCUSD_COINBASE"]).run()
    at.selectbox(key="sw_tf").set_value("1h").run()
    picked = at.date_input(key="sw_range_BTCUSD_COINBASE_1h").value
    assert picked[0] == btc.loc["1h", "start"].date()
    assert picked[1] == btc.loc["1h", "end"].date()
    at.selectbox(key="sw_tf").set_value("1d").run()
    assert at.date_input(key="sw_range_BTCUSD_COINBASE_1d").value[0] == \
        btc.loc["1d", "start"].date()


def test_a_grid_may_go_beyond_the_default_search_range(lab_env):
    at = open_sweep_page()
    at.multiselect(key="sw_symbols").set_value(["AAPL"])
    at.text_input(key="sw_g_sma_cross_fast_values").set_value("10")
    at.text_input(key="sw_g_sma_cross_slow_values").set_value("450, 600")   # range 10-400
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert metrics(at)["Parameter sets"] == "2"
    at.text_input(key="sw_g_sma_cross_slow_values").set_value("0").run()
    assert any("at least 1" in e.value for e in at.error)
