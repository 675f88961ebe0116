"""Sweep page (not built yet): says what it will do and links to what exists."""

import streamlit as st

st.title("Sweep")
st.info(
    "Coming next: run every strategy over its parameter grid, stop-loss / take-profit "
    "levels, leverage and several symbols at once (thousands of parameter sets in "
    "seconds, on this machine or a Dask cluster), then rank them on a leaderboard that "
    "shows the number of trials, the deflated Sharpe ratio and parameter stability.")
st.page_link("app_pages/backtest.py", label="Backtest one parameter set now", icon=":material/candlestick_chart:")
