"""Live page views: the bots table (refreshed by a fragment), a bot's detail with its
controls and the replay check, the start form, and the emergency stop.

Every action goes through ``lab.live.control``: it records a command for the bot
process or spawns its supervisor; nothing trades on the Streamlit thread.
"""

from __future__ import annotations

import time

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lab.core.errors import LabError
from lab.live import control
from lab.live.config import BotConfig, RiskLimits
from lab.ui.charts import candlestick_figure
from lab.ui.live_reconcile import fills_tab, reconcile_panel

#: Seconds between refreshes of the bots table and of a bot's detail.
TABLE_REFRESH_S = 3.0
DETAIL_REFRESH_S = 5.0


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def bots_frame(bots: list[dict]) -> pd.DataFrame:
    """The bots table: one row per bot with the columns the page shows."""
    rows = [{"bot": b["name"], "account": b.get("account", "paper"), "symbol": b["symbol"],
             "strategy": b["strategy"],
             "state": b["state"], "risk": b["risk_state"], "position": b["position"],
             "equity": b["equity"], "PnL today": b["pnl_today"], "PnL total": b["pnl_total"],
             "bars": b["bars_seen"], "heartbeat": _age(b["heartbeat_age_s"]),
             "stale": b["stale"]} for b in bots]
    return pd.DataFrame(rows, columns=["bot", "account", "symbol", "strategy", "state", "risk",
                                       "position", "equity", "PnL today", "PnL total",
                                       "bars", "heartbeat", "stale"])


def _style(frame: pd.DataFrame):
    def row_style(row):
        red = "color: #c62828; font-weight: 600"
        out = [""] * len(row)
        cols = list(row.index)
        if row["stale"]:
            out[cols.index("heartbeat")] = red
        if row["risk"] != "ACTIVE":
            out[cols.index("risk")] = red
        if row["state"] in ("crashed", "failed", "halted"):
            out[cols.index("state")] = red
        if row.get("account") == "live":          # real money: the whole row in red
            out = [red] * len(row)
        return out

    return frame.style.apply(row_style, axis=1).format(
        {"position": "{:.6g}", "equity": "{:,.2f}", "PnL today": "{:+,.2f}",
         "PnL total": "{:+,.2f}"}, na_rep="")


@st.fragment(run_every=TABLE_REFRESH_S)
def bots_table() -> None:
    """All bots, refreshed every ``TABLE_REFRESH_S`` seconds; stale heartbeats in red."""
    bots = control.list_bots()
    if not bots:
        st.info("No bots yet. Start one below, or with **Start paper bot** on a Backtest "
                "result, a run, a sweep row, an Optimize trial or a walk-forward.")
        return
    frame = bots_frame(bots)
    st.dataframe(_style(frame), hide_index=True, width="stretch",
                 column_config={"stale": None}, key="lv_table")
    st.caption(f"Updated {time.strftime('%H:%M:%S', time.gmtime())} UTC · every "
               f"{TABLE_REFRESH_S:g} s")


def emergency_stop() -> None:
    """Red button behind a confirmation: flatten every bot and halt it."""
    with st.popover(":red[**Emergency stop**]", icon=":material/dangerous:"):
        st.markdown("Flattens **every** bot's position through its broker (also bots "
                    "whose process is dead) and leaves them HALTED.")
        sure = st.checkbox("I understand: flatten all and halt", key="lv_es_confirm")
        if st.button("Flatten all and halt", type="primary", disabled=not sure,
                     key="lv_es_go", icon=":material/dangerous:"):
            with st.spinner("Stopping every bot and flattening..."):
                lines = control.emergency_stop()
            st.session_state["lv_es_done"] = lines
    done = st.session_state.pop("lv_es_done", None)
    if done is not None:
        st.error("Emergency stop done: " + ("; ".join(done) or "no bots"))


_ACCOUNT_LIMITS = [("max_position_units", "Max net position, units per symbol", 0.0),
                   ("max_position_notional", "Max gross notional", 0.0),
                   ("max_concentration", "Max concentration, x equity", 0.0),
                   ("max_leverage", "Max leverage, x equity", 0.0),
                   ("max_daily_loss", "Max daily loss, %", 100.0),
                   ("max_drawdown", "Max drawdown, %", 100.0),
                   ("max_orders_per_minute", "Max orders / minute", 1.0)]


def account_risk_panels() -> None:
    """``account_risk`` of the paper account, and of the live account when it exists."""
    from lab.live.ledger import ledger_path

    account_risk("paper")
    if ledger_path("live").exists():
        account_risk("live")


def account_risk(account: str = "paper") -> None:
    """The account's risk state (ACTIVE / REDUCING / HALTED) and numbers, its limits,
    a form to change them and, when HALTED, a Resume button."""
    acc = control.account_status(account)
    lim = acc["limits"]
    on = {k: v for k, v in lim.items() if v is not None}
    color = {"ACTIVE": "green", "REDUCING": "orange", "HALTED": "red"}[acc["state"]]
    label = (f"Account risk ({account}): :{color}[**{acc['state']}**] · "
             + (", ".join(f"{k} {v:g}" for k, v in on.items()) if on else "no account limits"))
    with st.expander(label, expanded=acc["state"] != "ACTIVE"):
        if acc["reason"]:
            st.markdown(f":{color}[{acc['reason']}]")
        m = st.columns(5)
        fmt = (lambda x, f: "–" if x is None else f.format(x))
        m[0].metric("Account equity", fmt(acc["equity"], "{:,.0f}"))
        m[1].metric("Peak", fmt(acc["peak_equity"], "{:,.0f}"))
        m[2].metric("Drawdown", fmt(acc["drawdown"], "{:.2%}"))
        m[3].metric("Loss today", fmt(acc["day_loss"], "{:.2%}"))
        m[4].metric("Gross notional", fmt(acc["gross_notional"], "{:,.0f}"))
        st.caption("Limits on the sum over this account's bots (units: net position per "
                   "symbol). Daily loss -> REDUCING (only orders that shrink) until the next "
                   "UTC day; drawdown below the account's peak -> HALTED (only flattening) "
                   "until resumed. 0 = off; running bots apply them at once.")
        with st.form(f"lv_acct_{account}"):
            cols = st.columns(4)
            values = {}
            for j, (key, text, scale) in enumerate(_ACCOUNT_LIMITS):
                cur = lim.get(key)
                shown = 0.0 if cur is None else (cur * scale if scale == 100.0 else cur)
                values[key] = cols[j % 4].number_input(text, 0.0, 1e12, float(shown),
                                                       key=f"lv_acct_{account}_{key}")
            if st.form_submit_button("Save account limits"):
                given = {}
                for key, _, scale in _ACCOUNT_LIMITS:
                    v = values[key]
                    if v:
                        given[key] = (int(v) if key == "max_orders_per_minute" else
                                      v / 100.0 if scale == 100.0 else v)
                try:
                    control.set_account_limits(RiskLimits(**given), account)
                    st.toast("Account limits saved")
                    st.rerun()
                except LabError as exc:
                    st.error(str(exc))
        if acc["state"] == "HALTED" and st.button("Resume account", key=f"lv_acct_resume_"
                                                  f"{account}", icon=":material/play_arrow:"):
            control.resume_account(account)
            st.rerun()


def _equity_figure(check) -> go.Figure:
    fig = go.Figure()
    eq = check.equity
    fig.add_trace(go.Scatter(x=eq.index, y=eq["backtest"], name="backtest of the same bars",
                             line=dict(color="#90a4ae", width=3)))
    fig.add_trace(go.Scatter(x=eq.index, y=eq["bot"], name="bot",
                             line=dict(color="#1565c0", width=1.5)))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10),
                      title="Equity: bot vs backtest", legend=dict(orientation="h", y=-0.15))
    return fig


def _actions(name: str, status: dict) -> None:
    cols = st.columns(5)
    acts = [("Pause", "pause", ":material/pause:"), ("Resume", "resume", ":material/play_arrow:"),
            ("Flatten", "flatten", ":material/vertical_align_center:"),
            ("Stop", "stop", ":material/stop:")]
    for col, (label, what, icon) in zip(cols, acts):
        if col.button(label, key=f"lv_{what}_{name}", icon=icon, width="stretch"):
            try:
                st.toast(control.command(name, what))
            except LabError as exc:
                st.error(str(exc))
    alive = status["pid"] is not None or status["state"] in ("starting",)
    if cols[4].button("Start again", key=f"lv_restart_{name}", disabled=alive,
                      icon=":material/restart_alt:", width="stretch"):
        try:
            control.start(name)
            st.toast(f"bot {name} started")
        except LabError as exc:
            st.error(str(exc))


def bot_detail(name: str) -> None:
    """One bot: its controls (static, so they stay clickable), then status, candles with
    fills, equity vs its replay check, orders, fills, events and the log tail, refreshed
    every ``DETAIL_REFRESH_S`` seconds."""
    try:
        s = control.status(name)
    except LabError as exc:
        st.warning(str(exc))
        return
    _actions(name, s)
    reconcile_panel(name, s)
    _detail_body(name)
    with st.container(border=True):
        st.markdown("**Replay check** · the backtest of the bars this bot has seen, with its "
                    "frozen config (computed when the page loads; press R to recompute)")
        _replay_check(name)


@st.fragment(run_every=DETAIL_REFRESH_S)
def _detail_body(name: str) -> None:
    try:
        s = control.status(name)
    except LabError as exc:
        st.warning(str(exc))
        return
    stale = " · :red[heartbeat stale]" if s["stale"] else ""
    if s.get("account") == "live":
        st.error("LIVE account: this bot trades real money.", icon=":material/warning:")
    _ib_status(name)
    st.markdown(f"**{name}** · {s['strategy']} {s['params']} on {s['symbol']} "
                f"{s['timeframe']} ({s['feed']}) · state **{s['state']}** · risk "
                f"**{s['risk_state']}**{stale}")
    if s["risk_reason"]:
        st.caption(f"Risk: {s['risk_reason']}")
    if s["last_error"]:
        st.caption(f"Last error: {s['last_error']}")
    m = st.columns(6)
    m[0].metric("Bars seen", f"{s['bars_seen']:,}")
    m[1].metric("Position", f"{s['position']:.6g}")
    m[2].metric("Equity", f"{s['equity']:,.0f}")
    m[3].metric("PnL total", f"{s['pnl_total']:+,.0f}")
    m[4].metric("Unrealized", f"{s['unrealized_pnl']:+,.0f}")
    m[5].metric("Heartbeat", _age(s["heartbeat_age_s"]))
    eq = control.equity(name)
    trades = control.trades(name)
    tabs = st.tabs(["Chart", "Orders", "Fills", "Events", "Log"])
    with tabs[0]:
        if len(eq):
            st.plotly_chart(fills_figure(eq, trades, control.fills(name)), width="stretch",
                            key=f"lv_candles_{name}")
        else:
            st.info("No bars yet.")
    with tabs[1]:
        st.dataframe(pd.DataFrame(control.orders(name)), hide_index=True, width="stretch")
    with tabs[2]:
        fills_tab(name)
    with tabs[3]:
        ev = pd.DataFrame(control.events(name, last=200))
        if len(ev):
            ev["ts"] = pd.to_datetime(ev["ts"], unit="s", utc=True)
            st.dataframe(ev[["ts", "kind", "message"]].iloc[::-1], hide_index=True,
                         width="stretch")
    with tabs[4]:
        st.code(control.logs(name, lines=40) or "(empty)", language=None)


def fills_figure(bars: pd.DataFrame, trades: pd.DataFrame, fills: list[dict]) -> go.Figure:
    """Candles of the bars a bot has seen, its closed trades, and every fill (also the
    entry of the position it holds) as a marker at its price."""
    fig = candlestick_figure(bars, trades, height=420)
    if fills:
        f = pd.DataFrame(fills)
        f["time"] = pd.to_datetime(f["time"], utc=True)
        for side, label, symbol, color in ((1, "buy fill", "triangle-up", "#2e7d32"),
                                           (-1, "sell fill", "triangle-down", "#c62828")):
            part = f[f["side"] == side]
            if len(part):
                fig.add_trace(go.Scatter(
                    x=part["time"], y=part["price"], mode="markers", name=label,
                    marker=dict(symbol=symbol, size=7, color=color, opacity=0.7),
                    customdata=part[["qty", "fee", "reason"]].to_numpy(),
                    hovertemplate="%{x}<br>%{y:.4f} x %{customdata[0]:.6g}<br>fee "
                                  "%{customdata[1]:.4f} (%{customdata[2]})<extra></extra>"))
    return fig


def _ib_status(name: str) -> None:
    """The IB connection of a bot on IB, as its broker last recorded it."""
    from lab.live.ib.connection import GatewayStatus
    from lab.live.ib.journal import gateway_status
    from lab.live.ledger import data_root
    from lab.ui.ib_status import render_status

    cfg = control.config(name)
    if cfg.broker.get("kind") != "ib":
        return
    status = gateway_status(data_root(), name)
    if status is None:
        st.caption("IB gateway: no status recorded yet (the bot has not connected).")
        return
    age = status.pop("age_s")
    render_status(GatewayStatus(**status))
    st.caption(f"IB status recorded {_age(age)} ago")


def _replay_check(name: str) -> None:
    from lab.jobs.bot_check import replay_check

    try:
        check = replay_check(name)
    except LabError as exc:
        st.warning(f"Replay check unavailable: {exc}")
        return
    if check.equity is None:
        st.info(check.differences[0] if check.differences else "Nothing to compare yet.")
        return
    if check.match:
        st.success(f"Replay check: the backtest of the {check.bars:,} bars this bot has seen "
                   f"gives the same {check.bot_trades} trades, fills and equity.")
    else:
        st.error("Replay check: DIFFERENT from the backtest of the same bars: "
                 + "; ".join(check.differences[:5]))
        kinds = {e["kind"] for e in control.events(name, last=1000)}
        why = [text for kind, text in (("pause", "was paused"), ("flatten", "was flattened"),
                                       ("risk_refusal", "had orders refused by its risk "
                                                        "limits"),
                                       ("emergency_stop", "was stopped by an emergency stop"))
               if kind in kinds]
        if why:
            st.caption("Expected: this bot " + ", ".join(why) + ", so it did not trade "
                       "like the backtest.")
    st.plotly_chart(_equity_figure(check), width="stretch", key=f"lv_check_{name}")


def start_form(key: str = "lv") -> None:
    """Form to start a paper bot on stored data."""
    from lab.ui.widgets import data_picker, execution_inputs, strategy_picker

    d = data_picker(f"{key}_data")
    strategy, params = strategy_picker(f"{key}_strat")
    try:
        execution = execution_inputs(d["asset_class"], f"{key}_exec")
    except LabError as exc:
        st.error(f"Execution settings: {exc}")
        return
    bot_options(key, d["symbol"], d["timeframe"], strategy, params, execution,
                d["asset_class"], start=d["start"], end=d["end"])


def bot_options(key: str, symbol: str, timeframe: str, strategy: str, params: dict,
                execution, asset_class: str, *, from_run: str | None = None, start=None,
                end=None) -> None:
    """Name, feed and risk limits of a new paper bot, and its Start button."""
    c1, c2, c3, c4 = st.columns(4)
    default = f"{strategy}-{symbol}".replace("/", "")[:40] + f"-{int(time.time()) % 100000}"
    name = c1.text_input("Bot name", value=default, key=f"{key}_name")
    feed_kind = c2.radio("Feed", ["replay", "ccxt", "ib"], horizontal=True, key=f"{key}_feed",
                         help="replay: the stored bars at a chosen speed; ccxt: the "
                              "exchange's public candles, polled (closed bars only); ib: "
                              "Interactive Brokers (orders at IB Gateway / TWS, 5-second "
                              "bars folded into the bot's timeframe)")
    ib_values = None
    if feed_kind == "ib":
        from lab.ui.ib_status import ib_bot_inputs

        ib_values = ib_bot_inputs(key, symbol)
    speed = c3.number_input("Replay speed, bars/s (0 = fastest)", 0.0, 10_000.0, 20.0,
                            key=f"{key}_speed")
    warmup = c4.number_input("Warm-up bars", 0, 100_000, 0, key=f"{key}_warmup",
                             help="Bars of history before the first traded bar: the "
                                  "strategy sees them, no order is placed on them")
    with st.expander("Risk limits (off by default for paper bots)"):
        r1, r2, r3, r4 = st.columns(4)
        dl = r1.number_input("Max daily loss, %", 0.0, 99.0, 0.0, key=f"{key}_dl")
        dd = r2.number_input("Max drawdown, %", 0.0, 99.0, 0.0, key=f"{key}_dd")
        conc = r3.number_input("Max concentration, x equity", 0.0, 100.0, 0.0,
                               key=f"{key}_conc")
        opm = r4.number_input("Max orders / minute", 0, 10_000, 0, key=f"{key}_opm")
        eod = st.text_input("Flatten daily at (UTC HH:MM, empty = off)", "",
                            key=f"{key}_eod")
    if st.button("Start bot", type="primary", key=f"{key}_start",
                 icon=":material/smart_toy:"):
        try:
            risk = RiskLimits(max_daily_loss=dl / 100 or None, max_drawdown=dd / 100 or None,
                              max_concentration=conc or None,
                              max_orders_per_minute=int(opm) or None,
                              flatten_at_utc=eod.strip() or None)
            broker, account = {"kind": "paper"}, "paper"
            if feed_kind == "ib":
                from lab.ui.ib_status import ib_bot_broker

                broker, account, symbol = ib_bot_broker(ib_values)
                feed = {"kind": "ib", "warmup": 0}
            elif feed_kind == "replay":
                feed = {"kind": "replay", "speed": float(speed),
                        "start": pd.Timestamp(start).isoformat() if start is not None else None,
                        "end": pd.Timestamp(end).isoformat() if end is not None else None,
                        "warmup": int(warmup)}
            else:
                feed = {"kind": "ccxt", "exchange": "binance", "market": "BTC/USDT",
                        "poll_s": 10.0, "warmup": int(warmup) or 500}
            cfg = BotConfig(name=name.strip(), symbol=symbol, timeframe=timeframe,
                            strategy=strategy, params=dict(params), execution=execution,
                            asset_class=asset_class, feed=feed, risk=risk,
                            from_run=from_run, broker=broker, account=account)
            control.create(cfg)
            control.start(cfg.name)
        except LabError as exc:
            st.error(str(exc))
            return
        st.session_state["lv_selected"] = cfg.name
        st.success(f"Bot **{cfg.name}** started.")
        st.page_link("app_pages/live.py", label="Watch it on the Live page",
                     icon=":material/smart_toy:")


def start_bot_popover(key: str, symbol: str, timeframe: str, strategy: str, params: dict,
                      execution, asset_class: str, *, from_run: str | None = None,
                      start=None, end=None) -> None:
    """"Start paper bot" on a research result, carrying its exact configuration. Its
    form is drawn only while it is open (a page that redraws on every slider change
    does not rebuild it each time)."""
    pop = st.popover("Start paper bot", icon=":material/smart_toy:", key=f"{key}_pop",
                     on_change="rerun")
    if not pop.open:
        return
    with pop:
        st.caption(f"{strategy} {dict(params)} on {symbol} {timeframe}, with this run's "
                   "exact execution settings" + (f" (run {from_run[:8]})" if from_run else ""))
        bot_options(key, symbol, timeframe, strategy, params, execution, asset_class,
                    from_run=from_run, start=start, end=end)


def run_id_of(future) -> str | None:
    """The MLflow run id of a finished tracking future (None while running / failed)."""
    if future is None or not future.done():
        return None
    try:
        outcome = future.result()
    except Exception:  # noqa: BLE001 - a failed recording just has no run to link
        return None
    return outcome.run_id if outcome.recorded else None


def start_bot_from(key: str, reopen: dict) -> None:
    """"Start paper bot" for a research result given as Backtest-page settings
    (``bt_reopen``: strategy, params, config, symbol, timeframe, start, end, run_id)."""
    import json

    from lab.core.config import ExecutionConfig
    from lab.ui.cache import catalog

    try:
        params = reopen["params"]
        params = json.loads(params) if isinstance(params, str) else dict(params or {})
        config = ExecutionConfig.from_dict(reopen["config"])
        asset_class = reopen.get("asset_class") or catalog().asset_class(reopen["symbol"])
    except (LabError, KeyError, TypeError, ValueError) as exc:
        st.caption(f"Cannot start a paper bot from this result: {exc}")
        return
    start_bot_popover(key, reopen["symbol"], reopen["timeframe"], reopen["strategy"], params,
                      config, asset_class, from_run=reopen.get("run_id"),
                      start=reopen.get("start"), end=reopen.get("end"))
