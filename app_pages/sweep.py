"""Sweep page: set up a sweep (size shown before it runs), start it as a background job,
watch or cancel it, then read the leaderboard with the number of trials, the deflated
Sharpe ratio and parameter stability, map any metric over two parameters, open a row in
Backtest, record the sweep in MLflow, and compare sweeps."""

import streamlit as st

from lab import jobs
from lab.api import data_root
from lab.core.errors import LabError
from lab.ui.sweep_form import jobs_panel, sweep_form
from lab.ui.sweep_views import compare_view, jobs_root_note, leaderboard_view

st.title("Sweep")
root = str(data_root().resolve())
st.caption("Every strategy over its parameter grid, stop-loss / take-profit levels, "
           "leverage and several symbols at once, in a background job that survives "
           "closing this tab. " + jobs_root_note(root))

jobs_panel("sw")

tab_new, tab_board, tab_compare = st.tabs(["New sweep", "Leaderboard", "Compare"])
with tab_new:
    request = sweep_form("sw")
    if request is not None:
        try:
            job_id = jobs.submit("sweep", {"spec": request["spec"].to_dict(),
                                           "workers": request["workers"]})
        except LabError as exc:
            st.error(f"The sweep was not started: {exc}")
        else:
            st.session_state["sw_watch"] = job_id
            st.toast(f"Sweep started as job {job_id}")
            st.rerun()
with tab_board:
    leaderboard_view(root, "sw")
with tab_compare:
    compare_view(root, "sw")
