"""Router: page config, shared sidebar, explicit page registry."""

import streamlit as st

st.set_page_config(page_title="Trading research lab", page_icon=":material/candlestick_chart:", layout="wide")

PAGES = {
    "Research": [
        st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("app_pages/data.py", title="Data", icon=":material/database:", url_path="data"),
        st.Page("app_pages/backtest.py", title="Backtest", icon=":material/candlestick_chart:", url_path="backtest"),
        st.Page("app_pages/sweep.py", title="Sweep", icon=":material/grid_on:", url_path="sweep"),
        st.Page("app_pages/walk_forward.py", title="Walk-forward", icon=":material/fast_forward:", url_path="walk_forward"),
        st.Page("app_pages/optimize.py", title="Optimize", icon=":material/tune:", url_path="optimize"),
        st.Page("app_pages/runs.py", title="Runs", icon=":material/history:", url_path="runs"),
    ],
    "Operate": [
        st.Page("app_pages/live.py", title="Live", icon=":material/smart_toy:", url_path="live"),
        st.Page("app_pages/system.py", title="System", icon=":material/settings:", url_path="system"),
    ],
}

with st.sidebar:
    st.markdown("**Trading research lab**")
    st.caption("Backtest, sweep and validate systematic strategies on real market data.")

st.navigation(PAGES).run()
