"""Optimize page widgets: the study form, the jobs panel and the study results.

The form builds a ``StudySpec`` whose ``to_dict()`` is the ``optimize`` job payload
(``lab.jobs.optimize_job``); the trials run in
a runner process. Results read the Optuna storage: best trials, Optuna's plotly figures
(optimization history, parameter importances, contour, parallel coordinates, Pareto
front), "Open in Backtest" for a trial, and overfitting diagnostics (deflated Sharpe of
the best trial given the number of trials; probability of backtest overfitting over the
best trials' recomputed returns).
"""

from __future__ import annotations

import json
import math

import pandas as pd
import streamlit as st

from lab import jobs
from lab.core import registry
from lab.core.errors import ConfigError, LabError
from lab.core import credentials
from lab.core.ids import dataset_id
from lab.core.urls import has_password, redact
from lab.research.optimize import (DIRECTIONS, StudySpec, default_storage, list_studies,
                                   load_study_result, study_dsr, trial_config)
from lab.ui.inputs import parse_range
from lab.ui.handoff import open_in_backtest
from lab.ui.jobs_panel import JobWording, duration
from lab.ui.jobs_panel import jobs_panel as shared_jobs_panel
from lab.ui.widgets import _init, data_picker, execution_inputs

SAMPLER_LABELS = {"tpe": "TPE (default)", "cmaes": "CMA-ES", "random": "Random",
                  "grid": "Grid", "nsga2": "NSGA-II"}

#: What happens to a password typed in a storage field (shown on the page).
STORAGE_SECRET_NOTE = (
    "A password in the URL is never stored with the job, logged, sent to MLflow or "
    "shown again: from Start on the field shows postgresql://user:***@host/db and the "
    "URL itself is kept in <data>/secrets/urls.json, readable by you alone (0600), for "
    "the job's runner to read. To keep it off the disk, type $LAB_OPTUNA_STORAGE and "
    "export that variable before starting the app: the runner reads it from its "
    "environment.")


def _apply_pending(widget: str) -> None:
    """Put the redacted storage saved by the last run into the field before it is
    drawn (a widget's value cannot change after it is drawn in the same run)."""
    pending = st.session_state.pop(f"{widget}__kept", None)
    if pending is not None:
        st.session_state[widget] = pending


def _kept(widget: str, typed: str) -> str:
    """``credentials.keep`` of a typed storage; the field shows the kept form from the
    next run on."""
    kept = credentials.keep(typed.strip())
    if kept != typed:
        st.session_state[f"{widget}__kept"] = kept
    return kept


def optimize_form(key: str = "op") -> dict | None:
    """Inputs of a study; returns the job payload when Start was clicked, else None."""
    data = data_picker(key)
    names = [s.name for s in registry.all_strategies() if not s.is_native]
    c1, c2, c3 = st.columns([2, 2, 1])
    strategy = c1.selectbox("Strategy", names, key=f"{key}_strategy",
                            **_init(f"{key}_strategy", index=names.index("sma_cross")
                                    if "sma_cross" in names else 0))
    objectives = c2.multiselect("Objective(s)", list(DIRECTIONS), key=f"{key}_objectives",
                                max_selections=2, **_init(f"{key}_objectives",
                                                          default=["sharpe"]),
                                help="Two objectives (e.g. sharpe and max_drawdown) run "
                                     "NSGA-II and give a Pareto front")
    sampler = c3.selectbox("Sampler", list(SAMPLER_LABELS), key=f"{key}_sampler",
                           format_func=SAMPLER_LABELS.get)
    default_name = f"{strategy}-{data['symbol']}-{data['timeframe']}"
    d1, d2, d3, d4 = st.columns([2, 1, 1, 1])
    study_name = d1.text_input("Study name", key=f"{key}_study_name",
                               **_init(f"{key}_study_name", value=default_name),
                               help="An existing name resumes that study")
    n_trials = d2.number_input("Trials", 1, 100_000, key=f"{key}_n_trials",
                               **_init(f"{key}_n_trials", value=100))
    timeout = d3.number_input("Time limit (s, 0 = none)", 0, 86_400, key=f"{key}_timeout",
                              **_init(f"{key}_timeout", value=0))
    seed = d4.number_input("Seed (-1 = random)", -1, 2**31 - 1, key=f"{key}_seed",
                           **_init(f"{key}_seed", value=-1))
    l1, l2, l3, l4, l5 = st.columns(5)
    sl = l1.text_input("Search stop-loss (% low:high)", key=f"{key}_search_sl",
                       **_init(f"{key}_search_sl", value="off"))
    tp = l2.text_input("Search take-profit (% low:high)", key=f"{key}_search_tp",
                       **_init(f"{key}_search_tp", value="off"))
    lev = l3.text_input("Search leverage (low:high)", key=f"{key}_search_lev",
                        **_init(f"{key}_search_lev", value="off"))
    min_trades = l4.number_input("Min trades", 0, 10_000, key=f"{key}_min_trades",
                                 **_init(f"{key}_min_trades", value=3))
    pruning = l5.checkbox("Prune early", key=f"{key}_pruning",
                          **_init(f"{key}_pruning", value=True),
                          help="Median pruning on the first third / two thirds of the bars "
                               "(one objective)")
    _apply_pending(f"{key}_storage")
    w1, w2 = st.columns([1, 4])
    workers = w1.number_input("Worker processes", 1, 64, key=f"{key}_workers",
                              **_init(f"{key}_workers", value=1),
                              help="Processes on this machine sharing the study; other "
                                   "machines join it with `python -m lab optimize "
                                   "--study-name NAME --storage URL`")
    storage = w2.text_input("Storage (blank = default)", key=f"{key}_storage",
                            **_init(f"{key}_storage", value=""),
                            placeholder=redact(default_storage()),
                            help="sqlite:///path.db, a journal file (path.jsonl) or "
                                 "postgresql://user:password@host/db for workers on "
                                 "many machines; $LAB_OPTUNA_STORAGE sets the default. "
                                 + STORAGE_SECRET_NOTE)
    errors, config = [], None
    with st.expander("Base execution settings: cash, direction, costs, sizing"):
        try:
            config = execution_inputs(data["asset_class"], key, data["symbol"])
        except LabError as exc:
            errors.append(f"Execution settings: {exc}")
    try:
        levels = {"search_sl": parse_range(sl, "Stop-loss"),
                  "search_tp": parse_range(tp, "Take-profit"),
                  "search_leverage": parse_range(lev, "Leverage", percent=False)}
    except ConfigError as exc:
        errors.append(str(exc))
        levels = {}
    if not objectives:
        errors.append("Choose at least one objective.")
    if not study_name.strip():
        errors.append("Give the study a name.")
    for e in errors:
        st.error(e)
    clicked = st.button("Start study", type="primary", key=f"{key}_start",
                        disabled=bool(errors) or config is None)
    if not clicked or errors or config is None:
        return None
    try:
        return StudySpec(symbol=data["symbol"], timeframe=data["timeframe"],
                         start=data["start"].isoformat(), end=data["end"].isoformat(),
                         strategy=strategy, study_name=study_name.strip(), config=config,
                         n_trials=int(n_trials), objectives=tuple(objectives),
                         sampler=sampler, min_trades=int(min_trades), pruning=bool(pruning),
                         workers=int(workers),
                         storage=_kept(f"{key}_storage", storage) if storage.strip() else None,
                         timeout=float(timeout) if timeout else None,
                         seed=int(seed) if seed >= 0 else None, **levels).to_dict()
    except LabError as exc:
        st.error(f"The study was not started: {exc}")
        return None


STUDY_JOBS = JobWording(
    kind="optimize", title="Study jobs", unit="trials", result_key="study_name",
    header=lambda j: f"attempt {j.attempts}",
    done_text=lambda j: (f"{j.result.get('trials', j.total)} trials in the study · "
                         f"{duration(j.elapsed_s)}"),
    stopped_text=lambda j: "Finished trials are kept in the study",
    view_only_when_done=False)


def jobs_panel(key: str = "op", limit: int = 5) -> None:
    """Active studies with progress, ETA and Cancel; finished ones with Resume."""
    shared_jobs_panel(STUDY_JOBS, key, limit)


def reopen_trial(res, row) -> dict:
    """Backtest page settings (``st.session_state["bt_reopen"]``) of a trial row."""
    a = res.attrs
    params = row["params"]
    return {"run_id": f"{res.study_name}#{int(row['number'])}", "strategy": a["strategy"],
            "params": json.loads(params) if isinstance(params, str) else dict(params),
            "config": trial_config(res, row).to_dict(), "symbol": a.get("symbol"),
            "timeframe": a.get("timeframe"), "start": a.get("start"), "end": a.get("end"),
            "engine": "vectorized"}


def _fmt(v, pct=False, digits=2) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v * 100:.{digits}f} %" if pct else f"{v:.{digits}f}"


def study_figures(study, objectives) -> dict:
    """Optuna's plotly figures of a study; a figure that cannot be drawn is left out."""
    import optuna.visualization as vis

    out = {}
    names = list(objectives)
    multi = len(names) > 1

    def target(i=0):
        return dict(target=lambda t: t.values[i], target_name=names[i]) if multi else \
            dict(target_name=names[0])

    makers = {"Optimization history": lambda: vis.plot_optimization_history(study, **target()),
              "Parameter importances": lambda: vis.plot_param_importances(study, **target()),
              "Parallel coordinates": lambda: vis.plot_parallel_coordinate(study, **target()),
              "Contour": lambda: vis.plot_contour(study, **target())}
    if multi:
        makers["Pareto front"] = lambda: vis.plot_pareto_front(study, target_names=names)
    for name, make in makers.items():
        try:
            out[name] = make()
        except Exception:           # noqa: BLE001 - too few trials, one parameter...
            continue
    return out


def study_view(root: str, key: str = "op") -> None:
    """Pick a storage (default: the local one under ``root``) and a study in it, and show
    its trials, plots, diagnostics and actions. A study job that just ended selects its
    own storage and study."""
    default = default_storage(root)
    finished = st.session_state.pop(f"{key}_view_result", None) or {}
    if finished.get("storage"):
        st.session_state[f"{key}_results_storage"] = (
            "" if finished["storage"] in (default, redact(default)) else finished["storage"])
    _apply_pending(f"{key}_results_storage")
    typed = st.text_input("Storage (blank = default)", key=f"{key}_results_storage",
                          placeholder=redact(default), help=STORAGE_SECRET_NOTE).strip()
    if has_password(typed):
        _kept(f"{key}_results_storage", typed)
        st.rerun()
    try:
        storage = credentials.resolve(typed or default, root)
        studies = list_studies(storage)
    except LabError as exc:
        st.error(f"Cannot read the studies of that storage: {exc}")
        return
    if studies.empty:
        st.info(f"No study in {redact(storage)} yet: start one in the New study tab.")
        return
    names = studies["name"].tolist()
    want = st.session_state.get(f"{key}_view")
    if want in names:
        st.session_state[f"{key}_pick"] = want
        st.session_state.pop(f"{key}_view", None)
    pick = st.selectbox("Study", names, key=f"{key}_pick",
                        format_func=lambda n: _study_label(studies, n))
    try:
        res = load_study_result(pick, storage)
    except LabError as exc:
        st.error(str(exc))
        return
    t = res.trials
    states = t["state"].value_counts().to_dict() if len(t) else {}
    m = st.columns(5)
    m[0].metric("Trials", f"{len(t):,}")
    m[1].metric("Complete", f"{states.get('COMPLETE', 0):,}")
    m[2].metric("Pruned", f"{states.get('PRUNED', 0):,}")
    m[3].metric("Feasible", f"{int(t['feasible'].astype(bool).sum()) if len(t) else 0:,}")
    m[4].metric("Objectives", ", ".join(res.objectives))
    if res.best.empty:
        st.warning("No feasible complete trial yet (too few trades, or all pruned).")
        return
    cols = ["number"] + [f"value_{o}" for o in res.objectives] + \
        [c for c in res.best.columns if c.startswith("param_")] + \
        [c for c in ("trades", "total_return", "max_drawdown", "sharpe", "win_rate")
         if c in res.best.columns and f"value_{c}" not in res.best.columns]
    label = "Best trial" if len(res.objectives) == 1 else "Pareto front (feasible trials)"
    st.markdown(f"**{label}** · then the other complete feasible trials, best first")
    ok = t[(t["state"] == "COMPLETE") & t["feasible"].astype(bool)]
    rest = ok[~ok["number"].isin(res.best["number"])].sort_values(
        f"value_{res.objectives[0]}", ascending=res.directions[0] == "minimize")
    shown = pd.concat([res.best, rest]).head(50)[cols].reset_index(drop=True)
    event = st.dataframe(shown, hide_index=True, key=f"{key}_table", on_select="rerun",
                         selection_mode="single-row", use_container_width=True)
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    number = int(shown.iloc[rows[0] if rows and rows[0] < len(shown) else 0]["number"])
    row = t[t["number"] == number].iloc[0]
    st.markdown(f"Selected: **trial {number}** · params `{row['params']}`")
    if st.button("Open in Backtest", type="primary", key=f"{key}_open",
                 help="The Backtest page with this trial's settings"):
        open_in_backtest(reopen_trial(res, row))
    from lab.ui.live_views import start_bot_from

    start_bot_from(f"{key}_bot", reopen_trial(res, row))
    _diagnostics(res, root, key)
    figs = study_figures(res.study, res.objectives)
    if figs:
        tabs = st.tabs(list(figs))
        for tab, (name, fig) in zip(tabs, figs.items()):
            with tab:
                st.plotly_chart(fig, use_container_width=True, key=f"{key}_fig_{name}")


def _study_label(studies: pd.DataFrame, name: str) -> str:
    r = studies.set_index("name").loc[name]
    return f"{name} · {r['strategy']} on {dataset_id(r['symbol'], r['timeframe'])} · {r['trials']} trials"


def _diagnostics(res, root: str, key: str) -> None:
    st.markdown("**Overfitting diagnostics**")
    d = study_dsr(res)
    c = st.columns(4)
    c[0].metric("Best Sharpe", _fmt(d["sharpe"]))
    c[1].metric("Trials tried (N)", f"{d['n_trials']:,}")
    c[2].metric("Deflated Sharpe", _fmt(d["dsr"], pct=True, digits=1),
                help="P(true Sharpe > 0) after deflating for the N trials (Bailey & López "
                     "de Prado 2014)")
    c[3].metric("PSR", _fmt(d["psr"], pct=True, digits=1),
                help="P(true Sharpe > 0) ignoring the search (Bailey & López de Prado 2012)")
    pbo_key = f"{key}_pbo_{res.study_name}_{len(res.trials)}"
    if st.button("Compute PBO over the best trials", key=f"{key}_pbo_btn",
                 help="Recomputes the returns of up to 30 best trials and runs "
                      "combinatorially symmetric cross-validation (16 blocks)"):
        try:
            st.session_state[pbo_key] = _pbo(res, root)
        except (LabError, ValueError) as exc:
            st.session_state[pbo_key] = {"error": str(exc)}
    out = st.session_state.get(pbo_key)
    if out:
        if "error" in out:
            st.warning(f"PBO not computed: {out['error']}")
        else:
            p = st.columns(3)
            p[0].metric("PBO", _fmt(out["pbo"], pct=True, digits=1),
                        help="Share of CSCV splits where the in-sample best trial ranks "
                             "below the out-of-sample median (Bailey et al. 2017)")
            p[1].metric("P(OOS loss)", _fmt(out["prob_oos_loss"], pct=True, digits=1))
            p[2].metric("Trials / splits", f"{out['n_trials']} / {out['n_splits']}")


def _pbo(res, root: str) -> dict:
    from lab.api import open_catalog
    from lab.research.optimize import trials_returns_matrix
    from lab.metrics.overfitting import probability_of_backtest_overfitting

    a = res.attrs
    bars = open_catalog(root).load(a["symbol"], a["timeframe"], start=a.get("start"),
                                   end=a.get("end"))
    mat = trials_returns_matrix(res, bars, top_k=30)
    if mat.shape[1] < 2:
        raise ConfigError("needs at least two distinct feasible trials")
    splits = 16
    while splits > 2 and len(mat) // splits < 2:
        splits -= 2
    out = probability_of_backtest_overfitting(mat.to_numpy(), splits)
    return {k: out[k] for k in ("pbo", "prob_oos_loss", "n_trials", "n_splits")}
