"""Runs page: backtests recorded in MLflow; filter, compare, inspect, reopen in Backtest."""

import streamlit as st

from lab.tracking import TrackingError, get_run, list_experiments, tracking_uri
from lab.ui.live_views import start_bot_from
from lab.ui.run_details import default_run_index
from lab.ui.runs_views import (child_runs, compare_section, filtered_runs, run_header,
                               run_tabs, runs_table)

st.title("Runs")
uri = tracking_uri()
st.caption(f"Backtests recorded in MLflow · store `{uri}` · "
           "`make mlflow` opens the MLflow UI on http://127.0.0.1:5000")

try:
    experiments = list_experiments(tracking_uri=uri)
except TrackingError as exc:
    st.error(f"The MLflow run store is unreachable, so no runs can be shown. {exc}")
    st.stop()
try:
    runs = filtered_runs(experiments, uri)
except TrackingError as exc:
    st.error(str(exc))
    st.stop()
if runs.empty:
    st.info("No recorded runs match. Runs are recorded by the Backtest page and by "
            "`python -m lab backtest`; clear the filters to see every run.")
    st.stop()

labels = runs_table(runs)
compare_section(labels, uri)

st.subheader("Run details")
run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="runs_detail",
                      index=default_run_index(runs))
try:
    run = get_run(run_id, tracking_uri=uri)
except TrackingError as exc:
    st.error(str(exc))
    st.stop()
run_header(run, run_id, uri)
child_runs(run, run_id, uri)
start_bot_from("runs_bot", run)
run_tabs(run, run_id, uri)
