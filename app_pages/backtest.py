"""Backtest page: pick data, a strategy, execution settings and an engine; run; see
equity, trades, metrics, analytics, the tearsheet, and another engine's verdict."""

import streamlit as st

from lab.api import ENGINES, record_backtest, run_backtest
from lab.core import registry
from lab.core.errors import LabError
from lab.metrics import METRIC_LABELS, format_metric
from lab.ui.backtest_views import analytics_tab, engines_tab, tearsheet_tab, tracking_status
from lab.ui.cache import background, extreme_moves, load_bars
from lab.ui.charts import candlestick_figure, equity_drawdown_figure
from lab.ui.live_views import run_id_of, start_bot_popover
from lab.ui.widgets import (apply_reopen, data_picker, date_caption, execution_inputs,
                            strategy_picker)

st.title("Backtest")
reopened = apply_reopen("bt")
if reopened:
    st.info(f"Settings of run {reopened.get('run_id', '')[:8]} loaded; click Run backtest.")

with st.container(border=True):
    d = data_picker("bt")
    name, raw_params = strategy_picker("bt")
    config = None
    try:
        config = execution_inputs(d["asset_class"], "bt")
    except LabError as exc:
        st.error(f"Execution settings: {exc}")
    e1, e2, e3 = st.columns([1, 1, 1])
    native = registry.get(name).is_native
    engines = ("backtrader",) if native else ENGINES
    if st.session_state.get("bt_engine") not in engines:
        st.session_state.pop("bt_engine", None)
    engine = e1.selectbox("Engine", engines, key="bt_engine",
                          help="vectorized: numba, full semantics; backtrader: event-driven "
                               "broker; vectorbt: Portfolio.from_signals (no leverage, no "
                               "minimum order value)")
    others = ["none"] if native else ["none"] + [e for e in ENGINES if e != engine]
    compare = e2.selectbox("Compare with", others, key="bt_compare",
                           help="Run the same backtest on a second engine and list the "
                                "trades that differ")
    track = e3.toggle("Record in MLflow", value=True, key="bt_track")
    clicked = st.button("Run backtest", type="primary", key="bt_run", disabled=config is None)

request = {"data": {k: str(v) for k, v in d.items()}, "strategy": name,
           "params": dict(raw_params), "engine": engine, "compare": compare,
           "config": config.to_dict() if config else None}

if clicked and config is not None:
    bars = load_bars(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
    kw = dict(asset_class=d["asset_class"], timeframe=d["timeframe"], symbol=d["symbol"])
    try:
        with st.spinner(f"Running on {engine}..."):
            result = run_backtest(bars, name, raw_params, config, engine=engine, **kw)
    except LabError as exc:
        st.session_state.pop("bt_last", None)
        st.error(str(exc))
        st.stop()
    other, other_error = None, None
    if compare != "none":
        try:
            with st.spinner(f"Running on {compare}..."):
                other = run_backtest(bars, name, raw_params, config, engine=compare, **kw)
        except LabError as exc:
            other_error = str(exc)
    future = None
    if track:
        figures = {"price_trades": candlestick_figure(bars, result.trades),
                   "equity_drawdown": equity_drawdown_figure(result.equity, result.drawdown)}
        future = background().submit(record_backtest, result, asset_class=d["asset_class"],
                                     bars=bars, source="app", figures=figures)
    st.session_state["bt_last"] = {"request": request, "result": result, "other": other,
                                   "other_error": other_error, "future": future, "data": d}

last = st.session_state.get("bt_last")
if not last:
    st.info("Choose data, a strategy, settings and an engine, then **Run backtest**.")
    st.stop()
if last["request"] != request:
    st.caption(":orange[Settings changed since this run: click **Run backtest** to update.]")

result, d = last["result"], last["data"]
bars = load_bars(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
m = result.metrics
st.subheader(f"{result.strategy} on {result.symbol} {result.timeframe}")
st.caption(f"{date_caption(bars.index[0], bars.index[-1])} · {len(bars):,} bars · "
           f"data fingerprint `{result.fingerprint}` · engine {result.engine}")


tracking_status(last["future"])

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

names = ["Chart", "Analytics", "Tearsheet", "Metrics", "Trades"]
if last["other"] is not None or last["other_error"]:
    names.append("Engines")
tabs = dict(zip(names, st.tabs(names)))
with tabs["Chart"]:
    st.plotly_chart(candlestick_figure(bars, result.trades), width="stretch", key="bt_price")
    bench = bars["close"] / bars["close"].iloc[0] * result.config.cash
    st.plotly_chart(equity_drawdown_figure(result.equity, result.drawdown, bench),
                    width="stretch", key="bt_equity")
with tabs["Analytics"]:
    analytics_tab(result, bars, d)
with tabs["Tearsheet"]:
    tearsheet_tab(result, bars, d)
with tabs["Metrics"]:
    rows = [{"metric": label, "value": format_metric(k, m[k])}
            for k, (label, _) in METRIC_LABELS.items() if k in m]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.json(result.summary()["config"], expanded=False)
with tabs["Trades"]:
    st.dataframe(result.trades, hide_index=True, width="stretch")
if "Engines" in tabs:
    with tabs["Engines"]:
        engines_tab(result, last["other"], last["other_error"], last["request"]["compare"])

c1, c2 = st.columns(2)
stem = f"{result.strategy}_{result.symbol}_{result.timeframe}"
c1.download_button("Download trades (CSV)", result.trades.to_csv(index=False),
                   file_name=f"{stem}_trades.csv", mime="text/csv", key="bt_dl_trades")
c2.download_button("Download equity (CSV)",
                   result.equity.to_frame().assign(drawdown=result.drawdown).to_csv(),
                   file_name=f"{stem}_equity.csv", mime="text/csv", key="bt_dl_equity")

if result.engine == "vectorized" and result.strategy and not registry.get(result.strategy).is_native:
    start_bot_popover("bt_bot", result.symbol, result.timeframe, result.strategy,
                      result.params, result.config, d["asset_class"],
                      from_run=run_id_of(last["future"]), start=bars.index[0],
                      end=bars.index[-1])
