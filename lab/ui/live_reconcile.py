"""Live page: a bot halted by a failed reconciliation (its broker holds a position or
orders its ledger does not know) shows the difference and offers Adopt / Flatten behind
a confirmation; and the fills tab with the broker's commission and price beside the
cost model's.

Both actions go through ``lab.live.control``: a running bot applies them between bars
(a command in its ledger); for a bot whose process is not running they act through its
broker at once, as the Flatten button always has.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lab.core.errors import LabError
from lab.live import control
from lab.live.adopt import RECONCILE_HALT

#: Columns of the fills table, in order (those present are shown).
FILL_COLUMNS = ["time", "reason", "side", "qty", "price", "price_model", "slippage",
                "slippage_cost", "fee", "fee_model", "fee_drift", "client_order_id",
                "fill_id"]


def reconcile_panel(name: str, status: dict) -> None:
    """The difference and the Adopt / Flatten buttons, only while a failed
    reconciliation holds the bot HALTED."""
    done = st.session_state.pop(f"lv_rec_done_{name}", None)
    if done is not None:
        st.success(done)
    reason = status.get("risk_reason") or ""
    if status.get("risk_state") != "HALTED" or not reason.startswith(RECONCILE_HALT):
        return
    difference = reason[len(RECONCILE_HALT):].lstrip(": ").split(" - adopt it")[0]
    st.error(f"**Halted: the ledger does not match the broker.** {difference}",
             icon=":material/sync_problem:")
    with st.popover("Adopt or flatten", icon=":material/rule:"):
        st.markdown("**Adopt**: the bot takes over what the broker holds (the position at "
                    "the broker's average cost, the orders as they are); then it trades "
                    "on.  \n**Flatten**: the position is closed at the broker now with a "
                    "market order (an unknown position is adopted first, so its PnL is "
                    "the bot's).")
        sure = st.checkbox(f"I have checked the difference: act on bot {name}",
                           key=f"lv_rec_ok_{name}")
        c1, c2 = st.columns(2)
        adopt = c1.button("Adopt", key=f"lv_adopt_{name}", disabled=not sure,
                          icon=":material/input:", width="stretch")
        flatten = c2.button("Flatten", key=f"lv_rec_flatten_{name}", disabled=not sure,
                            icon=":material/vertical_align_center:", width="stretch")
    if adopt or flatten:
        try:
            with st.spinner("Adopting..." if adopt else "Flattening..."):
                msg = control.adopt(name) if adopt else control.command(name, "flatten")
        except LabError as exc:
            st.error(str(exc))
            return
        st.session_state[f"lv_rec_done_{name}"] = msg
        st.rerun()


def fills_tab(name: str) -> None:
    """The bot's fills with the model's commission and price, and the totals."""
    doc = control.fill_costs(name)
    frame = pd.DataFrame(doc["fills"])
    if frame.empty:
        st.info("No fills yet.")
        return
    st.dataframe(frame[[c for c in FILL_COLUMNS if c in frame.columns]], hide_index=True,
                 width="stretch", key=f"lv_fills_{name}")
    t = doc["totals"]
    if t["fees_model"] is None:
        st.caption(f"Commissions {t['fees']:,.2f}. No fill has the cost model's numbers to "
                   "compare with (the paper broker is the model itself; an adopted position "
                   "has none).")
        return
    slip = ("n/a (no fill has a model price)" if t["slippage_cost"] is None
            else f"{t['slippage_cost']:+,.2f}")
    st.caption(f"Commissions: broker {t['fees']:,.2f} vs model {t['fees_model']:,.2f}, drift "
               f"{t['fee_drift']:+,.2f}; slippage against the model's prices {slip} "
               f"(account currency, > 0 costs more; {t['fills_with_model']} of {t['fills']} "
               "fills have the model's commission).")
