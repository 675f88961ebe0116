"""Optimize page (not built yet): says what it will do and links to what exists."""

import streamlit as st

st.title("Optimize")
st.info(
    "Coming next: Optuna studies (TPE, CMA-ES, NSGA-II for two objectives) over a "
    "strategy's parameters, stops and leverage, with persistent storage so a study "
    "resumes after a stop, every trial tracked in MLflow, and overfitting diagnostics "
    "(probability of backtest overfitting, deflated Sharpe).")
st.page_link("app_pages/backtest.py", label="Tune parameters by hand on the Backtest page",
             icon=":material/candlestick_chart:")
