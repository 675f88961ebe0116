"""Backtest page: pick data, a strategy and execution settings; see equity, trades, metrics."""

import streamlit as st

from lab.api import run_backtest
from lab.core.errors import LabError
from lab.metrics import METRIC_LABELS, format_metric
from lab.ui.cache import extreme_moves, load_bars
from lab.ui.charts import candlestick_figure, equity_drawdown_figure
from lab.ui.widgets import data_picker, date_caption, execution_inputs, strategy_picker

st.title("Backtest")

with st.container(border=True):
    d = data_picker("bt")
    name, raw_params = strategy_picker("bt")
    config = None
    try:
        config = execution_inputs(d["asset_class"], "bt")
    except LabError as exc:
        st.error(f"Execution settings: {exc}")
    if st.button("Run backtest", type="primary", key="bt_run"):
        st.session_state["bt_active"] = True

if not st.session_state.get("bt_active"):
    st.info("Choose data, a strategy and settings, then **Run backtest**. "
            "After the first run, results follow every change.")
    st.stop()
if config is None:
    st.stop()

bars = load_bars(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
try:
    result = run_backtest(bars, name, raw_params, config, asset_class=d["asset_class"],
                          timeframe=d["timeframe"], symbol=d["symbol"])
except LabError as exc:
    st.error(str(exc))
    st.stop()

m = result.metrics
jumps = extreme_moves(d["symbol"], d["timeframe"], d["start"], d["end"], d["version"])
if jumps:
    listed = ", ".join(f"{j['ts']:%Y-%m-%d} {j['move']:+.1%}" for j in jumps[:6])
    st.warning(f"This range holds {len(jumps)} extreme one-bar move(s): {listed}. In "
               "unadjusted stock data such a move is often a split, not a real return; "
               "check them in the Data page's quality report.")
st.subheader(f"{name} on {d['symbol']} {d['timeframe']}")
st.caption(f"{date_caption(bars.index[0], bars.index[-1])} · {len(bars):,} bars · "
           f"data fingerprint `{result.fingerprint}` · engine {result.engine}")
cards = [["total_return", "cagr", "sharpe", "sortino"],
         ["max_drawdown", "trades", "win_rate", "profit_factor"]]
for row in cards:
    for col, key in zip(st.columns(len(row)), row):
        col.metric(METRIC_LABELS[key][0], format_metric(key, m.get(key)))

tab_chart, tab_metrics, tab_trades = st.tabs(["Chart", "Metrics", "Trades"])
with tab_chart:
    st.plotly_chart(candlestick_figure(bars, result.trades), width="stretch",
                    key="bt_price")
    bench = bars["close"] / bars["close"].iloc[0] * config.cash
    st.plotly_chart(equity_drawdown_figure(result.equity, result.drawdown, bench),
                    width="stretch", key="bt_equity")
with tab_metrics:
    rows = [{"metric": label, "value": format_metric(k, m[k])}
            for k, (label, _) in METRIC_LABELS.items() if k in m]
    st.dataframe(rows, hide_index=True, width="stretch")
    st.json(result.summary()["config"], expanded=False)
with tab_trades:
    st.dataframe(result.trades, hide_index=True, width="stretch")

c1, c2 = st.columns(2)
stem = f"{name}_{d['symbol']}_{d['timeframe']}"
c1.download_button("Download trades (CSV)", result.trades.to_csv(index=False),
                   file_name=f"{stem}_trades.csv", mime="text/csv", key="bt_dl_trades")
c2.download_button("Download equity (CSV)",
                   result.equity.to_frame().assign(drawdown=result.drawdown).to_csv(),
                   file_name=f"{stem}_equity.csv", mime="text/csv", key="bt_dl_equity")
