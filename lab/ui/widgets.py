"""Input widgets shared by the pages. Each returns plain values or lab configs."""

from __future__ import annotations

import contextlib
import datetime as dt
import math

import pandas as pd
import streamlit as st

from lab.api import default_commission
from lab.core import registry
from lab.core.config import Commission, ExecutionConfig
from lab.core.types import TIMEFRAME_SECONDS, CommissionModel
from lab.costs import find_instrument
from lab.ui.cache import datasets

def _init(key: str, **default) -> dict:
    """The default-value keyword for a widget, unless Session State already holds its
    value (set by the user, or by ``apply_reopen``); passing both makes Streamlit warn."""
    return {} if key in st.session_state else default


_ASSET_LABELS = {"equity": "stock", "index": "index", "fx": "FX", "crypto": "crypto",
                 "future": "future"}


def timeframe_choices(stored: list[str]) -> list[str]:
    """Stored timeframes plus every coarser one they can be resampled to."""
    finest = min(TIMEFRAME_SECONDS[t] for t in stored)
    return [t for t, sec in TIMEFRAME_SECONDS.items()
            if t in stored or (sec > finest and sec % finest == 0)]


def stored_range(rows: pd.DataFrame, timeframe: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last bar time of one symbol at ``timeframe``: of that stored dataset,
    or, when it is resampled, of the finest stored one it is built from.

    Parameters
    ----------
    rows : DataFrame
        The catalog's rows of one symbol (``timeframe``, ``start``, ``end``).
    """
    source = rows[rows["timeframe"] == timeframe]
    if source.empty:
        finer = rows[rows["timeframe"].map(TIMEFRAME_SECONDS)
                     .apply(lambda s: TIMEFRAME_SECONDS[timeframe] % s == 0)]
        finer = finer if not finer.empty else rows
        source = finer.loc[[finer["timeframe"].map(TIMEFRAME_SECONDS).idxmax()]]
    return pd.Timestamp(source["start"].min()), pd.Timestamp(source["end"].max())


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
    if st.session_state.get(f"{key}_symbol") not in symbols:
        st.session_state.pop(f"{key}_symbol", None)
    symbol = c1.selectbox("Symbol", symbols, format_func=label, key=f"{key}_symbol",
                          **_init(f"{key}_symbol", index=symbols.index("BTCUSD_COINBASE")
                                  if "BTCUSD_COINBASE" in symbols else 0))
    rows = ds[ds["symbol"] == symbol]
    stored = rows["timeframe"].tolist()
    choices = timeframe_choices(stored)
    tf_key = f"{key}_tf_{symbol}"          # one per symbol: the choices differ
    if st.session_state.get(tf_key) not in choices:
        st.session_state.pop(tf_key, None)
    timeframe = c2.selectbox("Timeframe", choices, key=tf_key,
                             **_init(tf_key, index=choices.index(
                                 min(stored, key=TIMEFRAME_SECONDS.get))),
                             help="Coarser than stored = resampled from the stored bars")
    first, last = stored_range(rows, timeframe)
    range_key = f"{key}_range_{symbol}_{timeframe}"
    picked = c3.date_input("Date range (UTC)", min_value=first.date(), max_value=last.date(),
                           key=range_key, **_init(range_key, value=(first.date(), last.date())))
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
    if st.session_state.get(f"{key}_name") not in names:
        st.session_state.pop(f"{key}_name", None)
    name = st.selectbox("Strategy", names, key=f"{key}_name",
                        **_init(f"{key}_name", index=names.index("sma_cross")
                                if "sma_cross" in names else 0),
                        format_func=lambda n: f"{n} ({specs[n].family})")
    spec = specs[name]
    if spec.description:
        st.caption(spec.description)
    params = {}
    pspecs = spec.params_cls.specs()
    cols = st.columns(max(1, min(4, len(pspecs)))) if pspecs else []
    for i, ps in enumerate(pspecs):
        col = cols[i % len(cols)]
        k = f"{key}_{name}_{ps.name}"
        lo, hi = ps.valid                 # what makes sense, not the search range
        hint = f"{ps.help}. Search range {ps.low:g}-{ps.high:g}; any value that makes " \
               "sense is allowed"
        if ps.kind is int:
            params[ps.name] = col.number_input(
                ps.name, min_value=int(lo) if math.isfinite(lo) else None,
                max_value=int(hi) if math.isfinite(hi) else None,
                step=max(1, int(ps.step)), help=hint, key=k,
                **_init(k, value=int(ps.default)))
        else:
            params[ps.name] = col.number_input(
                ps.name, min_value=float(lo) if math.isfinite(lo) else None,
                max_value=float(hi) if math.isfinite(hi) else None,
                step=float(ps.step), help=hint, key=k, format="%.4g",
                **_init(k, value=float(ps.default)))
    return name, params


def _kept(col, kind: str, label: str, key: str, default, **kw):
    """The value of a widget in a container drawn only while open: the widget ``kind``
    (``"number_input"``, ``"selectbox"`` with ``options``, ``"checkbox"``) drawn in
    ``col``, starting at ``default``; with ``col`` None (the container is closed), the
    value the widget keeps while hidden (``persist_state``), else ``default``."""
    if col is None:
        return st.session_state.get(key, default)
    start = ({"index": list(kw["options"]).index(default)} if kind == "selectbox"
             else {"value": default})
    return getattr(col, kind)(label, key=key, persist_state="page", **kw,
                              **_init(key, **start))


def contract_defaults(spec) -> dict:
    """Contract settings of ``spec`` (``lab.costs.find_instrument``; None: a plain
    instrument), floats: multiplier, tick size, initial and maintenance margin per
    contract (account currency), exchange fee per contract and SEC fee (fraction of
    sales)."""
    c = {"multiplier": 1.0, "tick_size": 0.0, "initial_margin": 0.0,
         "maintenance_per_contract": 0.0, "exchange_fee": 0.0, "sec_fee": 0.0}
    if spec is not None:
        c.update(multiplier=spec.multiplier, tick_size=spec.tick_size,
                 exchange_fee=spec.exchange_fee, sec_fee=spec.sec_fee_rate)
        if spec.is_future:
            c.update(initial_margin=spec.initial_margin,
                     maintenance_per_contract=spec.maintenance_margin)
    return {name: float(v) for name, v in c.items()}


def _spec_inputs(spec, sym: str, k, shown: bool = True) -> dict:
    """Contract inputs (multiplier, tick, margins per contract, exchange and SEC fees),
    pre-filled from the instrument registry when ``spec`` is known; keys per symbol so
    that switching symbols refills them. Not drawn (their kept values or the defaults
    are used) unless ``shown``."""
    c = contract_defaults(spec)
    if shown and spec is not None:
        margin = (f", margins {spec.initial_margin:,.0f} / {spec.maintenance_margin:,.0f} "
                  f"{spec.currency} per contract as of {spec.margin_as_of}"
                  if spec.initial_margin else "")
        st.caption(f"Instrument spec: {spec.name} ({spec.exchange}), multiplier "
                   f"{spec.multiplier:g}, tick {spec.tick_size:g}{margin}. Source: "
                   f"lab.costs.instruments; edit below for today's figures.")
    cols = st.columns(6) if shown else [None] * 6

    def num(col, name: str, short: str, label: str, scale: float = 1.0, **kw) -> float:
        return _kept(col, "number_input", label, k(f"{short}_{sym}"), c[name] * scale,
                     **kw) / scale

    return {
        "multiplier": num(cols[0], "multiplier", "mult", "Contract multiplier",
                          min_value=0.0001),
        "tick_size": num(cols[1], "tick_size", "tick", "Tick size (0 = off)",
                         min_value=0.0, format="%.5g",
                         help="Stop and target prices are rounded to the nearest tick"),
        "initial_margin": num(
            cols[2], "initial_margin", "im", "Initial margin / contract (0 = off)",
            min_value=0.0, step=100.0,
            help="Futures: margin = contracts x initial margin sizes the entry; leverage "
                 "must be 1. The position is closed when equity falls to contracts x "
                 "maintenance margin"),
        "maintenance_per_contract": num(
            cols[3], "maintenance_per_contract", "mmpc", "Maintenance margin / contract",
            min_value=0.0, step=100.0, help="0 = initial margin / 1.1 (CME ratio)"),
        "exchange_fee": num(cols[4], "exchange_fee", "xfee", "Exchange fee / contract",
                            min_value=0.0, step=0.01,
                            help="Exchange + clearing + regulatory fees per contract per "
                                 "fill"),
        "sec_fee": num(cols[5], "sec_fee", "sec", "SEC fee per $1M sold",
                       scale=1_000_000, min_value=0.0, step=0.1,
                       help="US stocks: 27.80 per $1,000,000 of sales (IB fee schedule)"),
    }


def execution_inputs(asset_class: str, key: str = "exec",
                     symbol: str | None = None) -> ExecutionConfig:
    """Cash, direction, leverage, stops, costs, sizing, minimum order value and the
    contract (multiplier, tick, futures margins, exchange and SEC fees) as an
    ``ExecutionConfig``. The contract inputs start from the instrument registry's spec
    of ``symbol`` (``lab.costs.find_instrument``) when it knows it.

    Raises
    ------
    ConfigError
        When the combination is invalid (the page shows the message).
    """
    k = lambda name: f"{key}_{name}"  # noqa: E731
    spec = find_instrument(symbol, asset_class) if symbol else None
    sym = symbol or ""
    c1, c2, c3, c4 = st.columns(4)
    cash = c1.number_input("Cash (account currency)", min_value=100.0, step=1_000.0, key=k("cash"),
                           help="Starting equity, account currency",
                           **_init(k("cash"), value=10_000.0))
    direction = c2.radio("Direction", ["long", "short", "both"], horizontal=True,
                         key=k("direction"), **_init(k("direction"), index=0))
    leverage = c3.slider("Leverage (x)", 1.0, 50.0, step=0.5, key=k("leverage"),
                         help="1 = cash account; above 1, margin = notional / leverage",
                         **_init(k("leverage"), value=1.0))
    size = c4.slider("Position size (% of equity)", 1, 100, key=k("size"),
                     **_init(k("size"), value=100)) / 100.0
    s1, s2 = st.columns(2)
    sl = s1.slider("Stop-loss (% of entry, 0 = off)", 0.0, 20.0, step=0.25, key=k("sl"),
                   **_init(k("sl"), value=0.0))
    tp = s2.slider("Take-profit (% of entry, 0 = off)", 0.0, 50.0, step=0.5, key=k("tp"),
                   **_init(k("tp"), value=0.0))
    k1, k2, k3 = st.columns(3)
    base = default_commission(asset_class)
    models = [m.value for m in CommissionModel]
    model = CommissionModel(k1.selectbox("Commission model", models, key=k("cmodel"),
                                         **_init(k("cmodel"),
                                                 index=models.index(base.model.value))))
    preset = default_commission(asset_class, model)
    rate_key = k(f"crate_{model.value}")
    if model is CommissionModel.PERCENT:
        rate = k2.number_input("Commission (% of notional)", 0.0, 5.0, step=0.01,
                               format="%.4f", key=rate_key,
                               **_init(rate_key, value=preset.rate * 100)) / 100
    else:
        unit = "share" if model is CommissionModel.PER_SHARE else "contract"
        rate = k2.number_input(f"Commission (account currency per {unit})", 0.0, 100.0, step=0.001,
                               format="%.4f", key=rate_key, **_init(rate_key, value=preset.rate))
    slippage_bps = k3.number_input("Slippage (bps)", 0.0, 500.0, step=0.5, key=k("slip"),
                                   help="1 bp = 0.01 % of price, on market fills",
                                   **_init(k("slip"), value=0.0))
    # Drawn only while open (a page that re-runs on every slider change does not
    # rebuild its hidden widgets each time); their values persist while it is closed.
    adv = st.expander("Advanced: sizing, minimum order, contract, margin, stop/target rule",
                      key=k("advanced"), on_change="rerun")
    shown = adv.open
    with adv if shown else contextlib.nullcontext():
        a = st.columns(4) if shown else [None] * 4
        size_type = _kept(a[0], "selectbox", "Sizing", k("size_type"), "equity_fraction",
                          options=["equity_fraction", "quantity", "notional"])
        fixed = _kept(a[1], "number_input", "Quantity or notional", k("fixed"), 1.0,
                      min_value=0.0001,
                      help="Used when sizing is quantity (units) or notional (currency)")
        whole = _kept(a[2], "checkbox", "Whole units only", k(f"whole_{sym}"),
                      bool(spec is not None and spec.qty_step == 1.0))
        min_notional = _kept(
            a[3], "number_input", "Minimum order value (0 = off)", k("min_notional"), 0.0,
            min_value=0.0, step=1.0,
            help="Account currency. An entry worth less (quantity x price x multiplier) is "
                 "not placed, as an exchange's minimum notional (Binance: 5-10 USDT); "
                 "exits always fill")
        b = st.columns(4) if shown else [None] * 4
        mm = _kept(b[0], "number_input", "Maintenance margin (%)", k("mm"), 0.5,
                   min_value=0.0, max_value=50.0, step=0.1) / 100
        both_hit = _kept(b[1], "selectbox", "Bar touches stop and target", k("both"),
                         "stop_first",
                         options=["stop_first", "target_first", "nearest_to_open"])
        contract = _spec_inputs(spec, sym, k, shown)
        cmin = _kept(b[2], "number_input", "Commission minimum (account currency per order)",
                     k(f"cmin_{model.value}"), preset.minimum, min_value=0.0,
                     max_value=1000.0,
                     help="Applies only while the commission rate is above 0")
        cmax = _kept(b[3], "number_input", "Commission cap (% of notional, 0 = none)",
                     k(f"cmax_{model.value}"), preset.maximum_fraction * 100, min_value=0.0,
                     max_value=100.0) / 100
    return ExecutionConfig(
        cash=cash, direction=direction, leverage=float(leverage),
        maintenance_margin=min(mm, 0.999 / leverage),
        sl=sl / 100 if sl > 0 else None, tp=tp / 100 if tp > 0 else None,
        both_hit=both_hit, commission=Commission(model, rate, cmin, cmax),
        slippage=slippage_bps / 10_000, multiplier=float(contract["multiplier"]),
        size_type=size_type, size=size if size_type == "equity_fraction" else fixed,
        whole_units=whole, min_notional=float(min_notional),
        initial_margin=float(contract["initial_margin"]),
        maintenance_per_contract=float(contract["maintenance_per_contract"]),
        tick_size=float(contract["tick_size"]), exchange_fee=float(contract["exchange_fee"]),
        sec_fee=float(contract["sec_fee"]))


def reopen_state(run: dict, key: str = "bt") -> dict:
    """Session State values that put a recorded run's exact settings into the widgets
    of ``data_picker``, ``strategy_picker`` and ``execution_inputs`` (prefix ``key``).

    Parameters
    ----------
    run : dict
        ``strategy``, ``params`` (dict), ``config`` (``ExecutionConfig.to_dict()``),
        ``symbol``, ``timeframe``, ``start``, ``end`` (ISO or Timestamp), ``engine``.
    """
    cfg = ExecutionConfig.from_dict(run["config"])
    model = cfg.commission.model.value
    symbol, tf, name = run["symbol"], run["timeframe"], run["strategy"]
    state = {
        f"{key}_symbol": symbol, f"{key}_tf_{symbol}": tf, f"{key}_name": name,
        f"{key}_range_{symbol}_{tf}": (pd.Timestamp(run["start"]).date(),
                                       pd.Timestamp(run["end"]).date()),
        f"{key}_cash": float(cfg.cash), f"{key}_direction": cfg.direction.value,
        f"{key}_leverage": float(cfg.leverage),
        f"{key}_sl": float(cfg.sl * 100) if cfg.sl else 0.0,
        f"{key}_tp": float(cfg.tp * 100) if cfg.tp else 0.0,
        f"{key}_cmodel": model,
        f"{key}_crate_{model}": (cfg.commission.rate * 100 if model == "percent"
                                 else cfg.commission.rate),
        f"{key}_cmin_{model}": float(cfg.commission.minimum),
        f"{key}_cmax_{model}": float(cfg.commission.maximum_fraction * 100),
        f"{key}_slip": float(cfg.slippage * 10_000),
        f"{key}_size_type": cfg.size_type.value,
        f"{key}_whole_{symbol}": bool(cfg.whole_units),
        f"{key}_mult_{symbol}": float(cfg.multiplier),
        f"{key}_tick_{symbol}": float(cfg.tick_size),
        f"{key}_im_{symbol}": float(cfg.initial_margin),
        f"{key}_mmpc_{symbol}": float(cfg.maintenance_per_contract),
        f"{key}_xfee_{symbol}": float(cfg.exchange_fee),
        f"{key}_sec_{symbol}": float(cfg.sec_fee * 1_000_000),
        f"{key}_mm": float(cfg.maintenance_margin * 100),
        f"{key}_both": cfg.both_hit.value,
        f"{key}_min_notional": float(cfg.min_notional),
    }
    if cfg.size_type.value == "equity_fraction":
        state[f"{key}_size"] = int(round(cfg.size * 100))
    else:
        state[f"{key}_fixed"] = float(cfg.size)
    for pname, value in (run.get("params") or {}).items():
        state[f"{key}_{name}_{pname}"] = value
    if run.get("engine"):
        state[f"{key}_engine"] = run["engine"]
    return state


def apply_reopen(key: str = "bt") -> dict | None:
    """Consume ``st.session_state[f"{key}_reopen"]`` (set by the Runs page): load the
    run's settings into the widgets before they are drawn. Returns the run or None."""
    from lab.ui.handoff import reopen_key

    run = st.session_state.pop(reopen_key(key), None)
    if run:
        st.session_state.update(reopen_state(run, key))
    return run


def date_caption(start: dt.date | pd.Timestamp, end: dt.date | pd.Timestamp) -> str:
    """'2017-07-01 → 2019-10-17' for captions."""
    return f"{pd.Timestamp(start):%Y-%m-%d} → {pd.Timestamp(end):%Y-%m-%d}"
