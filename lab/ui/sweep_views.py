"""Sweep page, part 2: a finished sweep's leaderboard, heatmap, actions, comparison.

Computations live in ``lab.research.sweep.leaderboard``; this module caches them, lays them
out and turns a leaderboard row into Backtest page settings (``reopen_run``).
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lab.core.ids import dataset_id, parse_dataset_id
from lab.research.sweep import list_sweeps, load_sweep, streamed
from lab.research.sweep.leaderboard import (compare_leaderboards, config_label, filter_board,
                                            heatmap_table, param_columns, rank_correlation,
                                            strategy_ranks)
from lab.ui.handoff import open_in_backtest

#: Rows of the leaderboard drawn in the table (the CSV download has all of them).
SHOWN_ROWS = 500
#: Ranked rows the page holds (filters, heatmap, CSV); a larger sweep keeps its best
#: ones and says so (its full leaderboard is ``leaderboard.csv`` from the CLI or
#: ``lab.research.sweep.streamed.write_board``).
PAGE_ROWS = 200_000
#: Fractions shown in percent in the table.
_PERCENT = ("total_return", "cagr", "max_drawdown", "win_rate", "exposure")
HEATMAP_METRICS = ("sharpe", "dsr", "stability", "total_return", "cagr", "max_drawdown",
                   "profit_factor", "win_rate", "trades", "sortino", "calmar", "exposure")
EXPLAIN = (
    "**Trials** is how many parameter sets were tried: the more you try, the higher the "
    "best Sharpe gets by luck alone. **DSR** (deflated Sharpe ratio, Bailey & López de "
    "Prado 2014) is the probability that a row's true Sharpe is above zero after "
    "correcting for all trials on its symbol and timeframe, for the length of the test "
    "and for skewed, fat-tailed returns; treat rows below 95 % as unproven. "
    "**Stability** is the mean Sharpe of the row's neighbours on the parameter grid (one "
    "parameter one step away, same stops and leverage) divided by its own Sharpe, "
    "clipped to 0..1: near 1 is a plateau, near 0 an isolated peak that a small change "
    "destroys.")


@st.cache_data(max_entries=8, show_spinner="Loading the sweep...")
def cached_sweep(sweep_id: str, version: str, root: str):
    """A stored sweep (``version`` changes when chunks are added); its rows stay on
    disk."""
    return load_sweep(sweep_id, root)


@st.cache_data(max_entries=8, show_spinner="Ranking...")
def cached_board(sweep_id: str, version: str, root: str, min_trades: int) -> pd.DataFrame:
    """Leaderboard of a stored sweep (DSR and stability over all its trials), computed
    from its chunks (``lab.research.sweep.streamed``); at most ``PAGE_ROWS`` rows."""
    return streamed.leaderboard(cached_sweep(sweep_id, version, root),
                                min_trades=min_trades, top=PAGE_ROWS)


@st.cache_data(max_entries=8, show_spinner=False)
def cached_trials(sweep_id: str, version: str, root: str) -> pd.DataFrame:
    """``trials_summary`` of a stored sweep, from its chunks."""
    return streamed.trials_summary(cached_sweep(sweep_id, version, root))


def sweep_label(row: Mapping[str, Any]) -> str:
    """One line per stored sweep for pickers."""
    partial = "" if row["status"] == "complete" else \
        f" · partial {row['done_sets']:,}/{row['sets']:,}"
    return f"{row['id']} · {row['strategies']} on {row['symbols']} · {row['sets']:,} sets" \
        + partial


def stored_sweeps(root: str) -> pd.DataFrame:
    """``list_sweeps`` plus a ``version`` key for the caches."""
    table = list_sweeps(root)
    table["version"] = table["done_sets"].astype(str) + "-" + table["status"].astype(str)
    return table


def _level(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def reopen_run(row: Mapping[str, Any], sweep) -> dict:
    """Backtest page settings (``st.session_state["bt_reopen"]``) of a leaderboard row:
    the sweep's base config with the row's SL, TP and leverage, its strategy, params,
    symbol, timeframe and date range, and the sweep's engine."""
    spec = sweep.spec
    symbol, tf = str(row["symbol"]), str(row["timeframe"])
    data = (sweep.manifest.get("data") or {}).get(dataset_id(symbol, tf), {})
    params = row["params"]
    config = spec.level_config(_level(row["sl"]), _level(row["tp"]), float(row["leverage"]))
    return {"run_id": str(sweep.id), "strategy": str(row["strategy"]),
            "params": json.loads(params) if isinstance(params, str) else dict(params),
            "config": config.to_dict(), "symbol": symbol, "timeframe": tf,
            "start": spec.start or data.get("first"), "end": spec.end or data.get("last"),
            "engine": spec.engine}


def display_board(board: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard as shown: params as ``fast=20 slow=50``, stops as text, DSR and
    stability in percent."""
    out = board.copy()
    out["params"] = [config_label({"strategy": "", "params": p}).split(" · ")[0].strip()
                     for p in out["params"]]
    for c in ("sl", "tp"):
        out[c] = ["off" if pd.isna(v) else f"{v * 100:g} %" for v in out[c]]
    for c in ("dsr", "stability", *_PERCENT):
        out[c] = out[c] * 100
    return out


def board_columns(board: pd.DataFrame) -> list[str]:
    """``BOARD_ORDER`` without symbol and timeframe when the sweep has only one."""
    return [c for c in BOARD_ORDER
            if not (c in ("symbol", "timeframe") and board[c].nunique() <= 1)]


def _column_config() -> dict:
    labels = {"total_return": "Total return", "cagr": "CAGR", "max_drawdown": "Max DD",
              "win_rate": "Win rate", "exposure": "Exposure"}
    cfg = {c: st.column_config.NumberColumn(label, format="%.1f %%")
           for c, label in labels.items()}
    cfg.update({"strategy": "Strategy", "symbol": "Symbol", "timeframe": "TF",
                "params": "Parameters", "sl": "SL", "tp": "TP",
        "rank": st.column_config.NumberColumn("#", width="small"),
        "sharpe": st.column_config.NumberColumn("Sharpe", format="%.2f",
                                                help="Annualized, risk-free rate 0"),
        "dsr": st.column_config.ProgressColumn(
            "DSR", min_value=0.0, max_value=100.0, format="%.1f %%",
            help="Deflated Sharpe ratio: P(true Sharpe > 0) given all trials"),
        "stability": st.column_config.ProgressColumn(
            "Stability", min_value=0.0, max_value=100.0, format="%.0f %%",
            help="Mean neighbour Sharpe / own Sharpe, clipped to 0..1"),
        "min_trl": st.column_config.NumberColumn(
            "Min track record", format="%.0f bars",
            help="Bars of history needed for P(true Sharpe > 0) >= 95 % at this Sharpe, "
                 "skew and kurtosis (Bailey & López de Prado 2012); compare with the "
                 "bars tested"),
        "profit_factor": st.column_config.NumberColumn("Profit factor", format="%.2f"),
        "leverage": st.column_config.NumberColumn("Lev.", format="%gx"),
        "trades": st.column_config.NumberColumn("Trades", format="%d")})
    return cfg


BOARD_ORDER = ["rank", "strategy", "symbol", "timeframe", "params", "sl", "tp", "leverage",
               "sharpe", "dsr", "stability", "min_trl", "trades", "win_rate",
               "profit_factor", "total_return", "cagr", "max_drawdown", "exposure"]


def heatmap_figure(table: pd.DataFrame, x: str, y: str, title: str) -> go.Figure:
    """Plotly heatmap of a ``heatmap_table``; diverging colours around 0 for returns and
    ratios, 0..1 for probabilities."""
    metric = table.attrs.get("metric", "")
    z = table.to_numpy(dtype=float)

    def ticks(values, name):
        return [("off" if pd.isna(v) else f"{v * 100:g} %") if name in ("sl", "tp")
                else f"{v:g}" for v in values]

    bounded = metric in ("dsr", "stability", "win_rate", "exposure", "psr")
    kw = dict(zmin=0.0, zmax=1.0) if bounded else dict(zmid=0.0)
    fig = go.Figure(go.Heatmap(
        z=z, x=ticks(table.columns, x), y=ticks(table.index, y), colorscale="RdYlGn",
        colorbar=dict(title=metric), hoverongaps=False,
        texttemplate="%{z:.2f}" if z.size <= 400 else None, **kw,
        hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{metric}=%{{z:.3f}}<extra></extra>"))
    fig.update_layout(title=title, height=480, margin=dict(l=60, r=20, t=60, b=50),
                      xaxis=dict(title=x, type="category"),
                      yaxis=dict(title=y, type="category"))
    return fig


def _pct(v, decimals: int) -> str:
    return "n/a" if v is None or pd.isna(v) else f"{v:.{decimals}%}"


def _headline(board: pd.DataFrame, trials: pd.DataFrame, min_trades: int) -> None:
    best = board.iloc[0] if len(board) else None
    n_trials = int(board.attrs.get("trials", 0))
    ranked = n_trials - int(board.attrs.get("excluded_min_trades", 0))
    cols = [*st.columns(3), *st.columns(3)]     # two rows: six labels do not fit one
    cols[0].metric("Trials", f"{n_trials:,}", help="Parameter sets tried (all rows)")
    cols[1].metric(f"Ranked (>= {min_trades} trades)", f"{ranked:,}",
                   help=f"{board.attrs.get('excluded_min_trades', 0):,} rows had fewer trades")
    cols[2].metric("Best Sharpe", "n/a" if best is None else f"{best['sharpe']:.2f}")
    cols[3].metric("DSR of the best", "n/a" if best is None else _pct(best["dsr"], 1))
    cols[4].metric("Stability of the best",
                   "n/a" if best is None else _pct(best["stability"], 0))
    cols[5].metric("Rows with DSR >= 95 %", f"{int((board['dsr'] >= 0.95).sum()):,}",
                   help="Rows whose Sharpe survives the deflation at 95 % confidence")
    if ranked > len(board):
        st.caption(f"The page holds the best {len(board):,} ranked rows (filters, heatmap "
                   "and download below use them).")
    st.caption(" · ".join(
        f"{r.symbol} {r.timeframe}: N = {r.trials:,}, expected best Sharpe of N skill-less "
        f"trials {r.expected_max_sharpe:.2f}" for r in trials.itertuples()))


def _filters(board: pd.DataFrame, key: str) -> dict:
    f1, f2, f3, f4 = st.columns(4)
    strategies = sorted(board["strategy"].unique())
    symbols = sorted(board["symbol"].unique())
    out: dict[str, Any] = {}
    chosen = f1.multiselect("Strategies", strategies, key=f"{key}_f_strat",
                            placeholder="all")
    if chosen:
        out["strategy"] = list(chosen)
    sym = f2.multiselect("Symbols", symbols, key=f"{key}_f_sym", placeholder="all")
    if sym:
        out["symbol"] = list(sym)
    dsr = f3.slider("Min DSR", 0.0, 1.0, 0.0, 0.05, key=f"{key}_f_dsr",
                    help="0.95 keeps only rows that survive the deflation at 95 %")
    if dsr > 0:
        out["dsr"] = (dsr, None)
    dd = f4.slider("Worst max drawdown allowed (%)", 5, 100, 100, 5, key=f"{key}_f_dd")
    if dd < 100:
        out["max_drawdown"] = (-dd / 100, None)
    return out


def leaderboard_view(root: str, key: str = "sw") -> None:
    """Pick a stored sweep; show its leaderboard, heatmap and actions."""
    sweeps = stored_sweeps(root)
    if sweeps.empty:
        st.info("No sweep yet: set up a parameter grid under **New sweep** and click "
                "**Start sweep**.")
        return
    ids = sweeps["id"].tolist()
    labels = {r["id"]: sweep_label(r) for r in sweeps.to_dict("records")}
    if st.session_state.get(f"{key}_view") not in ids:
        st.session_state.pop(f"{key}_view", None)
    sweep_id = st.selectbox("Sweep", ids, format_func=labels.get, key=f"{key}_view")
    version = sweeps.set_index("id").at[sweep_id, "version"]
    res = cached_sweep(sweep_id, version, root)
    if not res.complete:
        st.warning(f"Partial sweep: {res.done_sets:,} of "
                   f"{res.manifest.get('total_sets', '?'):,} sets finished (cancelled, "
                   "failed or still running). Resume its job to finish; the board below "
                   "ranks what is done.")
    if res.done_sets == 0:
        return
    f0, frest = st.columns([1, 5])
    min_trades = f0.number_input("Min trades", 0, 10_000, int(res.spec.min_trades),
                                 key=f"{key}_mt_{sweep_id}",
                                 help="Rows with fewer closed trades are not ranked")
    board = cached_board(sweep_id, version, root, int(min_trades))
    with frest:
        filters = _filters(board, key)
    _headline(board, cached_trials(sweep_id, version, root), int(min_trades))
    st.info(EXPLAIN, icon=":material/info:")
    _pbo(res, board, root, key)
    shown = filter_board(board, filters)
    if shown.empty:
        st.warning("No ranked row passes these filters.")
        return
    event = st.dataframe(display_board(shown.head(SHOWN_ROWS)), hide_index=True,
                         width="stretch", height=420, column_order=board_columns(shown),
                         column_config=_column_config(), on_select="rerun",
                         selection_mode="single-row", key=f"{key}_board_{sweep_id}")
    st.caption(f"{len(shown):,} ranked row(s) pass the filters"
               + (f"; the best {SHOWN_ROWS} shown" if len(shown) > SHOWN_ROWS else "")
               + ". Click a row to select it.")
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    row = shown.iloc[rows[0] if rows and rows[0] < len(shown) else 0].to_dict()
    _actions(res, board, row, root, key)
    _heatmap(board, res, key)


def _pbo(res, board: pd.DataFrame, root: str, key: str, top_k: int = 20) -> None:
    """Probability of backtest overfitting of picking the best of the top rows."""
    from lab.research.sweep.pbo import sweep_pbo

    state_key = f"{key}_pbo_{res.id}"
    c1, c2 = st.columns([1, 3])
    if c1.button(f"Estimate PBO (top {top_k})", key=f"{key}_pbo_btn",
                 help="Recomputes the top rows' returns and runs combinatorially symmetric "
                      "cross-validation (Bailey, Borwein, López de Prado & Zhu 2015)"):
        with st.spinner("Recomputing the top rows and running CSCV..."):
            try:
                st.session_state[state_key] = sweep_pbo(res, board, top_k=top_k, root=root)
            except Exception as exc:  # noqa: BLE001 - show why
                st.session_state[state_key] = {"error": str(exc)}
    out = st.session_state.get(state_key)
    if out is None:
        c2.caption("PBO: the probability that the in-sample best of these rows ranks below "
                   "the median out of sample. Click to estimate it.")
    elif "error" in out:
        c2.warning(f"PBO unavailable: {out['error']}")
    else:
        c2.metric(f"PBO of choosing the best of the top {len(out['set_ids'])}",
                  _pct(out["pbo"], 0),
                  help="Share of CSCV splits where the in-sample winner is below the "
                       "out-of-sample median; above 50 % means the ranking is noise")


def _actions(res, board: pd.DataFrame, row: dict, root: str, key: str) -> None:
    st.markdown(f"Selected: **#{row['rank']} {config_label(row)}** on {row['symbol']} "
                f"{row['timeframe']} · Sharpe {row['sharpe']:.2f} · DSR {_pct(row['dsr'], 1)} · "
                f"stability {_pct(row['stability'], 0)} · trades {int(row['trades'])}")
    b1, b2, b3 = st.columns(3)
    if b1.button("Open in Backtest", type="primary", key=f"{key}_open",
                 help="The Backtest page with this row's exact settings"):
        open_in_backtest(reopen_run(row, res))
    from lab.ui.live_views import start_bot_from

    start_bot_from(f"{key}_bot", reopen_run(row, res))
    track_key = f"{key}_track_{res.id}"
    if b2.button("Record in MLflow", key=f"{key}_record",
                 help="Parent run with the spec and leaderboard; the top 5 rows as "
                      "child runs with equity and trades"):
        from lab.research.sweep import recompute
        from lab.tracking.sweeps import track_sweep
        from lab.ui.cache import background

        classes = {parse_dataset_id(k)[0]: v.get("asset_class") for k, v in
                   (res.manifest.get("data") or {}).items() if v.get("asset_class")}
        st.session_state[track_key] = background().submit(
            track_sweep, res, board, top_n=5, recompute=recompute, asset_classes=classes,
            trials=streamed.trials_summary(res), source="app",
            write_tables=lambda folder: streamed.write_artifacts(res, folder,
                                                                 int(board.attrs["min_trades"])))
    b3.download_button("Download leaderboard (CSV)", board.to_csv(index=False),
                       file_name=f"sweep_{res.id}_leaderboard.csv", mime="text/csv",
                       key=f"{key}_csv")
    if st.session_state.get(track_key) is not None:
        from lab.ui.backtest_views import tracking_status

        tracking_status(st.session_state[track_key])


def _heatmap(board: pd.DataFrame, res, key: str) -> None:
    st.subheader("Heatmap")
    strategies = sorted(board["strategy"].unique())
    h1, h2, h3, h4, h5 = st.columns(5)
    strategy = h1.selectbox("Strategy", strategies, key=f"{key}_h_strat")
    rows = board[board["strategy"] == strategy]
    dims = [c[6:] for c in param_columns(rows)] + [
        c for c in ("sl", "tp", "leverage") if rows[c].nunique(dropna=False) > 1]
    if len(dims) < 2:
        st.caption(f"{strategy} varies fewer than two dimensions in this sweep; nothing to "
                   "map.")
        return
    x = h2.selectbox("x", dims, index=0, key=f"{key}_h_x_{strategy}")
    y = h3.selectbox("y", [d for d in dims if d != x], index=0, key=f"{key}_h_y_{strategy}")
    metric = h4.selectbox("Metric", HEATMAP_METRICS, key=f"{key}_h_metric")
    agg = h5.selectbox("Other dimensions", ["max", "mean", "median", "min"],
                       key=f"{key}_h_agg", help="How cells combine the rows that differ "
                                                 "in dimensions not on the axes")
    table = heatmap_table(board, strategy, x, y, metric, agg=agg)
    over = table.attrs["aggregated_over"]
    note = f"{agg} over {', '.join(c.removeprefix('param_') for c in over)}" if over else \
        "no other dimension varies"
    st.plotly_chart(heatmap_figure(table, x, y, f"{metric} of {strategy}: {y} x {x} "
                                                f"({note}; ranked rows only)"),
                    width="stretch", key=f"{key}_heatmap")


def compare_view(root: str, key: str = "sw") -> None:
    """Two or more stored sweeps side by side."""
    sweeps = stored_sweeps(root)
    if len(sweeps) < 2:
        st.info("Run at least two sweeps to compare their leaderboards (e.g. the same grid "
                "on two symbols, or on two periods).")
        return
    labels = {r["id"]: sweep_label(r) for r in sweeps.to_dict("records")}
    chosen = st.multiselect("Sweeps", list(labels), format_func=labels.get,
                            key=f"{key}_cmp", placeholder="Pick two or more sweeps")
    top = st.slider("Top rows", 3, 30, 10, key=f"{key}_cmp_top")
    if len(chosen) < 2:
        return
    versions = sweeps.set_index("id")["version"]
    boards = {sid: cached_board(sid, versions[sid], root,
                                int(cached_sweep(sid, versions[sid], root).spec.min_trades))
              for sid in chosen}
    table = compare_leaderboards(boards, top=top)
    table.columns = [f"{a} · {b}" for a, b in table.columns]
    st.dataframe(table, width="stretch", key=f"{key}_cmp_table")
    c1, c2 = st.columns([1, 2])
    c1.markdown("**Best rank of each strategy**")
    c1.dataframe(strategy_ranks(boards), width="stretch", key=f"{key}_cmp_ranks")
    c2.markdown("**Do the boards agree?** Spearman correlation of ranks; "
                "configurations match on strategy, params, stops and leverage")
    c2.dataframe(rank_correlation(boards, top=top), hide_index=True, width="stretch",
                 key=f"{key}_cmp_corr")


def jobs_root_note(root: str) -> str:
    """Caption naming where jobs and sweeps are stored."""
    return f"Jobs in `{root}/jobs/jobs.sqlite`, sweeps in `{root}/sweeps/`"


