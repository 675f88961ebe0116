"""Input widgets shared by the pages. Each returns plain values or lab configs."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from lab.api import default_commission
from lab.core import registry
from lab.core.config import Commission, ExecutionConfig
from lab.core.types import TIMEFRAME_SECONDS, CommissionModel
from lab.ui.cache import datasets

_ASSET_LABELS = {"equity": "stock", "index": "index", "fx": "FX", "crypto": "crypto",
                 "future": "future"}


def timeframe_choices(stored: list[str]) -> list[str]:
    """Stored timeframes plus every coarser one they can be resampled to."""
    finest = min(TIMEFRAME_SECONDS[t] for t in stored)
    return [t for t, sec in TIMEFRAME_SECONDS.items()
            if t in stored or (sec > finest and sec % finest == 0)]


def data_picker(key: str = "data") -> dict:
    """Symbol, timeframe and date range from the catalog.

    Returns
    -------
    dict
        ``symbol``, ``timeframe``, ``start``, ``end`` (UTC Timestamps), ``asset_class``,
        ``version`` (stored fingerprint, for cache keys), ``description``.
    """
    ds = datasets()
    if ds.empty:
        st.warning("The data store is empty. Upload a CSV or Parquet file on the Data page.")
        st.stop()
    symbols = sorted(ds["symbol"].unique())
    meta = ds.drop_duplicates("symbol").set_index("symbol")

    def label(sym: str) -> str:
        row = meta.loc[sym]
        return f"{sym} · {_ASSET_LABELS.get(row['asset_class'], row['asset_class'])}"

    c1, c2, c3 = st.columns([2, 1, 2])
    default_symbol = st.session_state.get(f"{key}_symbol", "BTCUSD_COINBASE")
    symbol = c1.selectbox("Symbol", symbols, format_func=label, key=f"{key}_symbol",
                          index=symbols.index(default_symbol) if default_symbol in symbols else 0)
    rows = ds[ds["symbol"] == symbol]
    stored = rows["timeframe"].tolist()
    choices = timeframe_choices(stored)
    timeframe = c2.selectbox("Timeframe", choices, key=f"{key}_tf",
                             index=choices.index(min(stored, key=TIMEFRAME_SECONDS.get)),
                             help="Coarser than stored = resampled from the stored bars")
    source = rows[rows["timeframe"] == timeframe]
    if source.empty:          # resampled: the range of the finest stored timeframe
        source = rows.loc[[rows["timeframe"].map(TIMEFRAME_SECONDS).idxmin()]]
    first = pd.Timestamp(source["start"].min())
    last = pd.Timestamp(source["end"].max())
    picked = c3.date_input("Date range (UTC)", value=(first.date(), last.date()),
                           min_value=first.date(), max_value=last.date(),
                           key=f"{key}_range_{symbol}_{timeframe}")
    start_d, end_d = (picked if isinstance(picked, (tuple, list)) and len(picked) == 2
                      else (first.date(), last.date()))
    start = pd.Timestamp(start_d, tz="UTC")
    end = pd.Timestamp(end_d, tz="UTC") + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    src = rows.iloc[0]
    return {"symbol": symbol, "timeframe": timeframe, "start": start, "end": end,
            "asset_class": src["asset_class"], "version": "|".join(rows["fingerprint"]),
            "description": src.get("description", "")}


def strategy_picker(key: str = "strategy") -> tuple[str, dict]:
    """Strategy selectbox and one input per parameter.

    Returns
    -------
    (str, dict)
        Strategy name and raw parameter values (validated by the caller).
    """
    specs = {s.name: s for s in registry.all_strategies()}
    names = list(specs)
    default = st.session_state.get(f"{key}_name", "sma_cross")
    name = st.selectbox("Strategy", names, key=f"{key}_name",
                        index=names.index(default) if default in names else 0,
                        format_func=lambda n: f"{n} ({specs[n].family})")
    spec = specs[name]
    if spec.description:
        st.caption(spec.description)
    params = {}
    pspecs = spec.params_cls.specs()
    cols = st.columns(max(1, min(4, len(pspecs)))) if pspecs else []
    for i, ps in enumerate(pspecs):
        col = cols[i % len(cols)]
        if ps.kind is int:
            params[ps.name] = col.number_input(
                ps.name, min_value=int(ps.low), max_value=int(ps.high), value=int(ps.default),
                step=max(1, int(ps.step)), help=ps.help, key=f"{key}_{name}_{ps.name}")
        else:
            params[ps.name] = col.number_input(
                ps.name, min_value=float(ps.low), max_value=float(ps.high),
                value=float(ps.default), step=float(ps.step), help=ps.help,
                key=f"{key}_{name}_{ps.name}", format="%.4g")
    return name, params


def execution_inputs(asset_class: str, key: str = "exec") -> ExecutionConfig:
    """Cash, direction, leverage, stops, costs and sizing as an ``ExecutionConfig``."""
    c1, c2, c3, c4 = st.columns(4)
    cash = c1.number_input("Cash", min_value=100.0, value=10_000.0, step=1_000.0,
                           key=f"{key}_cash", help="Starting equity, account currency")
    direction = c2.radio("Direction", ["long", "short", "both"], horizontal=True,
                         key=f"{key}_direction")
    leverage = c3.slider("Leverage", 1, 50, 1, key=f"{key}_leverage",
                         help="1 = cash account; above 1, margin = notional / leverage")
    size = c4.slider("Position size (% of equity)", 1, 100, 100, key=f"{key}_size") / 100.0
    s1, s2 = st.columns(2)
    sl = s1.slider("Stop-loss (% of entry, 0 = off)", 0.0, 20.0, 0.0, 0.25, key=f"{key}_sl")
    tp = s2.slider("Take-profit (% of entry, 0 = off)", 0.0, 50.0, 0.0, 0.5, key=f"{key}_tp")
    k1, k2, k3 = st.columns(3)
    base = default_commission(asset_class)
    models = [m.value for m in CommissionModel]
    model = CommissionModel(k1.selectbox("Commission model", models,
                                         index=models.index(base.model.value),
                                         key=f"{key}_cmodel"))
    preset = default_commission(asset_class, model)
    if model is CommissionModel.PERCENT:
        rate = k2.number_input("Commission (% of notional)", 0.0, 5.0, preset.rate * 100,
                               0.01, format="%.4f", key=f"{key}_crate_{model.value}") / 100
    else:
        unit = "share" if model is CommissionModel.PER_SHARE else "contract"
        rate = k2.number_input(f"Commission (per {unit})", 0.0, 100.0, preset.rate, 0.001,
                               format="%.4f", key=f"{key}_crate_{model.value}")
    slippage_bps = k3.number_input("Slippage (bps)", 0.0, 500.0, 0.0, 0.5,
                                   key=f"{key}_slip", help="1 bp = 0.01 % of price, on market fills")
    with st.expander("Advanced: sizing, contract, margin, stop/target rule"):
        a1, a2, a3, a4 = st.columns(4)
        size_type = a1.selectbox("Sizing", ["equity_fraction", "quantity", "notional"],
                                 key=f"{key}_size_type")
        fixed = a2.number_input("Quantity or notional", min_value=0.0001, value=1.0,
                                key=f"{key}_fixed",
                                help="Used when sizing is quantity (units) or notional (currency)")
        whole = a3.checkbox("Whole units only", value=False, key=f"{key}_whole")
        multiplier = a4.number_input("Contract multiplier", min_value=0.0001, value=1.0,
                                     key=f"{key}_mult")
        b1, b2, b3, b4 = st.columns(4)
        mm = b1.number_input("Maintenance margin (%)", 0.0, 50.0, 0.5, 0.1,
                             key=f"{key}_mm") / 100
        both_hit = b2.selectbox("Bar touches stop and target", ["stop_first", "target_first",
                                                                 "nearest_to_open"],
                                key=f"{key}_both")
        cmin = b3.number_input("Commission minimum", 0.0, 1000.0, preset.minimum,
                               key=f"{key}_cmin_{model.value}")
        cmax = b4.number_input("Commission cap (% of notional, 0 = none)", 0.0, 100.0,
                               preset.maximum_fraction * 100, key=f"{key}_cmax_{model.value}") / 100
    return ExecutionConfig(
        cash=cash, direction=direction, leverage=float(leverage),
        maintenance_margin=min(mm, 0.999 / leverage),
        sl=sl / 100 if sl > 0 else None, tp=tp / 100 if tp > 0 else None,
        both_hit=both_hit, commission=Commission(model, rate, cmin, cmax),
        slippage=slippage_bps / 10_000, multiplier=multiplier,
        size_type=size_type, size=size if size_type == "equity_fraction" else fixed,
        whole_units=whole)


def date_caption(start: dt.date | pd.Timestamp, end: dt.date | pd.Timestamp) -> str:
    """'2017-07-01 → 2019-10-17' for captions."""
    return f"{pd.Timestamp(start):%Y-%m-%d} → {pd.Timestamp(end):%Y-%m-%d}"
