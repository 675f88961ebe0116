"""Sweep page, part 1: the form that builds a ``SweepSpec`` and the live jobs panel.

The form only collects values and builds the spec (its row count is shown before
anything runs); the work runs in a ``lab.jobs`` runner process, which the panel watches
with ``st.fragment(run_every=1)`` and which outlives the tab and the server.
"""

from __future__ import annotations

import math

import os

import numpy as np
import pandas as pd
import streamlit as st

from lab.core import registry
from lab.core.errors import ConfigError, LabError
from lab.core.types import TIMEFRAME_SECONDS
from lab.research.sweep import SweepSpec
from lab.research.sweep.plan import estimate
from lab.ui.inputs import parse_levels, split_list
from lab.ui.jobs_panel import JobWording, duration
from lab.ui.jobs_panel import jobs_panel as shared_jobs_panel
from lab.ui.cache import datasets
from lab.ui.widgets import execution_inputs, stored_range, timeframe_choices

#: Sweep engines (Backtrader is event-driven and too slow for grids).
SWEEP_ENGINES = ("vectorized", "vectorbt")

def _init(key: str, **default) -> dict:
    """The default-value keyword of a widget unless Session State already holds it."""
    return {} if key in st.session_state else default


def sweepable() -> dict:
    """Registered signal strategies by name (native Backtrader ones cannot be swept)."""
    return {s.name: s for s in registry.all_strategies() if not s.is_native}


def grid_values(start: float, stop: float, step: float, values: str, is_int: bool,
                what: str) -> tuple:
    """Grid of one parameter: the listed ``values`` when given, else start..stop by step.

    Raises
    ------
    ConfigError
        A step <= 0, a stop below the start, or a listed value that is not a number.
    """
    if values.strip():
        try:
            return tuple(float(v) for v in split_list(values))
        except ValueError:
            raise ConfigError(f"{what}: values must be numbers separated by commas") from None
    if step <= 0:
        raise ConfigError(f"{what}: the step must be above 0")
    if stop < start:
        raise ConfigError(f"{what}: stop ({stop:g}) is below start ({start:g})")
    n = int(np.floor((stop - start) / step + 1e-9)) + 1
    grid = start + step * np.arange(n)
    return tuple(int(round(v)) for v in grid) if is_int else tuple(round(float(v), 10)
                                                                  for v in grid)


def grid_summary(grid: dict) -> str:
    """``"fast 2..100 (50) x slow 10..400 (40)"`` for a strategy's swept values."""
    def one(name, values) -> str:
        if len(values) == 1:
            return f"{name} {values[0]:g}"
        return f"{name} {min(values):g}..{max(values):g} ({len(values)})"

    return " x ".join(one(k, v) for k, v in grid.items()) or "no parameters"


def _data_inputs(key: str) -> dict:
    ds = datasets()
    if ds.empty:
        st.warning("The data store is empty. Upload a CSV or Parquet file on the Data page.")
        st.stop()
    symbols = sorted(ds["symbol"].unique())
    kind = ds.drop_duplicates("symbol").set_index("symbol")["asset_class"]
    c1, c2, c3 = st.columns([3, 1, 2])
    default = [s for s in ("BTCUSD_COINBASE",) if s in symbols] or symbols[:1]
    chosen = c1.multiselect("Symbols", symbols, key=f"{key}_symbols",
                            format_func=lambda s: f"{s} · {kind[s]}",
                            **_init(f"{key}_symbols", default=default),
                            help="Every symbol runs the whole grid at one timeframe")
    if not chosen:
        st.info("Choose at least one symbol.")
        return {}
    rows = ds[ds["symbol"].isin(chosen)]
    per = [set(timeframe_choices(rows[rows["symbol"] == s]["timeframe"].tolist()))
           for s in chosen]
    common = sorted(set.intersection(*per), key=TIMEFRAME_SECONDS.get)
    if not common:
        st.error("These symbols share no timeframe; sweep them separately.")
        return {}
    if st.session_state.get(f"{key}_tf") not in common:
        st.session_state.pop(f"{key}_tf", None)
    tf = c2.selectbox("Timeframe", common, key=f"{key}_tf",
                      help="Coarser than stored = resampled from the stored bars")
    spans = [stored_range(rows[rows["symbol"] == s], tf) for s in chosen]
    first = max(a for a, _ in spans)        # of the chosen timeframe, not the daily data
    last = min(b for _, b in spans)
    if first > last:
        st.error("These symbols' date ranges do not overlap; sweep them separately.")
        return {}
    rkey = f"{key}_range_{'_'.join(chosen)}_{tf}"
    picked = c3.date_input("Date range (UTC, common to all)", min_value=first.date(),
                           max_value=last.date(), key=rkey,
                           **_init(rkey, value=(first.date(), last.date())))
    lo, hi = (picked if isinstance(picked, (tuple, list)) and len(picked) == 2
              else (first.date(), last.date()))
    end = pd.Timestamp(hi, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    return {"symbols": tuple((s, tf) for s in chosen), "asset_class": kind[chosen[0]],
            "start": pd.Timestamp(lo, tz="UTC").isoformat(), "end": end.isoformat()}


def _grid_inputs(spec, key: str) -> dict:
    grid = {}
    for ps in spec.params_cls.specs():
        k = f"{key}_g_{spec.name}_{ps.name}"
        is_int = ps.kind is int
        cast = int if is_int else float
        fmt = {} if is_int else {"format": "%.4g"}
        c0, c1, c2, c3, c4 = st.columns([1.2, 1, 1, 1, 2])
        c0.markdown(f"**{ps.name}**", help=(f"{ps.help}. Default search range "
                                            f"{ps.low:g}-{ps.high:g}; any value that "
                                            "makes sense is allowed"))
        lo, hi = (cast(v) if math.isfinite(v) else None for v in ps.valid)
        start = c1.number_input("start", lo, hi, key=f"{k}_start",
                                step=cast(ps.step), **fmt, **_init(f"{k}_start",
                                                                   value=cast(ps.low)))
        stop = c2.number_input("stop", lo, hi, key=f"{k}_stop",
                               step=cast(ps.step), **fmt, **_init(f"{k}_stop",
                                                                  value=cast(ps.high)))
        step = c3.number_input("step", cast(0) if not is_int else 1, key=f"{k}_step",
                               step=cast(ps.step), **fmt,
                               **_init(f"{k}_step", value=cast(ps.step)))
        values = c4.text_input("or values", key=f"{k}_values", placeholder="e.g. 10, 20, 50",
                               help="Comma-separated values; when filled they replace "
                                    "start/stop/step")
        grid[ps.name] = grid_values(start, stop, step, values, is_int,
                                    f"{spec.name}.{ps.name}")
    return grid


def sweep_form(key: str = "sw") -> dict | None:
    """Inputs of a sweep; shows its size and the Start button.

    Returns
    -------
    dict or None
        ``{"spec": SweepSpec, "workers": int | None}`` when Start was clicked with a
        valid sweep, else None.
    """
    data = _data_inputs(key)
    specs = sweepable()
    names = list(specs)
    strategies = st.multiselect("Strategies", names, key=f"{key}_strategies",
                                format_func=lambda n: f"{n} ({specs[n].family})",
                                **_init(f"{key}_strategies", default=["sma_cross"]))
    errors, grids = [], {}
    for name in strategies:
        with st.expander(f"Grid of {name}: {specs[name].description}", expanded=False):
            try:
                grids[name] = _grid_inputs(specs[name], key)
            except LabError as exc:
                errors.append(str(exc))
    l1, l2, l3, l4 = st.columns(4)
    sl_text = l1.text_input("Stop-loss levels (% of entry)", key=f"{key}_sl_levels",
                            **_init(f"{key}_sl_levels", value="off"),
                            help="Comma-separated, 'off' for none: off, 1, 2.5")
    tp_text = l2.text_input("Take-profit levels (% of entry)", key=f"{key}_tp_levels",
                            **_init(f"{key}_tp_levels", value="off"))
    lev_text = l3.text_input("Leverage levels", key=f"{key}_lev_levels",
                             **_init(f"{key}_lev_levels", value="1"),
                             help="1 = cash account; e.g. 1, 2, 3")
    min_trades = l4.number_input("Min trades to rank", 0, 10_000, key=f"{key}_min_trades",
                                 **_init(f"{key}_min_trades", value=3))
    config = None
    with st.expander("Base execution settings: cash, direction, costs, sizing"):
        st.caption("The sweep's stop-loss, take-profit and leverage levels above replace "
                   "the stop, target and leverage sliders here."
                   + (" The contract settings (multiplier, tick, margins, fees) are "
                      "filled from the first symbol's spec and apply to every symbol."
                      if len(data.get("symbols") or ()) > 1 else ""))
        try:
            config = execution_inputs(data.get("asset_class", "equity"), key,
                                      data["symbols"][0][0] if data.get("symbols") else None)
        except LabError as exc:
            errors.append(f"Execution settings: {exc}")
    e1, e2 = st.columns(2)
    engine = e1.selectbox("Engine", SWEEP_ENGINES, key=f"{key}_engine",
                          help="vectorized: numba sweep kernel, full semantics; vectorbt: "
                               "Portfolio.from_signals (no leverage)")
    cores = os.cpu_count() or 1
    workers = e2.selectbox("Workers", ["auto", *range(1, cores + 1)], key=f"{key}_workers",
                           format_func=lambda w: f"auto (the runner process, kernel on all "
                                                 f"{cores} cores)" if w == "auto" else
                           f"{w} local Dask worker process{'es' if w > 1 else ''}",
                           help="auto uses the least memory (one process, bounded by two "
                                "chunks) and is as fast on one machine; Dask workers each "
                                "load their own copy of the libraries (~400 MB)")
    spec = None
    if data and strategies and not errors and config is not None:
        try:
            spec = SweepSpec(strategies=tuple(strategies), symbols=data["symbols"],
                             grids=grids, sl=parse_levels(sl_text, "Stop-loss"),
                             tp=parse_levels(tp_text, "Take-profit"),
                             leverage=parse_levels(lev_text, "Leverage", percent=False),
                             start=data["start"], end=data["end"], config=config,
                             engine=engine, min_trades=int(min_trades))
        except LabError as exc:
            errors.append(str(exc))
    for e in errors:
        st.error(e)
    count = spec.count() if spec is not None else {"total": 0, "per_strategy": {},
                                                   "dropped_invalid": 0}
    m1, m2, m3 = st.columns([1, 1, 3])
    m1.metric("Parameter sets", f"{count['total']:,}",
              help="Result rows: parameter sets x SL x TP x leverage x symbols, after "
                   "dropping invalid combinations")
    m2.metric("Dropped as invalid", f"{count['dropped_invalid']:,}",
              help="Combinations that break a strategy's rule (e.g. fast >= slow) or an "
                   "invalid leverage level")
    if spec is None:
        m3.caption("Choose symbols and strategies to size the sweep.")
    for name, rows in count["per_strategy"].items():
        m3.caption(f"**{name}**: {grid_summary(spec.grid_values(name))} → {rows:,} rows")
    confirmed = True
    if spec is not None and count["dropped_invalid"]:
        reasons = "; ".join(spec.invalid_reasons())
        if count["total"] == 0:
            st.error(f"No valid parameter set, nothing can run: {reasons}. Change those "
                     "values.")
        else:
            st.caption(f"{count['dropped_invalid']:,} rows dropped as invalid: {reasons}")
    if spec is not None and count["total"]:
        est = estimate(spec, {(s, tf): _stored_rows(s, tf) for s, tf in spec.symbols},
                       cores if workers == "auto" else max(1, int(workers)))
        st.caption(f"Estimate: {est['text']} (stored bars; a date range runs fewer).")
        if est["confirm"]:
            confirmed = st.checkbox(f"Yes, start this large sweep ({est['sets']:,} sets)",
                                    key=f"{key}_confirm_large", value=False)
    clicked = st.button("Start sweep", type="primary", key=f"{key}_start",
                        disabled=spec is None or count["total"] == 0 or not confirmed)
    if clicked and spec is not None:
        return {"spec": spec, "workers": None if workers == "auto" else int(workers)}
    return None


SWEEP_JOBS = JobWording(
    kind="sweep", title="Sweep jobs", unit="sets", result_key="sweep_id",
    header=lambda j: f"sweep `{j.result.get('sweep_id', '')}` · attempt {j.attempts}",
    done_text=lambda j: f"{j.total:,} sets in {duration(j.elapsed_s)}",
    stopped_text=lambda j: f"{j.done:,} / {j.total:,} sets finished and kept",
    show_rate=True)


def jobs_panel(key: str = "sw", limit: int = 5) -> None:
    """Active sweeps with progress, ETA and Cancel; the latest finished ones with Resume.
    When the watched sweep finishes the page reruns and shows its leaderboard."""
    shared_jobs_panel(SWEEP_JOBS, key, limit)


def _stored_rows(symbol: str, timeframe: str) -> int:
    """Stored bars of a series (0 when a coarser timeframe is resampled on load)."""
    ds = datasets()
    rows = ds.loc[(ds["symbol"] == symbol) & (ds["timeframe"] == timeframe), "rows"]
    if len(rows):
        return int(rows.iloc[0])
    finest = ds.loc[ds["symbol"] == symbol]
    if finest.empty:
        return 0
    base = finest.iloc[0]
    ratio = TIMEFRAME_SECONDS.get(str(base["timeframe"]), 1) / TIMEFRAME_SECONDS.get(timeframe, 1)
    return int(int(base["rows"]) * min(1.0, ratio))
