"""Walk-forward page (not built yet): says what it will do and links to what exists."""

import streamlit as st

st.title("Walk-forward")
st.info(
    "Coming next: rolling or anchored windows; choose parameters on each in-sample "
    "window, test them on the next out-of-sample window, stitch the out-of-sample "
    "equity, and report out-of-sample Sharpe, consistency, Sharpe decay, walk-forward "
    "efficiency and parameter drift.")
st.page_link("app_pages/backtest.py", label="Backtest a date range now", icon=":material/candlestick_chart:")
