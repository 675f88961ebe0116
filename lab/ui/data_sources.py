"""Data page: download forms per source (ccxt, Yahoo, Databento), refresh, and the
download jobs panel. Each download runs as a background job (``lab.jobs`` kind
``"download"``): progress in windows, Cancel, Resume; the catalog grows as windows land.
"""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import streamlit as st

from lab import jobs
from lab.core.errors import LabError
from lab.ui.cache import catalog, datasets
from lab.ui.jobs_panel import JobWording, jobs_panel

CCXT_TIMEFRAMES = ["1m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d", "1w"]
YAHOO_TIMEFRAMES = ["1d", "1w", "1h", "30m", "15m", "5m", "1m"]
DATABENTO_SCHEMAS = {"ohlcv-1m": "1m", "ohlcv-1h": "1h", "ohlcv-1d": "1d", "ohlcv-1s": "1s"}
ASSET_CLASSES = ["auto", "equity", "index", "fx", "crypto", "future"]


def _done_text(job: jobs.Job) -> str:
    r = job.result or {}
    results = r.get("results") or ([r] if r.get("symbol") else [])
    parts = [f"{x['symbol']} {x['timeframe']}: +{x['fetched']:,} bars, {x['rows']:,} stored "
             f"up to {str(x['last'])[:16]}" for x in results]
    return "; ".join(parts) or "done"


WORDING = JobWording(
    kind="download", title="Downloads", unit="windows", result_key="symbol",
    header=lambda job: f"{job.done:,}/{job.total:,} windows",
    done_text=_done_text,
    stopped_text=lambda job: "The windows fetched so far are stored; Resume fetches only "
                             "what is missing.",
    view_only_when_done=True)


def _dates(key: str, default_start: dt.date) -> tuple[str, str | None]:
    c1, c2, c3 = st.columns([2, 2, 1])
    start = c1.date_input("Start (UTC)", value=default_start, key=f"{key}_start")
    to_now = c3.checkbox("Up to now", value=True, key=f"{key}_now",
                         help="up to the last closed bar (the End date is then ignored)")
    end = c2.date_input("End, inclusive (UTC)", value=dt.date.today(), key=f"{key}_end",
                        help="used when 'Up to now' is not ticked")
    end_iso = None if to_now else (pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)).isoformat()
    return pd.Timestamp(start, tz="UTC").isoformat(), end_iso


def _submit(payload: dict, what: str, key: str) -> None:
    try:
        job_id = jobs.submit("download", payload)
    except LabError as exc:
        st.error(f"Not started: {exc}")
        return
    st.session_state[f"{key}_watch"] = job_id
    st.toast(f"{what}: job {job_id}")
    st.rerun()


def _spec(source: str, symbol: str, timeframe: str, start: str, end: str | None,
          store_as: str, asset_class: str, options: dict) -> dict:
    from lab.data.download import DownloadSpec

    return DownloadSpec(source, symbol.strip(), timeframe, start, end,
                        store_as=store_as.strip(),
                        asset_class="" if asset_class == "auto" else asset_class,
                        options=options).to_dict()


def ccxt_form(key: str) -> None:
    with st.form(f"{key}_ccxt"):
        c1, c2, c3 = st.columns(3)
        exchange = c1.text_input("Exchange (ccxt id)", "binance", key=f"{key}_cx_ex")
        symbol = c2.text_input("Symbol", "BTC/USDT", key=f"{key}_cx_sym")
        timeframe = c3.selectbox("Timeframe", CCXT_TIMEFRAMES, index=4, key=f"{key}_cx_tf")
        start, end = _dates(f"{key}_cx", dt.date(2021, 1, 1))
        store_as = st.text_input("Store as (default BTCUSDT_BINANCE style)", "",
                                 key=f"{key}_cx_as")
        go = st.form_submit_button("Download", type="primary")
    st.caption("Public OHLCV, no key; requests stay within the exchange's limit per call "
               "and ccxt's rate limit.")
    if go:
        _submit({"spec": _spec("ccxt", symbol, timeframe, start, end, store_as, "crypto",
                               {"exchange": exchange.strip().lower()})},
                f"Downloading {symbol}", key)


def yahoo_form(key: str) -> None:
    with st.form(f"{key}_yf"):
        c1, c2, c3 = st.columns(3)
        symbol = c1.text_input("Symbol (stock, ETF, ^index)", "SPY", key=f"{key}_yf_sym")
        timeframe = c2.selectbox("Timeframe", YAHOO_TIMEFRAMES, key=f"{key}_yf_tf",
                                 help="Yahoo: 1m for the last 30 days, 5m-30m 60 days, "
                                      "1h 730 days; 1d and 1w without limit")
        adjust = c3.selectbox("Prices", ["all", "splits", "raw"], key=f"{key}_yf_adj",
                              format_func={"all": "adjusted (splits + dividends)",
                                           "splits": "split-adjusted",
                                           "raw": "raw (as traded)"}.get)
        start, end = _dates(f"{key}_yf", dt.date(2010, 1, 1))
        c4, c5 = st.columns(2)
        store_as = c4.text_input("Store as (default: the symbol)", "", key=f"{key}_yf_as")
        asset_class = c5.selectbox("Asset class", ASSET_CLASSES, key=f"{key}_yf_ac")
        go = st.form_submit_button("Download", type="primary")
    st.caption("Splits and dividends are kept with the dataset; the quality report names "
               "the split or dividend behind a jump.")
    if go:
        _submit({"spec": _spec("yfinance", symbol, timeframe, start, end, store_as,
                               asset_class, {"adjust": adjust})},
                f"Downloading {symbol}", key)


def _databento_key() -> bool:
    if os.environ.get("DATABENTO_API_KEY"):
        return True
    try:
        key = st.secrets.get("DATABENTO_API_KEY")
    except Exception:           # no secrets.toml
        key = None
    if key:
        os.environ["DATABENTO_API_KEY"] = str(key)   # inherited by the job's process
    return bool(key)


def databento_form(key: str) -> None:
    from lab.data.download import DownloadSpec, plan_download

    has_key = _databento_key()
    if not has_key:
        st.info("Set DATABENTO_API_KEY in the environment or .streamlit/secrets.toml to "
                "download from Databento.")
    with st.form(f"{key}_db"):
        c1, c2, c3 = st.columns(3)
        dataset = c1.text_input("Dataset", "GLBX.MDP3", key=f"{key}_db_ds")
        symbol = c2.text_input("Symbol (MCL.c.0 continuous, MCLG6 raw)", "MCL.c.0",
                               key=f"{key}_db_sym")
        schema = c3.selectbox("Schema", list(DATABENTO_SCHEMAS), key=f"{key}_db_schema")
        start, end = _dates(f"{key}_db", dt.date.today() - dt.timedelta(days=30))
        c4, c5 = st.columns(2)
        store_as = c4.text_input("Store as (default: the symbol)", "", key=f"{key}_db_as")
        asset_class = c5.selectbox("Asset class", ASSET_CLASSES, key=f"{key}_db_ac")
        priced = st.form_submit_button("Get the cost", disabled=not has_key)
    spec = _spec("databento", symbol, DATABENTO_SCHEMAS[schema], start, end, store_as,
                 asset_class, {"dataset": dataset.strip().upper()})
    if priced:
        try:
            plan = plan_download(catalog(), DownloadSpec.from_dict(spec))
        except LabError as exc:
            st.error(str(exc))
            st.session_state.pop(f"{key}_db_plan", None)
        else:
            st.session_state[f"{key}_db_plan"] = {"spec": spec, "cost": plan.cost,
                                                  "summary": plan.summary()}
    plan = st.session_state.get(f"{key}_db_plan")
    if plan and plan["spec"] == spec:
        st.write(plan["summary"])
        if plan["cost"] is not None and st.button(
                f"Accept ${plan['cost']:,.2f} and download", type="primary",
                key=f"{key}_db_go"):
            st.session_state.pop(f"{key}_db_plan", None)
            _submit({"spec": spec, "max_cost": plan["cost"]}, f"Downloading {symbol}", key)
    st.caption("Databento charges per request: the cost (metadata.get_cost) is shown and "
               "must be accepted first. ts_event (bar open, UTC) is the timestamp.")


def refresh_form(key: str) -> None:
    ds = datasets()
    rows = []
    for r in ds.itertuples():
        meta = catalog().info(r.symbol, r.timeframe)
        if meta.get("download"):
            rows.append((r.symbol, r.timeframe, meta["download"]["source"], str(r.end)[:16]))
    if not rows:
        st.caption("No downloaded dataset yet: downloads can be refreshed, uploads cannot.")
        return
    labels = [f"{s} {tf} · {src} · last bar {last}" for s, tf, src, last in rows]
    pick = st.selectbox("Downloaded dataset", range(len(rows)), format_func=labels.__getitem__,
                        key=f"{key}_rf_pick")
    symbol, timeframe, source, _ = rows[pick]
    max_cost = None
    if source == "databento":
        max_cost = st.number_input("Accept a Databento cost up to (US$)", 0.0, 10_000.0, 0.0,
                                   key=f"{key}_rf_cost")
    if st.button("Refresh: append the bars since the last one", key=f"{key}_rf_go"):
        payload = {"refresh": {"symbol": symbol, "timeframe": timeframe}}
        if max_cost is not None:
            payload["max_cost"] = max_cost
        _submit(payload, f"Refreshing {symbol}", key)


def download_section(key: str = "dl") -> None:
    """Forms per source, refresh, and the downloads panel."""
    jobs_panel(WORDING, key)
    tabs = st.tabs(["Crypto (ccxt)", "Stocks, ETFs, indices (Yahoo)", "Futures (Databento)",
                    "Interactive Brokers", "Refresh"])
    with tabs[0]:
        ccxt_form(key)
    with tabs[1]:
        yahoo_form(key)
    with tabs[2]:
        databento_form(key)
    with tabs[3]:
        from lab.ui.ib_status import ib_download_form

        payload = ib_download_form(key, _dates)
        if payload is not None:
            _submit(payload, f"Downloading {payload['spec']['symbol']} from IB", key)
    with tabs[4]:
        refresh_form(key)


def catalog_table() -> None:
    """The catalog, refreshed every 2 s while a download job is active."""
    active = any(j.active for j in jobs.list_jobs("download", limit=10))

    @st.fragment(run_every=2.0 if active else None)
    def table() -> None:
        ds = datasets()
        st.dataframe(ds, hide_index=True, width="stretch",
                     column_config={
                         "start": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                         "end": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                         "rows": st.column_config.NumberColumn(format="%d")})

    table()

