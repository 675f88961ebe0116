"""Live page: paper bots as their own processes; table, detail, controls, start form,
emergency stop. The views are in lab.ui.live_views."""

import streamlit as st

from lab.live import control
from lab.ui.live_views import (account_risk_panels, bot_detail, bots_table, emergency_stop,
                                 start_form)

st.title("Live")
top = st.columns([4, 1])
top[0].caption("Paper bots replay stored bars or poll an exchange, each in its own "
               "process: closing this tab or the server changes nothing.")
with top[1]:
    emergency_stop()

bots_table()
account_risk_panels()

names = [b["name"] for b in control.list_bots()]
if names:
    pick = st.session_state.get("lv_selected")
    name = st.selectbox("Bot", names, index=names.index(pick) if pick in names else 0,
                        key="lv_bot")
    with st.container(border=True):
        bot_detail(name)

with st.expander("Start a paper bot", expanded=not names):
    start_form("lv")
