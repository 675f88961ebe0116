"""Walk-forward page: choose parameters on each train window, test them on the next,
as a background job; then the leaderboard across strategies, stitched out-of-sample
equity vs the in-sample optimum, IS-vs-OOS Sharpe, the windows and parameter drift."""

import streamlit as st

from lab import jobs
from lab.api import data_root
from lab.core.errors import LabError
from lab.ui.walk_forward_views import jobs_panel, result_view, walk_forward_form

st.title("Walk-forward")
root = str(data_root().resolve())
st.caption("Rolling or anchored windows: the best parameter set (and stop-loss, take-profit and "
           "leverage levels, when several are given) of each train window is "
           "tested out-of-sample on the next window, and the out-of-sample equity is "
           "stitched. Runs as a background job that survives closing this tab.")

jobs_panel("wf")

tab_new, tab_result = st.tabs(["New walk-forward", "Results"])
with tab_new:
    payload = walk_forward_form("wf")
    if payload is not None:
        try:
            job_id = jobs.submit("walkforward", payload)
        except LabError as exc:
            st.error(f"The walk-forward was not started: {exc}")
        else:
            st.session_state["wf_watch"] = job_id
            st.toast(f"Walk-forward started as job {job_id}")
            st.rerun()
with tab_result:
    result_view(root, "wf")
