"""The Interactive Brokers gateway panel of the System page (and the Live page's bots).

Where to connect (host, port with IB's defaults named, client id) defaults to
``LAB_IB_*``; *Check gateway* connects once read-only, shows connected, paper or live,
account (masked), TWS API server version and the last error, and disconnects. The
check runs only on the click, never on a rerun.
"""

from __future__ import annotations

import streamlit as st

from lab.live.ib.connection import GatewayStatus, probe
from lab.live.ib.settings import PORTS, IBSettings, describe_port


def render_status(status: GatewayStatus) -> None:
    """One gateway status: green when connected, the reason otherwise; a live account red."""
    if status.connected:
        line = (f"Connected to {status.where} · account {status.account} · "
                f"TWS API server version {status.server_version}")
        if status.mode == "live":
            st.error("LIVE account: real money. " + line)
        else:
            st.success("Paper account. " + line)
    else:
        st.warning(f"Not connected to {status.where}: {status.last_error}")


def gateway_panel(key: str = "ibgw") -> None:
    """Inputs, the *Check gateway* button and the last check's result."""
    st.subheader("Interactive Brokers gateway")
    base = IBSettings.resolve()
    c1, c2, c3 = st.columns([2, 2, 1])
    host = c1.text_input("Host", base.host, key=f"{key}-host")
    port = c2.number_input("Port", 1, 65535, base.port, key=f"{key}-port",
                           help="IB's default API ports: " + ", ".join(
                               describe_port(p) for p in sorted(PORTS)))
    c2.caption(describe_port(int(port)) if int(port) in PORTS else
               "not one of IB's default ports (Gateway paper 4002 / live 4001, "
               "TWS paper 7497 / live 7496)")
    client = c3.number_input("Client id", 0, 2**31 - 1, 999, key=f"{key}-client",
                             help="any id no other program uses on this gateway")
    if st.button("Check gateway", key=f"{key}-check"):
        with st.spinner(f"Connecting to {host}:{port}..."):
            st.session_state[f"{key}-status"] = probe(
                IBSettings(host=host, port=int(port), client_id=int(client), timeout_s=5))
    status = st.session_state.get(f"{key}-status")
    if status is not None:
        render_status(status)
    else:
        st.caption("Not checked yet. Bots on IB show their own connection on the Live page.")
