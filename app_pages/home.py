"""Home page: what the workstation does and where to start."""

import streamlit as st

from lab.ui.cache import datasets

st.title("Trading research lab")
st.write("Backtest systematic strategies on real market data with leverage, stops and "
         "realistic costs, check them on a second engine, sweep thousands of parameter sets "
         "into leaderboards that account for how many were tried, and keep every run in "
         "MLflow.")
ds = datasets()
c1, c2, c3 = st.columns(3)
c1.metric("Datasets", len(ds))
c2.metric("Symbols", ds["symbol"].nunique() if len(ds) else 0)
c3.metric("Bars stored", f"{int(ds['rows'].sum()):,}" if len(ds) else "0")
st.page_link("app_pages/backtest.py", label="Backtest a strategy", icon=":material/candlestick_chart:")
st.page_link("app_pages/sweep.py", label="Sweep parameter grids", icon=":material/grid_on:")
st.page_link("app_pages/runs.py", label="Compare recorded runs", icon=":material/history:")
st.page_link("app_pages/data.py", label="Browse and upload data", icon=":material/database:")
st.page_link("app_pages/system.py", label="Versions and storage", icon=":material/settings:")
