"""Router: page config, shared sidebar, explicit page registry."""

import streamlit as st

st.set_page_config(page_title="Trading research lab", page_icon="📈", layout="wide")

PAGES = {
    "Research": [
        st.Page("pages/data.py", title="Data", icon="🗄️", url_path="data"),
        st.Page("pages/backtest.py", title="Backtest", icon="📈", url_path="backtest",
                default=True),
        st.Page("pages/sweep.py", title="Sweep", icon="🧮", url_path="sweep"),
        st.Page("pages/walk_forward.py", title="Walk-forward", icon="🚶", url_path="walk_forward"),
        st.Page("pages/optimize.py", title="Optimize", icon="🎯", url_path="optimize"),
    ],
    "Operate": [
        st.Page("pages/live.py", title="Live", icon="🤖", url_path="live"),
        st.Page("pages/system.py", title="System", icon="⚙️", url_path="system"),
    ],
}

with st.sidebar:
    st.markdown("**Trading research lab**")
    st.caption("Backtest, sweep and validate systematic strategies on real market data.")

st.navigation(PAGES).run()
