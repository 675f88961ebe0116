"""Backtest page: pick data, a strategy, execution settings and an engine; run; see
equity, trades, metrics, analytics, the tearsheet, and another engine's verdict."""

import streamlit as st

from lab.api import ENGINES
from lab.core import registry
from lab.core.errors import LabError
from lab.metrics import METRIC_LABELS, format_metric
from lab.ui import backtest_session as session
from lab.ui.backtest_session import SLOW_ENGINES, follows_settings
from lab.ui.backtest_views import (analytics_tab, downloads, engines_tab,
                                   min_notional_warning, tearsheet_tab, tracking_status,
                                   view_picker)
from lab.ui.cache import extreme_moves, load_bars
from lab.ui.live_views import run_id_of, start_bot_popover
from lab.ui.plot_frame import plot_frames
from lab.ui.widgets import (apply_reopen, data_picker, date_caption, execution_inputs,
                            strategy_picker)

st.title("Backtest")
reopened = apply_reopen("bt")
if reopened:
    st.info(f"Settings of run {reopened.get('run_id', '')[:8]} loaded; click Run backtest.")
    st.session_state.pop("bt_last", None)        # show nothing until that click

with st.container(border=True):
    d = data_picker("bt")


@st.fragment
def workbench(d: dict) -> None:
    """Strategy, execution settings, engine and the results. A change of one of its
    settings reruns only this fragment (not the data picker above)."""
    with st.container(border=True):
        name, raw_params = strategy_picker("bt")
        config = None
        try:
            config = execution_inputs(d["asset_class"], "bt", d["symbol"])
        except LabError as exc:
            st.error(f"Execution settings: {exc}")
        e1, e2, e3 = st.columns([1, 1, 1])
        native = registry.get(name).is_native
        engines = ("backtrader",) if native else ENGINES
        if st.session_state.get("bt_engine") not in engines:
            st.session_state.pop("bt_engine", None)
        engine = e1.selectbox("Engine", engines, key="bt_engine",
                              help="vectorized: numba, full semantics; backtrader: "
                                   "event-driven broker; vectorbt: Portfolio.from_signals (no "
                                   "leverage, no minimum order value)")
        others = ["none"] if native else ["none"] + [e for e in ENGINES if e != engine]
        compare = e2.selectbox("Compare with", others, key="bt_compare",
                               help="Run the same backtest on a second engine and list the "
                                    "trades that differ")
        track = e3.toggle("Record in MLflow", value=True, key="bt_track",
                          help="Runs started with the button are recorded; the re-runs that "
                               "follow a changed setting are not (click the button to "
                               "record one)")
        clicked = st.button("Run backtest", type="primary", key="bt_run",
                            disabled=config is None)
    results(d, name, raw_params, config, engine, compare, track, clicked)


def results(d: dict, name: str, raw_params: dict, config, engine: str, compare: str,
            track: bool, clicked: bool) -> None:
    """Run the request when clicked or when it follows the settings; draw the last run.

    Three fixed blocks: the summary, the chart frame, the other views. The chart frame
    keeps its place on the page from the first draw on, whatever the summary shows
    (warnings come and go): before the first run it is there hidden, so its plotly.js
    loads while the settings are chosen, and under the other views it stays hidden, so
    back on Chart the charts show at once."""
    top, charts, below = st.container(), st.container(), st.container()
    with top:
        last = _run(d, name, raw_params, config, engine, compare, track, clicked)
        view = _summary(last, track) if last else None
    with charts:
        figures, zoom = None, None
        if view == "Chart":
            figures = [session.price_figure(last), session.equity_figure(last)]
            zoom = "|".join(str(last["data"][k]) for k in ("symbol", "timeframe", "start",
                                                           "end"))
        plot_frames(figures, key="bt_charts", keep_zoom=zoom)
    if not last:
        st.stop()
    with below:
        _view(view, last)


def _run(d: dict, name: str, raw_params: dict, config, engine: str, compare: str,
         track: bool, clicked: bool) -> dict | None:
    """The entry to show (run now, or kept), or None before the first run."""
    request = {"data": {k: str(v) for k, v in d.items()}, "strategy": name,
               "params": dict(raw_params), "engine": engine, "compare": compare,
               "config": config.to_dict() if config else None}
    last = st.session_state.get("bt_last")
    follow = last is not None and follows_settings(engine, compare)
    if config is not None and (clicked or (follow and last["request"] != request)):
        try:
            entry = session.cached(request) or session.run(request, d, name, raw_params, config)
        except LabError as exc:
            st.error(str(exc))
            st.stop()
        if clicked and track:
            session.record(entry)
        st.session_state["bt_last"] = last = entry

    if not last:
        st.info("Choose data, a strategy, settings and an engine, then **Run backtest**; "
                "after that the results follow every change of a setting.")
    elif last["request"] != request:
        st.caption(":orange[Settings changed since this run: click **Run backtest** to update "
                   f"({engine if engine in SLOW_ENGINES else compare} is too slow to follow "
                   "each change).]" if config is not None else
                   ":orange[Settings are invalid: the results below are of the last valid run.]")
    return last


def _summary(last: dict, track: bool) -> str:
    """Title, data line, recording status, warnings, metric cards and the view picker;
    returns the chosen view."""
    result, d = last["result"], last["data"]
    bars = load_bars(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
    m = result.metrics
    st.subheader(f"{result.strategy} on {result.symbol} {result.timeframe}")
    st.caption(f"{date_caption(bars.index[0], bars.index[-1])} · {len(bars):,} bars · "
               f"data fingerprint `{result.fingerprint}` · engine {result.engine}")

    tracking_status(last["future"], track)
    min_notional_warning(result, bars)

    jumps = extreme_moves(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
    if jumps:
        listed = ", ".join(f"{j['ts']:%Y-%m-%d} {j['move']:+.1%}" for j in jumps[:6])
        st.warning(f"This range holds {len(jumps)} extreme one-bar move(s): {listed}. In "
                   "unadjusted stock data such a move is often a split, not a real return; "
                   "check them in the Data page's quality report.")

    cards = [["total_return", "cagr", "sharpe", "sortino"],
             ["max_drawdown", "trades", "win_rate", "profit_factor"]]
    for row in cards:
        for col, key in zip(st.columns(len(row)), row):
            col.metric(METRIC_LABELS[key][0], format_metric(key, m.get(key)))

    # Only the chosen view is computed and sent. A segmented control rather than st.tabs:
    # a tab panel re-scans its whole subtree for focusable elements after each DOM change
    # (react-aria), tens of ms per chart redraw (benchmarks/page_latency.py).
    return view_picker(["Chart", "Analytics", "Tearsheet", "Metrics", "Trades"]
                       + (["Engines"] if last["other"] is not None or last["other_error"]
                          else []))


def _view(view: str, last: dict) -> None:
    """The chosen view other than Chart, the downloads and Start paper bot."""
    result, d = last["result"], last["data"]
    bars = load_bars(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
    m = result.metrics
    if view == "Analytics":
        analytics_tab(result, bars, d)
    elif view == "Tearsheet":
        tearsheet_tab(result, bars, d)
    elif view == "Metrics":
        rows = [{"metric": label, "value": format_metric(k, m[k])}
                for k, (label, _) in METRIC_LABELS.items() if k in m]
        st.dataframe(rows, hide_index=True, width="stretch")
        st.json(result.summary()["config"], expanded=False)
    elif view == "Trades":
        st.dataframe(result.trades, hide_index=True, width="stretch")
    elif view == "Engines":
        engines_tab(result, last["other"], last["other_error"], last["request"]["compare"])

    downloads(result)

    if result.engine == "vectorized" and result.strategy and not registry.get(result.strategy).is_native:
        start_bot_popover("bt_bot", result.symbol, result.timeframe, result.strategy,
                          result.params, result.config, d["asset_class"],
                          from_run=run_id_of(last["future"]), start=bars.index[0],
                          end=bars.index[-1])


workbench(d)
