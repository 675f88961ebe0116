"""The result panels of the Backtest page: analytics, tearsheet, engine comparison and
the MLflow recording status. Each takes a ``BacktestResult`` and draws it."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import streamlit.components.v1 as components

from lab.core.types import TIMEFRAME_SECONDS
from lab.engines.compare import final_equity_gap, trade_differences
from lab.metrics import METRIC_LABELS, format_metric
from lab.metrics.analytics import (alpha_beta, monthly_returns, regime_performance,
                                   rolling_sharpe, underwater)
from lab.metrics.tearsheet import (buy_and_hold_returns, daily_returns, periods_per_year_of,
                                   tearsheet_html)
from lab.ui.analytics_charts import (equity_overlay_figure, monthly_heatmap_figure,
                                     regime_figure, rolling_sharpe_figure,
                                     trade_pnl_histogram, underwater_figure)
from lab.ui.cache import datasets, load_bars

SAME = "buy & hold (same symbol)"


def benchmark_close(result, bars: pd.DataFrame, choice: str) -> pd.Series:
    """Close prices of the chosen benchmark over the result's dates."""
    if choice == SAME:
        return bars["close"].rename(f"{result.symbol} buy & hold")
    ds = datasets()
    rows = ds[ds["symbol"] == choice]
    tf = min(rows["timeframe"], key=TIMEFRAME_SECONDS.get)
    fp = "|".join(rows["fingerprint"])
    other = load_bars(choice, tf, bars.index[0].floor("D"), bars.index[-1], fp)
    return other["close"].rename(choice)


#: Session key keeping the benchmark choice while the Analytics tab is closed (a
#: widget's own state is dropped on a run that does not draw it).
BENCH_CHOICE = "bt_bench_choice"


def benchmark_choice() -> str:
    """The benchmark last picked on the Analytics tab (buy & hold by default)."""
    return st.session_state.get(BENCH_CHOICE, SAME)


def benchmark_picker(result, key: str = "bt_bench") -> str:
    """Benchmark select: buy & hold of the same symbol, or another stored symbol."""
    options = [SAME] + [s for s in sorted(datasets()["symbol"].unique())
                        if s != result.symbol]
    kept = benchmark_choice()
    index = options.index(kept) if kept in options else 0
    choice = st.selectbox("Benchmark", options, key=key,
                          **({} if key in st.session_state else {"index": index}))
    st.session_state[BENCH_CHOICE] = choice
    return choice


def analytics_tab(result, bars: pd.DataFrame, data: dict) -> None:
    """Alpha/beta, monthly returns, rolling Sharpe, underwater, trade PnL, regimes."""
    choice = benchmark_picker(result)
    try:
        close = benchmark_close(result, bars, choice)
    except Exception as exc:  # noqa: BLE001 - show why, keep the rest of the page
        st.warning(f"Benchmark {choice} unavailable for these dates: {exc}")
        return
    ppy = result.periods_per_year
    daily, _ = daily_returns(result.returns)
    bench_daily, _ = daily_returns(buy_and_hold_returns(close))
    ab = alpha_beta(daily, bench_daily, periods_per_year_of(daily))
    c = st.columns(4)
    c[0].metric("Alpha (ann., daily OLS)", format_metric("cagr", ab["alpha"]))
    c[1].metric("Beta", f"{ab['beta']:.2f}" if pd.notna(ab["beta"]) else "n/a")
    c[2].metric("Correlation", f"{ab['correlation']:.2f}" if pd.notna(ab["correlation"]) else "n/a")
    c[3].metric("Days compared", f"{int(ab['bars']):,}")
    st.plotly_chart(monthly_heatmap_figure(monthly_returns(result.returns)), width="stretch",
                    key="an_monthly")
    window = max(20, int(ppy / 4))
    left, right = st.columns(2)
    left.plotly_chart(rolling_sharpe_figure(
        rolling_sharpe(result.returns, window, ppy),
        title=f"Rolling Sharpe ({window} bars ≈ 3 months)"), width="stretch", key="an_rs")
    right.plotly_chart(underwater_figure(underwater(result.returns)), width="stretch",
                       key="an_uw")
    left, right = st.columns(2)
    if len(result.trades):
        left.plotly_chart(trade_pnl_histogram(result.trades), width="stretch", key="an_pnl")
    else:
        left.info("No closed trades to plot.")
    try:
        regimes = regime_performance(result.returns, close, ppy)
    except Exception as exc:  # noqa: BLE001
        right.info(f"Regime split unavailable: {exc}")
    else:
        right.plotly_chart(regime_figure(regimes, title=f"Performance when {close.name} is "
                                                        "above / below its 200-bar SMA"),
                           width="stretch", key="an_regime")
        right.dataframe(regimes, width="stretch")


def tearsheet_tab(result, bars: pd.DataFrame, data: dict) -> None:
    """Build the QuantStats tearsheet on demand; show it and offer the download."""
    choice = benchmark_choice()
    st.caption(f"QuantStats tearsheet against {choice} (pick the benchmark on the "
               "Analytics tab). Intraday returns are compounded to daily first.")
    key = (id(result), choice)
    stored = st.session_state.get("bt_tearsheet")
    if st.button("Build tearsheet", key="bt_tearsheet_btn"):
        with st.spinner("QuantStats is building the tearsheet..."):
            close = benchmark_close(result, bars, choice)
            html = tearsheet_html(result.returns, buy_and_hold_returns(close),
                                  title=f"{result.strategy} on {result.symbol} "
                                        f"{result.timeframe}",
                                  benchmark_title=str(close.name))
        stored = st.session_state["bt_tearsheet"] = (key, html)
    if stored and stored[0] == key:
        st.download_button("Download tearsheet (HTML)", stored[1],
                           file_name=f"{result.strategy}_{result.symbol}_tearsheet.html",
                           mime="text/html", key="bt_tearsheet_dl")
        components.html(stored[1], height=1400, scrolling=True)


def engines_tab(result, other, error: str | None, compare: str) -> None:
    """Both engines' equity, key metrics, and the trades that differ."""
    if other is None:
        st.warning(f"{compare} could not run this configuration: {error}")
        return
    diff = trade_differences(result, other)
    gap = final_equity_gap(result, other)
    if diff.empty:
        st.success(f"{result.engine} and {other.engine} agree: {len(result.trades)} identical "
                   f"trades; final equity differs by {gap:.2e} (relative).")
    else:
        st.error(f"{len(diff)} trade(s) differ between {result.engine} and {other.engine}; "
                 f"final equity differs by {gap:.2%}.")
    st.plotly_chart(equity_overlay_figure({result.engine: result.equity,
                                           other.engine: other.equity},
                                          title="Equity on both engines"),
                    width="stretch", key="bt_engines_equity")
    keys = ["total_return", "sharpe", "max_drawdown", "trades", "fees"]
    st.dataframe([{"metric": METRIC_LABELS[k][0],
                   result.engine: format_metric(k, result.metrics[k]),
                   other.engine: format_metric(k, other.metrics[k])} for k in keys],
                 hide_index=True, width="stretch")
    st.markdown("**Trades that differ** (empty when the engines agree)")
    st.dataframe(diff, hide_index=True, width="stretch")


def _tracking_line(future, track: bool = True) -> None:
    if future is None:
        st.caption("Not recorded in MLflow: this run follows the changed settings; click "
                   "**Run backtest** to record it." if track else
                   "Not recorded in MLflow (recording is off).")
    elif not future.done():
        st.caption("Recording in MLflow...")
    elif future.exception() is not None:      # the recording process died
        st.warning(f"This run was not recorded in MLflow: the recording process stopped "
                   f"({type(future.exception()).__name__}); click **Run backtest** again.")
    else:
        outcome = future.result()
        if outcome.recorded:
            extra = f" ({outcome.error})" if outcome.error else ""
            st.caption(f"Recorded in MLflow: run `{outcome.run_id}` in experiment "
                       f"`{outcome.experiment}`{extra}. See the Runs page.")
        else:
            st.warning(f"This run was not recorded in MLflow: {outcome.error}")


@st.fragment(run_every=1.0)
def _tracking_poll(future) -> None:
    _tracking_line(future)        # a fragment rerun: the rest of the page stays as it is


def tracking_status(future, track: bool = True) -> None:
    """One line on the MLflow recording of the run; polls while it is in flight."""
    if future is not None and not future.done():
        _tracking_poll(future)
    else:
        _tracking_line(future, track)


def min_notional_warning(result, bars: pd.DataFrame) -> None:
    """A warning in words when no entry could be placed: not one whole unit (a futures
    contract's initial margin, a share) fits the account, or the minimum order value
    stopped the trading from the last exit (or the start)."""
    from lab.costs.rules import min_notional_block

    cfg = result.config
    if result.equity.empty:
        return
    if not len(result.trades):
        from lab.costs.rules import one_unit_block

        need = one_unit_block(cfg, float(result.equity.iloc[-1]),
                              float(bars["close"].iloc[-1]))
        if need is not None:
            unit = "contract" if cfg.initial_margin > 0 or cfg.multiplier != 1 else "unit"
            basis = (f"{cfg.initial_margin:,.2f} initial margin" if cfg.initial_margin > 0
                     else f"its notional / leverage {cfg.leverage:g}")
            raise_ = ("Raise cash or position size" if cfg.initial_margin > 0 else
                      "Raise cash, leverage or position size")
            st.warning(f"No trade: one {unit} needs about {need:,.2f} ({basis}, plus fees) "
                       f"and the account has {result.equity.iloc[-1]:,.2f}. {raise_}, or "
                       "allow fractional units (Advanced).")
            return
    if not cfg.min_notional > 0:
        return
    reachable = min_notional_block(cfg, float(result.equity.iloc[-1]),
                                   float(bars["close"].iloc[-1]))
    if reachable is None:
        return
    if len(result.trades):
        since = f"after the exit on {pd.Timestamp(result.trades['exit_time'].iloc[-1]):%Y-%m-%d}"
    else:
        since = "from the start"
    st.warning(f"Trading stopped {since}: no entry fits the minimum order value "
               f"({cfg.min_notional:,.2f}). With equity {result.equity.iloc[-1]:,.2f}, the "
               f"largest order this account can place is worth {reachable:,.2f}. Lower the "
               "minimum order value (Advanced), or raise cash, position size or leverage.")


def view_picker(names: list[str], key: str = "bt_tab") -> str:
    """The result view to draw, chosen in a segmented control among ``names`` (the first
    by default, and when the kept choice is no longer offered, e.g. Engines after the
    comparison is turned off)."""
    kept = st.session_state.get(key)
    if kept not in names:
        st.session_state.pop(key, None)
    return st.segmented_control("View", names, key=key, required=True,
                                label_visibility="collapsed",
                                **({} if kept in names else {"default": names[0]}))


def downloads(result) -> None:
    """Trades and equity as CSV, built only when a button is clicked."""
    c1, c2 = st.columns(2)
    stem = f"{result.strategy}_{result.symbol}_{result.timeframe}"
    c1.download_button("Download trades (CSV)", lambda: result.trades.to_csv(index=False),
                       file_name=f"{stem}_trades.csv", mime="text/csv", key="bt_dl_trades",
                       on_click="ignore")
    c2.download_button("Download equity (CSV)",
                       lambda: result.equity.to_frame().assign(
                           drawdown=result.drawdown).to_csv(),
                       file_name=f"{stem}_equity.csv", mime="text/csv", key="bt_dl_equity",
                       on_click="ignore")
