"""Optimize page: an Optuna study (TPE, CMA-ES, random, grid; NSGA-II for two objectives)
over a strategy's parameters and optionally its stop-loss, take-profit and leverage, run
as a background job that resumes by study name; then its best trials, Optuna's plots,
"Open in Backtest" and overfitting diagnostics (deflated Sharpe, PBO)."""

import streamlit as st

from lab import jobs
from lab.api import data_root
from lab.core.errors import LabError
from lab.core.urls import redact
from lab.research.optimize import default_storage
from lab.ui.optimize_views import jobs_panel, optimize_form, study_view

st.title("Optimize")
root = str(data_root().resolve())
st.caption("Optuna searches a strategy's parameters in a background job that survives "
           f"closing this tab; studies are stored in {redact(default_storage(root))} unless "
           "you give another storage (PostgreSQL for workers on many machines), and a study "
           "started again under the same name continues. A password in a storage URL is "
           "kept in <data>/secrets/urls.json (0600) or read from $LAB_OPTUNA_STORAGE, never "
           "in the job, its log, MLflow or on this page.")

jobs_panel("op")

tab_new, tab_results = st.tabs(["New study", "Results"])
with tab_new:
    payload = optimize_form("op")
    if payload is not None:
        try:
            job_id = jobs.submit("optimize", payload)
        except LabError as exc:
            st.error(f"The study was not started: {exc}")
        else:
            st.session_state["op_watch"] = job_id
            st.toast(f"Study started as job {job_id}")
            st.rerun()
with tab_results:
    study_view(root, "op")
