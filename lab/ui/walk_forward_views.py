"""Walk-forward page: the form, the jobs panel, and the result views and figures.

The form builds a ``WalkForwardSpec`` whose ``to_dict()`` is the ``"walkforward"`` job
payload (``lab.jobs.walkforward_job``); the
work runs in a ``lab.jobs`` runner process that the panel watches with
``st.fragment(run_every=1)``. Results are read from ``<data>/walkforward/<id>/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lab import jobs
from lab.core.errors import LabError
from lab.research.walk_forward import (LEVELS, WalkForwardResult, WalkForwardSpec,
                                       load_walk_forward, walk_forward_root,
                                       walk_forward_spec, walk_forward_windows)
from lab.tracking.runs import project_name
from lab.ui.jobs_panel import JobWording, duration
from lab.ui.jobs_panel import jobs_panel as shared_jobs_panel
from lab.ui.cache import load_bars
from lab.ui.inputs import parse_levels
from lab.ui.sweep_form import _grid_inputs, _init, sweepable
from lab.ui.widgets import data_picker, execution_inputs

KIND = "walkforward"
#: Objectives offered on the page (``STAT_NAMES`` that are better when larger).
OBJECTIVES = ("sharpe", "sortino", "calmar", "total_return", "cagr", "profit_factor",
              "expectancy")

# -- form ---------------------------------------------------------------------------------
def walk_forward_form(key: str = "wf") -> dict | None:
    """Inputs of a walk-forward; shows its windows and the Start button.

    Returns
    -------
    dict or None
        The job payload when Start was clicked with valid inputs, else None.
    """
    data = data_picker(key)
    specs = sweepable()
    strategies = st.multiselect("Strategies", list(specs), key=f"{key}_strategies",
                                format_func=lambda n: f"{n} ({specs[n].family})",
                                **_init(f"{key}_strategies", default=["sma_cross"]))
    errors, grids = [], {}
    for name in strategies:
        with st.expander(f"Grid of {name}: {specs[name].description}", expanded=False):
            try:
                grids[name] = {k: list(v) for k, v in _grid_inputs(specs[name], key).items()}
            except LabError as exc:
                errors.append(str(exc))
    c1, c2, c3, c4 = st.columns(4)
    mode = c1.radio("Windows", ["count", "bars"], key=f"{key}_mode", horizontal=True,
                    format_func={"count": "count + train %", "bars": "lengths (bars)"}.get)
    windows: dict = {"anchored": c4.toggle("Anchored", key=f"{key}_anchored",
                                           help="Every train window starts at the first "
                                                "bar (expanding) instead of sliding")}
    if mode == "count":
        windows["n_windows"] = int(c2.number_input("Test windows", 1, 100, key=f"{key}_n",
                                                   **_init(f"{key}_n", value=5)))
        windows["train_fraction"] = c3.slider("Train share, %", 10, 95, key=f"{key}_frac",
                                              **_init(f"{key}_frac", value=70)) / 100
    else:
        windows["train_bars"] = int(c2.number_input("Train bars", 2, 10**7,
                                                    key=f"{key}_train_bars",
                                                    **_init(f"{key}_train_bars", value=2000)))
        windows["test_bars"] = int(c3.number_input("Test bars", 2, 10**7,
                                                   key=f"{key}_test_bars",
                                                   **_init(f"{key}_test_bars", value=500)))
    s1, s2, s3, s4 = st.columns(4)
    select = s1.selectbox("Selection", ["grid", "optuna"], key=f"{key}_select",
                          help="grid: score every set on each train window; optuna: TPE "
                               "proposals over the grid values (seeded)")
    objective = s2.selectbox("Objective", OBJECTIVES, key=f"{key}_objective")
    min_trades = s3.number_input("Min train trades", 0, 10_000, key=f"{key}_min_trades",
                                 **_init(f"{key}_min_trades", value=3))
    trials = s4.number_input("Optuna trials / window", 1, 10_000, key=f"{key}_trials",
                             **_init(f"{key}_trials", value=30), disabled=select != "optuna")
    compound = st.toggle("Compound folds", key=f"{key}_compound",
                         help="Each test window starts with the previous one's final "
                              "equity (default: fresh capital per window)")
    levels = _level_inputs(key, errors)
    config = None
    with st.expander("Execution settings: cash, direction, costs, sizing, stops"):
        st.caption("Stop-loss, take-profit and leverage levels given above replace the "
                   "stop, target and leverage set here.")
        try:
            config = execution_inputs(data["asset_class"], key, data["symbol"])
        except LabError as exc:
            errors.append(f"Execution settings: {exc}")
    if strategies and config is not None and not errors:
        try:
            spec = walk_forward_spec(strategies, config=config, grids=grids,
                                     min_trades=int(min_trades), **levels)
            n_lev = len(spec.exec_levels())
            st.caption("Candidates per train window: " + "; ".join(
                f"{s} {len(spec.parameter_sets(s)):,} sets x {n_lev} levels" for s in strategies))
        except LabError as exc:
            errors.append(str(exc))
    n_bars = None
    try:
        bars = load_bars(data["symbol"], data["timeframe"], data["start"], data["end"],
                         data["version"])
        n_bars = len(bars)
        ws = walk_forward_windows(bars.index, **windows)
        st.caption(window_caption(bars.index, ws))
    except LabError as exc:
        errors.append(str(exc))
    for e in errors:
        st.error(e)
    ok = bool(strategies) and not errors and config is not None and n_bars
    if not strategies:
        st.info("Choose at least one strategy.")
    if st.button("Start walk-forward", type="primary", key=f"{key}_start", disabled=not ok):
        try:
            return WalkForwardSpec(
                data=data["symbol"], timeframe=data["timeframe"],
                start=data["start"].isoformat(), end=data["end"].isoformat(),
                strategies=tuple(strategies), grids=grids, windows=windows, select=select,
                objective=objective, min_trades=int(min_trades), compound=bool(compound),
                n_trials=int(trials) if select == "optuna" else None, seed=0, config=config,
                **levels).to_dict()
        except LabError as exc:
            st.error(f"The walk-forward was not started: {exc}")
    return None


def _level_inputs(key: str, errors: list[str]) -> dict:
    """Stop-loss / take-profit (% of entry, ``off``) and leverage levels to choose from.

    Returns
    -------
    dict
        ``{"sl", "tp", "leverage"}``: tuples (sl/tp as fractions, None = off), or None
        for an empty input (the execution settings' own value). A bad entry is appended
        to ``errors``.
    """
    l1, l2, l3 = st.columns(3)
    texts = {
        "sl": l1.text_input("Stop-loss levels (% of entry)", key=f"{key}_sl_levels",
                            placeholder="from execution settings",
                            help="Chosen per train window with the parameters; "
                                 "comma-separated, 'off' for none: off, 1, 2.5"),
        "tp": l2.text_input("Take-profit levels (% of entry)", key=f"{key}_tp_levels",
                            placeholder="from execution settings", help="As stop-loss"),
        "leverage": l3.text_input("Leverage levels", key=f"{key}_lev_levels",
                                  placeholder="from execution settings",
                                  help="1 = cash account; e.g. 1, 2, 3")}
    out: dict = {}
    for name, text in texts.items():
        out[name] = None
        if text.strip():
            try:
                out[name] = parse_levels(text, {"sl": "Stop-loss", "tp": "Take-profit"}
                                         .get(name, "Leverage"), percent=name != "leverage")
            except LabError as exc:
                errors.append(str(exc))
    return out


def window_caption(index: pd.DatetimeIndex, ws) -> str:
    """``"5 windows: train 2,000 bars (rolling), test 500 bars, 2019-01-01 .. 2020-03-01"``."""
    kind = "anchored, growing" if ws[0].train.start == 0 and len(ws) > 1 and \
        ws[1].train.start == 0 else "rolling"
    return (f"{len(ws)} windows: train {ws[0].train_bars:,} bars ({kind}), test "
            f"{ws[0].test_bars:,} bars each; out of sample "
            f"{index[ws[0].test.start]:%Y-%m-%d} .. {index[ws[-1].test.stop - 1]:%Y-%m-%d}")


# -- jobs ---------------------------------------------------------------------------------
WALK_FORWARD_JOBS = JobWording(
    kind=KIND, title="Walk-forward jobs", unit="windows", result_key="wf_id",
    header=lambda j: f"`{j.result.get('wf_id', '')}`",
    done_text=lambda j: f"{j.total:,} windows in {duration(j.elapsed_s)}",
    resume_label="Restart")


def jobs_panel(key: str = "wf", limit: int = 5) -> None:
    """Walk-forward jobs: progress, ETA and Cancel while active (polled every second);
    when the watched one finishes the page reruns and shows its result."""
    shared_jobs_panel(WALK_FORWARD_JOBS, key, limit)


# -- figures ------------------------------------------------------------------------------
def equity_figure(result: WalkForwardResult) -> go.Figure:
    """Stitched OOS equity per strategy (solid) and the in-sample reference (dotted),
    account currency; test-window starts as vertical lines."""
    fig = go.Figure()
    for i, s in enumerate(result.equity.columns):
        color = f"hsl({(i * 67) % 360},65%,45%)"
        fig.add_scatter(x=result.equity.index, y=result.equity[s], name=f"{s} OOS",
                        line=dict(color=color))
        if s in result.in_sample:
            fig.add_scatter(x=result.in_sample.index, y=result.in_sample[s],
                            name=f"{s} in-sample best", line=dict(color=color, dash="dot"))
    for t in result.windows.drop_duplicates("window")["test_start"]:
        fig.add_vline(x=pd.Timestamp(t), line=dict(color="grey", width=1, dash="dash"))
    fig.update_layout(title="Stitched out-of-sample equity vs in-sample optimum",
                      yaxis_title="equity", height=420, margin=dict(t=50, b=30))
    return fig


def sharpe_scatter(result: WalkForwardResult) -> go.Figure:
    """IS vs OOS Sharpe, one point per window and strategy, with the y = x line."""
    w = result.windows
    fig = go.Figure()
    for s, g in w.groupby("strategy", sort=False):
        fig.add_scatter(x=g["is_sharpe"], y=g["oos_sharpe"], mode="markers", name=s,
                        text=[f"window {k}" for k in g["window"]], marker=dict(size=10))
    vals = pd.concat([w["is_sharpe"], w["oos_sharpe"]]).replace([np.inf, -np.inf], np.nan)
    lo, hi = (float(vals.min()), float(vals.max())) if vals.notna().any() else (-1.0, 1.0)
    fig.add_scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="OOS = IS",
                    line=dict(color="grey", dash="dash"))
    fig.update_layout(title="In-sample vs out-of-sample Sharpe per window",
                      xaxis_title="IS Sharpe (annualized)",
                      yaxis_title="OOS Sharpe (annualized)", height=420,
                      margin=dict(t=50, b=30))
    return fig


def drift_figure(result: WalkForwardResult, strategy: str) -> go.Figure:
    """Chosen parameter values per window (parameter drift) of ``strategy``.

    The levels that were searched (more than one value in ``meta["levels"]``) get panels
    of their own below the strategy's parameters, sharing the window axis: stop-loss and
    take-profit in % of the entry price (0 = off), leverage in x. Windows without a
    chosen candidate are gaps.
    """
    from plotly.subplots import make_subplots

    g = result.windows[result.windows["strategy"] == strategy]
    level_cols = {f"param_{n}" for n in LEVELS}
    meta_levels = result.meta.get("levels") or {}
    searched = [n for n in LEVELS if len(meta_levels.get(n) or []) > 1 and f"param_{n}" in g]
    panels = ["chosen value"]
    if any(n != "leverage" for n in searched):
        panels.append("% of entry")
    if "leverage" in searched:
        panels.append("leverage (x)")
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.6] + [0.4 / max(1, len(panels) - 1)] * (len(panels) - 1))
    for c in [c for c in g.columns if c.startswith("param_") and c not in level_cols
              and g[c].notna().any()]:
        fig.add_scatter(x=g["window"], y=g[c], mode="lines+markers", name=c[6:], row=1, col=1)
    for n in searched:
        v = g[f"param_{n}"].where(g["params"].isna(), g[f"param_{n}"].fillna(0.0))
        pct = n != "leverage"
        row = panels.index("% of entry" if pct else "leverage (x)") + 1
        fig.add_scatter(x=g["window"], y=v * 100 if pct else v, mode="lines+markers",
                        line=dict(dash="dot"), row=row, col=1,
                        name=f"{n} (% of entry, 0 = off)" if pct else f"{n} (x)")
    for i, title in enumerate(panels, start=1):
        fig.update_yaxes(title_text=title, row=i, col=1, rangemode="tozero" if i > 1 else None)
    fig.update_xaxes(dtick=1)
    fig.update_xaxes(title_text="window", row=len(panels), col=1)
    fig.update_layout(title=f"Parameter drift: {strategy}", height=300 + 140 * (len(panels) - 1),
                      margin=dict(t=50, b=80), legend=dict(orientation="h", yanchor="top",
                                                           y=-0.12 - 0.04 * (len(panels) == 1)))
    return fig


# -- results ------------------------------------------------------------------------------
def stored_results(root: str | Path) -> list[str]:
    """Ids of stored walk-forwards, newest first."""
    folder = walk_forward_root(root)
    if not folder.exists():
        return []
    return sorted((p.name for p in folder.iterdir() if (p / "meta.json").exists()),
                  reverse=True)


def tracked_run(root: str | Path, wf_id: str, limit: int = 200) -> str | None:
    """MLflow run id recorded by the job that produced ``wf_id`` (its result's
    ``tracked_run``), else None (not tracked, run from the CLI, or job not found)."""
    try:
        for job in jobs.list_jobs(KIND, limit=limit, root=root):
            if (job.result or {}).get("wf_id") == wf_id:
                return (job.result or {}).get("tracked_run") or None
    except Exception:               # noqa: BLE001 - only a caption depends on it
        return None
    return None


def result_view(root: str | Path, key: str = "wf") -> None:
    """Pick a stored walk-forward and show its leaderboard, equity, scatter, windows and
    parameter drift."""
    ids = stored_results(root)
    if not ids:
        st.info("No walk-forward yet: start one in the first tab.")
        return
    if st.session_state.get(f"{key}_view") not in ids:
        st.session_state[f"{key}_view"] = ids[0]
    wf_id = st.selectbox("Walk-forward", ids, key=f"{key}_view")
    try:
        res = load_walk_forward(walk_forward_root(root) / wf_id)
    except (LabError, OSError, ValueError) as exc:
        st.error(f"Cannot read {wf_id}: {exc}")
        return
    m = res.meta
    st.caption(f"{m['symbol']} {m['timeframe']} · {len(m['windows'])} windows · select "
               f"{m['select']} by {m['objective']} (≥ {m['min_trades']} train trades) · "
               f"{'compounded' if m['compound'] else 'fresh capital per window'}"
               f"{level_caption(m.get('levels') or {})}")
    run_id = tracked_run(root, wf_id)
    if run_id:
        st.caption(f"Recorded in MLflow: run `{run_id}` (experiment "
                   f"`{project_name()}.walkforward`, one child run per strategy)")
    best = res.summary.iloc[0]
    c = st.columns(5)
    c[0].metric("Best strategy", str(best["strategy"]))
    c[1].metric("OOS Sharpe (mean)", _fmt(best["oos_sharpe"], "{:.2f}"))
    c[2].metric("Consistency", _fmt(best["consistency"], "{:.0%}"),
                help="Share of test windows with a positive return")
    c[3].metric("Sharpe decay", _fmt(best["sharpe_decay"], "{:.0%}"),
                help="1 - OOS Sharpe / IS Sharpe")
    c[4].metric("WF efficiency", _fmt(best["wfe"], "{:.2f}"),
                help="OOS annualized return / IS annualized return")
    st.dataframe(res.summary, hide_index=True, key=f"{key}_board",
                 column_config={"consistency": st.column_config.NumberColumn(format="percent"),
                                "oos_return": st.column_config.NumberColumn(format="percent")})
    st.plotly_chart(equity_figure(res), key=f"{key}_equity")
    st.plotly_chart(sharpe_scatter(res), key=f"{key}_scatter")
    st.markdown("**Windows**")
    cols = ["strategy", "window", "train_start", "train_end", "test_start", "test_end",
            "params", "param_sl", "param_tp", "param_leverage", "eligible", "is_sharpe",
            "oos_sharpe", "is_total_return", "oos_total_return", "oos_trades"]
    st.dataframe(res.windows[[c for c in cols if c in res.windows]], hide_index=True,
                 key=f"{key}_windows")
    strategy = st.selectbox("Parameter drift of", list(res.summary["strategy"]),
                            key=f"{key}_drift_strategy")
    st.plotly_chart(drift_figure(res, strategy), key=f"{key}_drift")
    last = last_window_settings(res, str(best["strategy"]), wf_id)
    if last is not None:
        from lab.ui.live_views import start_bot_from

        st.markdown(f"**Last window of {best['strategy']}**: params `{last['params']}`")
        start_bot_from(f"{key}_bot", last)


def last_window_settings(res: WalkForwardResult, strategy: str, wf_id: str) -> dict | None:
    """Settings of ``strategy``'s last walk-forward window (its chosen parameters and
    levels on the walk-forward's execution config), as the Backtest page reads them."""
    import json
    import math

    from lab.core.config import ExecutionConfig

    w = res.windows[res.windows["strategy"] == strategy]
    if not len(w):
        return None
    row = w.sort_values("window").iloc[-1]
    m = res.meta
    config = ExecutionConfig.from_dict(m["config"])
    changes = {}
    for col, name in (("param_sl", "sl"), ("param_tp", "tp"), ("param_leverage", "leverage")):
        if col in row.index:
            v = row[col]
            changes[name] = None if v is None or (isinstance(v, float) and math.isnan(v)) \
                else float(v)
    if changes.get("leverage") is None:
        changes.pop("leverage", None)
    config = config.replace(**changes) if changes else config
    params = row["params"]
    return {"run_id": f"walkforward:{wf_id}", "strategy": strategy,
            "params": json.loads(params) if isinstance(params, str) else dict(params),
            "config": config.to_dict(), "symbol": m["symbol"], "timeframe": m["timeframe"],
            "asset_class": m.get("asset_class"), "start": str(row["test_start"]),
            "end": None}


def level_caption(levels: dict) -> str:
    """``" · levels sl off/2%/4% x tp off/6% x leverage 1/2"`` for the searched level
    lists (more than one value), else ``""``."""
    def fmt(name, v):
        if v is None:
            return "off"
        return f"{v:g}" if name == "leverage" else f"{v * 100:g}%"

    parts = [f"{n} " + "/".join(fmt(n, v) for v in levels[n]) for n in LEVELS
             if len(levels.get(n) or []) > 1]
    return f" · levels {' x '.join(parts)}" if parts else ""


def _fmt(v, pattern: str) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "n/a"
    return pattern.format(f) if np.isfinite(f) else "n/a"
