"""Runs page: recorded backtests (MLflow) filtered, compared, inspected and reopened.

The page script only calls these sections in order; each reads the tracking store
through ``lab.tracking`` and caches immutable artifacts by run id.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lab.metrics import (METRIC_LABELS, format_metric, monthly_returns, returns_from_equity,
                         rolling_sharpe, trade_pnl_stats)
from lab.tracking import (MAIN_METRICS, TrackingError, compare_metrics, experiment_strategy,
                          initial_cash, list_runs, load_equity, load_text, load_trades,
                          run_url)
from lab.tracking.reader import TOP
from lab.ui.analytics_charts import (equity_overlay_figure, monthly_heatmap_figure,
                                     rolling_sharpe_figure, trade_pnl_histogram,
                                     underwater_figure)
from lab.ui.handoff import open_in_backtest
from lab.ui.run_details import no_curve_text, run_heading

ALL = "All"
#: ``lab.kind`` of runs that have child runs (trials, leaderboard rows, strategies).
PARENT_KINDS = ("study", "sweep", "walkforward")
#: Rolling Sharpe windows offered, in years.
WINDOWS = {"1 month": 1 / 12, "3 months": 0.25, "6 months": 0.5, "1 year": 1.0}


@st.cache_data(show_spinner=False, max_entries=64)
def cached_equity(uri: str, run_id: str) -> pd.DataFrame:
    """A run's equity artifact (immutable once written, so cached by run id)."""
    return load_equity(run_id, tracking_uri=uri)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_trades(uri: str, run_id: str) -> pd.DataFrame:
    """A run's trades artifact (cached by run id)."""
    return load_trades(run_id, tracking_uri=uri)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_text(uri: str, run_id: str, path: str) -> str:
    """A text artifact of a run (cached by run id and path)."""
    return load_text(run_id, path, tracking_uri=uri)


def filtered_runs(experiments: list[str], uri: str) -> pd.DataFrame:
    """The filter inputs, then the runs they select (newest first)."""
    with st.container(border=True):
        c1, c2, c3, c4 = st.columns(4)
        experiment = c1.selectbox("Experiment", [ALL] + experiments, key="runs_experiment")
        strategies = sorted({experiment_strategy(e) for e in experiments})
        strategy = c2.selectbox("Strategy", [ALL] + strategies, key="runs_strategy")
        symbol = c3.text_input("Symbol", key="runs_symbol", placeholder="e.g. AAPL")
        tag = c4.text_input("Tag", key="runs_tag", placeholder="key=value, e.g. source=app")
        nested = st.toggle("Show child runs (Optuna trials, sweep rows, walk-forward "
                           "folds) in the list", key="runs_nested",
                           help="Off: each study, sweep and walk-forward is one row; its "
                                "child runs are listed under 'Child runs' when you pick it")
    return list_runs(experiment=None if experiment == ALL else experiment,
                     strategy=None if strategy == ALL else strategy,
                     symbol=symbol.strip() or None, tag=tag.strip() or None,
                     parent=None if nested else TOP, tracking_uri=uri)


def runs_table(runs: pd.DataFrame) -> dict[str, str]:
    """The runs as a table; returns ``{run_id: label}`` for the pickers."""
    pct = st.column_config.NumberColumn(format="percent")
    st.dataframe(runs, hide_index=True, width="stretch", key="runs_table",
                 column_order=["run_name", "kind", "start_time", "status", "symbol",
                               "timeframe", "params", "engine", "source", *MAIN_METRICS,
                               "experiment", "run_id"],
                 column_config={k: pct for k in MAIN_METRICS
                                if METRIC_LABELS.get(k, ("", ""))[1] == "pct"})
    nested = runs["parent_run_id"].notna().sum()
    st.caption(f"{len(runs)} run(s), newest first" + (
        f", {nested} of them child runs" if nested else
        "; child runs (trials, sweep rows, folds) are folded under their parent"))
    return {r.run_id: f"{r.run_name} · {r.start_time:%Y-%m-%d %H:%M:%S} · {r.run_id[:8]}"
            for r in runs.itertuples()}


def compare_section(labels: dict[str, str], uri: str) -> None:
    """Metrics side by side and the equity curves of the runs picked."""
    st.subheader("Compare")
    chosen = st.multiselect("Runs to compare", list(labels), format_func=labels.get,
                            key="runs_compare", placeholder="Pick two or more runs")
    if not chosen:
        return
    try:
        table = compare_metrics(chosen, tracking_uri=uri)
        shown = pd.DataFrame({c: [format_metric(k, table.at[k, c]) for k in table.index]
                              for c in table.columns},
                             index=[METRIC_LABELS.get(k, (k,))[0] for k in table.index])
        st.dataframe(shown, width="stretch", key="runs_compare_table")
        curves = {labels[rid]: cached_equity(uri, rid)["equity"] for rid in chosen}
        st.plotly_chart(equity_overlay_figure(curves), width="stretch", key="runs_overlay")
    except TrackingError as exc:
        st.error(str(exc))


def run_header(run: dict, run_id: str, uri: str) -> None:
    """What the run is, and its actions: reopen in Backtest, MLflow UI, tearsheet."""
    st.markdown(run_heading(run))
    b1, b2, b3 = st.columns(3)
    if b1.button("Reopen in Backtest", type="primary", key="runs_reopen",
                 help="Open the Backtest page with this run's exact configuration"):
        open_in_backtest(run)
    b2.link_button("Open in MLflow UI", run_url(run, uri))
    if "tearsheet.html" in run["artifacts"]:
        b3.download_button("Download tearsheet (HTML)",
                           cached_text(uri, run_id, "tearsheet.html"),
                           file_name=f"{run['run_name']}_tearsheet.html".replace(" ", "_"),
                           mime="text/html", key="runs_tearsheet")
    else:
        b3.caption("No tearsheet stored for this run")


def child_runs(run: dict, run_id: str, uri: str) -> None:
    """The runs nested under a study, sweep or walk-forward run, on demand."""
    if (run.get("tags") or {}).get("lab.kind") not in PARENT_KINDS:
        return
    if not st.toggle("Show its child runs", key=f"runs_children_{run_id}"):
        return
    try:
        children = list_runs(parent=run_id, tracking_uri=uri)
    except TrackingError as exc:
        st.error(str(exc))
        return
    if children.empty:
        st.info("This run has no child runs.")
        return
    pct = st.column_config.NumberColumn(format="percent")
    st.dataframe(children, hide_index=True, width="stretch", key="runs_children_table",
                 column_order=["run_name", "kind", "status", "params", *MAIN_METRICS,
                               "run_id"],
                 column_config={k: pct for k in MAIN_METRICS
                                if METRIC_LABELS.get(k, ("", ""))[1] == "pct"})
    st.caption(f"{len(children)} child run(s); turn on 'Show child runs' above to open "
               "one in the details")


def run_tabs(run: dict, run_id: str, uri: str) -> None:
    """Performance, trades, parameters and config, tags and artifacts of one run."""
    tab_perf, tab_trades, tab_setup, tab_files = st.tabs(
        ["Performance", "Trades", "Parameters and config", "Tags and artifacts"])
    with tab_setup:
        s1, s2 = st.columns(2)
        s1.markdown("**Strategy parameters**")
        s1.json(run["params"])
        s2.markdown("**Execution config**")
        s2.json(run["config"])
    with tab_files:
        st.dataframe(pd.DataFrame(list(run["tags"].items()), columns=["tag", "value"]),
                     hide_index=True, width="stretch", key="runs_tags")
        st.markdown("**Artifacts**")
        st.dataframe(pd.DataFrame({"artifact": run["artifacts"]}), hide_index=True,
                     width="stretch", key="runs_artifacts")
        st.caption(f"Stored at `{run['artifact_uri']}`")
    if no_curve_text(run):
        with tab_perf:
            m = run["metrics"]
            for col, (k, v) in zip(st.columns(min(4, len(m)) or 1), list(m.items())[:4]):
                counted = k not in METRIC_LABELS and float(v).is_integer()   # trials, ...
                col.metric(METRIC_LABELS.get(k, (k,))[0],
                           f"{int(v):,d}" if counted else format_metric(k, v))
            st.info(no_curve_text(run))
        return
    try:
        equity = cached_equity(uri, run_id)
        trades = cached_trades(uri, run_id)
    except TrackingError as exc:
        st.warning(f"This run has no stored equity or trades ({exc}).")
        return
    with tab_perf:
        _performance(run, equity)
    with tab_trades:
        if len(trades):
            st.plotly_chart(trade_pnl_histogram(trades), width="stretch", key="runs_hist")
            st.dataframe(trade_pnl_stats(trades), width="stretch", key="runs_trade_stats")
            st.dataframe(trades, hide_index=True, width="stretch", key="runs_trades")
        else:
            st.info("This run closed no trades.")


def _performance(run: dict, equity: pd.DataFrame) -> None:
    m = run["metrics"]
    keys = [k for k in ("total_return", "cagr", "sharpe", "max_drawdown") if k in m]
    for col, k in zip(st.columns(len(keys) or 1), keys):
        col.metric(METRIC_LABELS[k][0], format_metric(k, m[k]))
    try:
        returns = returns_from_equity(equity["equity"], initial_cash(run))
    except TrackingError as exc:
        st.warning(str(exc))
        return
    st.plotly_chart(monthly_heatmap_figure(monthly_returns(returns)), width="stretch",
                    key="runs_monthly")
    ppy = run["periods_per_year"] or 252.0
    window_label = st.selectbox("Rolling Sharpe window", list(WINDOWS), index=2,
                                key="runs_window")
    window = max(2, int(round(ppy * WINDOWS[window_label])))
    st.plotly_chart(rolling_sharpe_figure(rolling_sharpe(returns, window, ppy),
                                          title=f"Rolling Sharpe ({window_label}, "
                                                f"{window} bars)"),
                    width="stretch", key="runs_rolling")
    st.plotly_chart(underwater_figure(equity["drawdown"]), width="stretch",
                    key="runs_underwater")


__all__ = ["child_runs", "compare_section", "filtered_runs", "run_header", "run_tabs",
           "runs_table"]
