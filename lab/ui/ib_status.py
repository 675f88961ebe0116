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


def ib_bot_inputs(key: str, symbol: str) -> dict:
    """Inputs of a bot on IB: where, which contract, paper or live (+ typed account)."""
    base = IBSettings.resolve()
    c = st.columns(4)
    values = {
        "host": c[0].text_input("IB host", base.host, key=f"{key}_ibhost"),
        "port": int(c[1].number_input("IB port", 1, 65535, base.port, key=f"{key}_ibport",
                                      help=", ".join(describe_port(p) for p in sorted(PORTS)))),
        "client_id": int(c[2].number_input("Client id", 0, 2**31 - 1, base.client_id,
                                           key=f"{key}_ibclient")),
        "account_kind": c[3].radio("Account", ["paper", "live"], horizontal=True,
                                   key=f"{key}_ibkind",
                                   help="live = real money: needs LAB_LIVE_TRADING=1 and the "
                                        "account id typed below"),
    }
    c[1].caption(describe_port(values["port"]))
    k = st.columns(4)
    values["symbol"] = k[0].text_input("IB symbol", symbol, key=f"{key}_ibsym")
    values["sec_type"] = k[1].selectbox("Security type", ["STK", "FUT", "CASH"],
                                        key=f"{key}_ibsec")
    values["expiry"] = k[2].text_input("Expiry (futures, YYYYMM)", "", key=f"{key}_ibexp")
    values["exchange"] = k[3].text_input("Exchange (empty = default)", "", key=f"{key}_ibex")
    values["confirm"] = ""
    if values["account_kind"] == "live":
        st.error("A live bot sends orders with real money.", icon=":material/warning:")
        values["confirm"] = st.text_input("Type the live account id to confirm", "",
                                          key=f"{key}_ibconfirm", type="password")
    return values


def ib_bot_broker(values: dict) -> tuple[dict, str, str]:
    """``(broker dict, account kind, symbol)`` of the inputs, checked at the gateway.

    Raises
    ------
    LabError
        No gateway (what to start), live switch off, the typed account is not the
        login's, a paper bot on a live login, a bad contract.
    """
    from lab.core.errors import LabError
    from lab.live.ib.connection import IBConnection
    from lab.live.ib.contracts import ContractSpec
    from lab.live.ib.factory import live_trading_enabled
    from lab.live.ib.settings import IBError

    spec = ContractSpec(values["symbol"], values["sec_type"], values["exchange"], "USD",
                        values["expiry"])
    live = values["account_kind"] == "live"
    if live and not live_trading_enabled():
        raise LabError("live trading is switched off: set LAB_LIVE_TRADING=1 for the app "
                       "to allow orders with real money")
    settings = IBSettings(host=values["host"], port=values["port"],
                          client_id=values["client_id"], timeout_s=5)
    conn = IBConnection(settings, readonly=True, sleep=lambda s: None)
    try:
        conn.ib.connect(settings.host, settings.port, clientId=settings.client_id,
                        timeout=5, readonly=True)
        accounts = conn.ib.managedAccounts()
    except (OSError, TimeoutError, ConnectionError):
        raise LabError(probe(settings).last_error) from None
    except IBError as exc:
        raise LabError(str(exc)) from None
    finally:
        conn.disconnect()
    is_live_login = any(not a.upper().startswith("D") for a in accounts)
    if live and values["confirm"].strip() not in accounts:
        raise LabError("the typed account id is not the account of this IB login; type it "
                       "exactly to confirm live trading")
    if not live and is_live_login:
        raise LabError(f"{settings.where} is logged in to a LIVE account; connect to a paper "
                       "login (IB Gateway 4002, TWS 7497) or choose live and confirm")
    broker = {"kind": "ib", "host": settings.host, "port": settings.port,
              "client_id": settings.client_id, "account": "", "contract": spec.to_dict()}
    if live:
        broker["account"] = broker["confirm"] = values["confirm"].strip()
    return broker, "live" if live else "paper", spec.symbol


IB_TIMEFRAMES = ["1d", "1h", "30m", "15m", "5m", "1m", "4h", "1w"]


def ib_download_form(key: str, dates) -> dict | None:
    """The Data page's IB download form; returns the job payload when submitted.

    ``dates(key, default_start)`` is the page's start / end inputs (ISO start, ISO end or
    None). The gateway is checked on submit, so a missing gateway is said at once and
    no job starts.
    """
    import datetime as dt

    from lab.core.errors import LabError
    from lab.live.ib.contracts import ContractSpec
    from lab.live.ib.vocabulary import ASSET_CLASS

    base = IBSettings.resolve()
    with st.form(f"{key}_ib"):
        c1, c2, c3, c4 = st.columns(4)
        symbol = c1.text_input("Symbol", "SPY", key=f"{key}_ib_sym")
        sec_type = c2.selectbox("Security type", ["STK", "ETF", "FUT", "CONTFUT", "CASH"],
                                key=f"{key}_ib_sec",
                                help="CONTFUT: IB's continuous future (history only)")
        expiry = c3.text_input("Expiry (FUT, YYYYMM)", "", key=f"{key}_ib_exp")
        timeframe = c4.selectbox("Timeframe", IB_TIMEFRAMES, key=f"{key}_ib_tf")
        start, end = dates(f"{key}_ib", dt.date(2015, 1, 1))
        g1, g2, g3, g4 = st.columns(4)
        host = g1.text_input("IB host", base.host, key=f"{key}_ib_host")
        port = int(g2.number_input("IB port", 1, 65535, base.port, key=f"{key}_ib_port",
                                   help=", ".join(describe_port(p) for p in sorted(PORTS))))
        client = int(g3.number_input("Client id", 0, 2**31 - 1, base.client_id + 100,
                                     key=f"{key}_ib_client"))
        rth = g4.checkbox("Regular trading hours only", False, key=f"{key}_ib_rth")
        go = st.form_submit_button("Download", type="primary")
    st.caption("IB's pacing is kept: no identical request within 15 s, at most 6 per "
               "contract in 2 s and 60 in 10 minutes, so long intraday ranges take time. "
               "Windows follow IB's longest duration per bar size (1 D of 1m bars, 1 W of "
               "5m, 1 M of 1h, 1 Y of 1d).")
    if not go:
        return None
    try:
        spec = ContractSpec(symbol, sec_type, "", "USD", expiry)
        status = probe(IBSettings(host=host, port=port, client_id=client, timeout_s=5))
        if not status.connected:
            raise LabError(f"no IB gateway: {status.last_error}")
    except LabError as exc:
        st.error(f"Not started: {exc}")
        return None
    from lab.data.download import DownloadSpec

    name = {"FUT": f"{spec.symbol}_{spec.expiry}", "CONTFUT": f"{spec.symbol}_CONT"}.get(
        spec.sec_type, spec.symbol)
    return {"spec": DownloadSpec("ib", spec.symbol, timeframe, start, end, store_as=name,
                                 asset_class=ASSET_CLASS[spec.sec_type],
                                 options={"contract": spec.to_dict(), "use_rth": rth,
                                          "host": host, "port": port,
                                          "client_id": client}).to_dict()}
