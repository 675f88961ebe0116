"""Live page (not built yet): says what it will do and links to what exists."""

import streamlit as st

st.title("Live")
st.info(
    "Coming later: start paper bots (in-process paper broker, or Interactive Brokers "
    "through ib_async) as their own processes, with a risk manager before every order, "
    "state in SQLite, reconciliation on start, and an emergency stop. Paper is the "
    "default; live orders need an explicit switch and a typed confirmation.")
st.page_link("app_pages/backtest.py", label="Backtest a strategy first", icon=":material/candlestick_chart:")
