"""Optuna studies over a strategy's parameters (and SL / TP / leverage).

Typical use::

    from lab.research.optimize import optimize
    res = optimize(bars, "sma_cross", study_name="sma-btc", n_trials=200,
                   objectives=("sharpe",), sampler="tpe", seed=1,
                   search_sl=(0.01, 0.05), asset_class="crypto", timeframe="1h")
    res.best                     # best feasible trial(s): one row, or the Pareto front
    res.trials                   # every trial: values, params, metrics

How a trial is evaluated
------------------------
The sampler proposes strategy parameters (ranges of ``Params.specs()``, or
``param_space``) and, when asked, ``sl`` / ``tp`` (fractions of the entry price) and
``leverage``. Invalid combinations (``Params.check``) are pruned. The signals are
computed once on all bars and run through the sweep kernel
(``lab.engines.batch.run_many``), so
a trial's metrics are exactly ``lab.api.run_backtest(...).metrics`` on the vectorized
engine. With ``pruning`` (single objective only), the objective is first computed on
the first third and two thirds of the bars and reported as intermediate values to a
``MedianPruner``; a trial worse than the median of earlier trials at the same step stops
there.

Minimum trades
--------------
A trial with fewer than ``min_trades`` trades is infeasible. With one objective its value
is replaced by ``PENALTY`` in the bad direction (the sampler learns to avoid it); with
two objectives the trial gets the constraint ``min_trades - trades <= 0``
(``Trial.set_constraint``, which NSGA-II honours) and the
true values are kept. Infeasible trials never appear in ``StudyResult.best``.

Storage
-------
Default ``sqlite:///<data>/optuna/optuna.db`` (``<data>``: ``lab.core.paths.data_root``).
A path ending in ``.log`` / ``.jsonl`` (or ``journal:<path>``) uses Optuna's
journal file storage; any SQLAlchemy URL (``postgresql://...``) works for several
machines. A study is found again by name (``load_if_exists``): running ``optimize`` with
the same name continues it, keeping its finished trials. ``workers > 1`` starts that
many processes, each opening the same storage and running its share of the trials.
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lab.core import registry
from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError, LabError, ParamError
from lab.core.types import AssetClass, periods_per_year
from lab.research.optimize.checks import check_same_study, check_search
from lab.research.optimize.spec import (DIRECTIONS, OBJECTIVES, SAMPLERS,  # noqa: F401
                                        search_space)
from lab.research.optimize.store import StudyResult, default_storage, open_storage, study_result

__all__ = ["DIRECTIONS", "OBJECTIVES", "PENALTY", "SAMPLERS", "optimize", "search_space"]

#: Value given to an infeasible or failed trial (in the bad direction).
PENALTY = 1e6
#: Fractions of the bars at which a pruned study reports intermediate values.
PRUNE_STEPS = (1 / 3, 2 / 3)


def _suggest(trial, space: dict, levels: dict) -> tuple[dict, dict]:
    params = {}
    for name, s in space.items():
        if "fixed" in s:
            params[name] = s["fixed"]
        elif "choices" in s:
            params[name] = trial.suggest_categorical(name, s["choices"])
        elif s["kind"] == "int":
            params[name] = trial.suggest_int(name, int(s["low"]), int(s["high"]),
                                             step=max(1, int(s["step"] or 1)))
        else:
            step = s["step"] or None
            if step and ((s["high"] - s["low"]) / step) % 1 > 1e-9:
                step = None
            params[name] = trial.suggest_float(name, float(s["low"]), float(s["high"]),
                                               step=step)
    lv = {k: trial.suggest_float(k, float(lo), float(hi)) for k, (lo, hi) in levels.items()}
    return params, lv


def _grid_space(space: dict, levels: dict) -> dict[str, list]:
    out = {}
    for name, s in space.items():
        if "fixed" in s:
            continue
        if "choices" in s:
            out[name] = list(s["choices"])
            continue
        step = s["step"] or (s["high"] - s["low"]) / 10 or 1
        n = int(np.floor((s["high"] - s["low"]) / step + 1e-9)) + 1
        vals = s["low"] + step * np.arange(n)
        out[name] = [int(v) for v in vals] if s["kind"] == "int" else [float(v) for v in vals]
    for k, (lo, hi) in levels.items():
        out[k] = [float(v) for v in np.linspace(lo, hi, 5)]
    return out


def _make_sampler(name: str, seed, n_obj: int, space: dict, levels: dict, min_trades: int):
    import optuna

    if n_obj > 1 and name in ("tpe", "nsga2"):
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise ConfigError("sampler 'cmaes' needs the cmaes package "
                              "(pip install cmaes); use 'tpe' or 'random'") from None
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if name == "grid":
        return optuna.samplers.GridSampler(_grid_space(space, levels), seed=seed)
    raise ConfigError(f"unknown sampler {name!r}; one of {', '.join(SAMPLERS)}")


def _clean(v: float, direction: str) -> float:
    bad = -PENALTY if direction == "maximize" else PENALTY
    if v is None or math.isnan(v):
        return bad
    return float(np.clip(v, -PENALTY, PENALTY))


def _stats(bars, signals, config, ppy, stop: int | None = None) -> dict:
    from lab.core.strategy import Signals
    from lab.engines.batch import run_many
    from lab.kernels.sweep import STAT_NAMES

    if stop is not None:
        bars = bars.iloc[:stop]
        signals = Signals(*(np.ascontiguousarray(getattr(signals, k)[:stop]) for k in
                            ("entries_long", "exits_long", "entries_short", "exits_short")))
    row = run_many(bars, [signals], [config], ppy)[0]
    return {k: float(v) for k, v in zip(STAT_NAMES, row)}


def _make_objective(bars, strategy, base: ExecutionConfig, ppy, space, levels,
                    objectives, directions, min_trades, pruning):
    import optuna

    spec = registry.get(strategy)
    n = len(bars)

    def objective(trial):
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        params, lv = _suggest(trial, space, levels)
        try:
            p = spec.params_cls.from_dict(params)
        except ParamError as exc:
            trial.set_user_attr("invalid", str(exc))
            raise optuna.TrialPruned(f"invalid parameters: {exc}") from None
        trial.set_user_attr("params", p.to_dict())
        config = base.replace(**lv) if lv else base
        signals = spec.signals(bars, p)
        if pruning and len(objectives) == 1:
            for step, frac in enumerate(PRUNE_STEPS):
                part = _stats(bars, signals, config, ppy, stop=max(2, int(n * frac)))
                trial.report(_clean(part[objectives[0]], directions[0]), step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        stats = _stats(bars, signals, config, ppy)
        trial.set_user_attr("metrics", stats)
        feasible = stats["trades"] >= min_trades
        trial.set_user_attr("feasible", bool(feasible))
        # Optuna >= 5: feasible when every constraint value is <= 0 (NSGA-II uses it).
        trial.set_constraint("min_trades", float(min_trades - stats["trades"]))
        if len(objectives) == 1:
            v = stats[objectives[0]] if feasible else float("nan")
            return _clean(v, directions[0])
        return tuple(_clean(stats[o], d) for o, d in zip(objectives, directions))

    return objective


#: Seconds between two looks at the storage while worker processes run.
POLL_S = 0.5
_FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def _shares(n_trials: int | None, workers: int) -> list[int | None]:
    """Trials per worker: ``n_trials`` split as evenly as possible (None = no limit)."""
    if n_trials is None:
        return [None] * workers
    base, extra = divmod(int(n_trials), workers)
    return [base + (i < extra) for i in range(workers)]


def _worker(kwargs: dict, stop, errors) -> None:
    """Entry of a worker process: ``optimize`` with ``workers=1`` on the shared storage.

    It stops after the current trial when ``stop`` (an Event) is set or when its parent
    died (killed, out of memory: the worker was handed to another parent), so no worker
    outlives the process that started it. A failure is put on ``errors`` and exits 1."""
    parent = os.getppid()
    try:
        optimize(**kwargs, cancel=lambda: stop.is_set() or os.getppid() != parent)
    except BaseException as exc:     # noqa: BLE001 - the parent reports it
        errors.put(f"{type(exc).__name__}: {exc}")
        raise SystemExit(1) from None


def _finished(study) -> int:
    import optuna

    states = tuple(getattr(optuna.trial.TrialState, s) for s in _FINISHED)
    return len(study.get_trials(deepcopy=False, states=states))


def _run_workers(study, jobs: list[dict], n_trials: int | None,
                 callback: Callable[[int, int], Any] | None,
                 cancel: Callable[[], bool] | None) -> None:
    """Run ``jobs`` (``optimize`` keyword sets) in spawned processes on one storage.

    Every ``POLL_S`` seconds the parent counts the study's finished trials (any process,
    this run's share) for ``callback`` and asks ``cancel``; a cancel (or an exception,
    e.g. KeyboardInterrupt) sets an Event each worker checks after every trial, so the
    workers stop between trials and nothing they finished is lost.

    Raises
    ------
    LabError
        A worker failed (its error text), or exited without a word (killed).
    """
    import multiprocessing as mp
    from multiprocessing.connection import wait

    ctx = mp.get_context("spawn")
    stop, errors = ctx.Event(), ctx.Queue()
    before = _finished(study)
    total = int(n_trials or 0)
    procs = [ctx.Process(target=_worker, args=(job, stop, errors), name=f"optimize-{i}")
             for i, job in enumerate(jobs)]
    if callback is not None:
        callback(0, total)
    try:
        for p in procs:
            p.start()
        while any(p.is_alive() for p in procs):
            wait([p.sentinel for p in procs if p.is_alive()], timeout=POLL_S)
            if callback is not None:
                done = _finished(study) - before
                callback(done, max(total, done))
            if cancel is not None and not stop.is_set() and cancel():
                stop.set()
    except BaseException:
        stop.set()
        for p in procs:
            p.join(60)
            if p.is_alive():
                p.terminate()
        raise
    failures = []
    while True:
        try:
            failures.append(errors.get(timeout=0.1))
        except Exception:            # noqa: BLE001 - queue.Empty: all read
            break
    bad = [p for p in procs if p.exitcode != 0]
    if bad or failures:
        text = "; ".join(failures) or ", ".join(f"{p.name} exit code {p.exitcode}"
                                                 for p in bad)
        raise LabError(f"optimize worker failed: {text} (finished trials are stored; "
                       "rerun with the same study name to continue)")
    if callback is not None:
        done = _finished(study) - before
        callback(done, max(total, done))


def optimize(bars: pd.DataFrame, strategy: str, *, study_name: str,
             config: ExecutionConfig | None = None, storage: str | None = None,
             n_trials: int | None = 100, timeout: float | None = None,
             objectives: Sequence[str] = ("sharpe",), directions: Sequence[str] | None = None,
             sampler: str = "tpe", seed: int | None = None,
             search_sl: tuple[float, float] | None = None,
             search_tp: tuple[float, float] | None = None,
             search_leverage: tuple[float, float] | None = None,
             param_space: Mapping[str, Any] | str | Path | None = None, min_trades: int = 3,
             pruning: bool = True, workers: int = 1,
             asset_class: AssetClass | str = AssetClass.EQUITY, timeframe: str = "1d",
             symbol: str | None = None,
             callback: Callable[[int, int], Any] | None = None,
             cancel: Callable[[], bool] | None = None) -> StudyResult:
    """Create or resume an Optuna study and run ``n_trials`` more trials.

    Parameters
    ----------
    bars : DataFrame, shape (n, 5)
        OHLCV indexed by UTC ``ts_event``.
    strategy : str
        Registered strategy (vectorized; native Backtrader strategies are refused).
    study_name : str
        Name in the storage; an existing study of that name is resumed.
    config : ExecutionConfig, optional
        Base execution settings; sampled sl/tp/leverage replace its own.
    storage : str, optional
        Database URL or journal file (module docstring); default ``default_storage()``.
    n_trials : int or None
        Trials to run in this call (all workers together); None with a ``timeout``.
    timeout : float, optional
        Seconds after which no new trial starts.
    objectives : sequence of str
        One or two of ``OBJECTIVES``; annualized ratios as in
        ``BacktestResult.metrics`` (``sharpe`` = mean / std of per-bar returns x
        sqrt(periods_per_year)), ``total_return`` and ``max_drawdown`` fractions.
    directions : sequence of str, optional
        Default ``DIRECTIONS`` per objective.
    sampler : str
        "tpe" (default; NSGA-II when two objectives), "cmaes", "random", "grid",
        "nsga2".
    seed : int, optional
        Sampler seed: the same seed, data and settings give the same trials
        (``workers=1``).
    search_sl, search_tp, search_leverage : (low, high), optional
        Also search the stop-loss / take-profit (fractions of the entry price) and the
        leverage in these ranges.
    param_space : dict or path of a JSON file, optional
        Overrides of the strategy's ranges (``search_space``).
    min_trades : int
        Trials with fewer trades are infeasible (module docstring).
    pruning : bool
        Median pruning on growing prefixes (single objective only).
    workers : int
        Processes; each opens the same storage and runs its share of ``n_trials``
        (together exactly ``n_trials``). Other machines join the same study by running
        ``optimize`` with the same ``study_name`` and a shared ``storage`` (PostgreSQL).
    asset_class, timeframe : str
        Annualization (``periods_per_year``).
    symbol : str, optional
        Recorded in the study's attributes.
    callback : callable, optional
        ``callback(done, total)`` after each trial of this call (with ``workers > 1``:
        every ``POLL_S`` seconds, counting the trials all workers finished).
    cancel : callable, optional
        ``cancel() -> bool`` checked after each trial (``workers > 1``: every
        ``POLL_S`` seconds, then each worker stops after its current trial); True stops
        the study (finished trials stay stored).

    Returns
    -------
    StudyResult

    Raises
    ------
    ConfigError
        Unknown objective / sampler, a native strategy, a bad storage; a count or a
        searched range a single backtest would refuse (``check_search``); an existing
        study of that name with another strategy, symbol, timeframe or objectives
        (``check_same_study``: nothing is appended, nothing relabelled).
    UnknownStrategyError
    LabError
        A worker process failed (``workers > 1``).
    """
    import optuna

    spec = registry.get(strategy)
    if spec.is_native:
        raise ConfigError(f"{strategy} is a native Backtrader strategy; optimize runs the "
                          "vectorized engine")
    objectives = tuple(objectives)
    if not 1 <= len(objectives) <= 2 or any(o not in DIRECTIONS for o in objectives):
        raise ConfigError(f"objectives {objectives}: one or two of {', '.join(OBJECTIVES)}")
    directions = tuple(directions or (DIRECTIONS[o] for o in objectives))
    if len(directions) != len(objectives):
        raise ConfigError("give one direction per objective")
    config = config or ExecutionConfig()
    check_search(config, n_trials, search_sl, search_tp, search_leverage, workers, timeout,
                 sampler)
    space = search_space(strategy, param_space)
    levels = {k: tuple(v) for k, v in (("sl", search_sl), ("tp", search_tp),
                                       ("leverage", search_leverage)) if v is not None}
    ppy = periods_per_year(timeframe, asset_class)
    storage_url = storage or default_storage()
    store = open_storage(storage_url)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
              if pruning and len(objectives) == 1 else optuna.pruners.NopPruner())
    smp = _make_sampler(sampler, seed, len(objectives), space, levels, min_trades)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=study_name, storage=store, sampler=smp,
                                pruner=pruner, directions=list(directions),
                                load_if_exists=True)
    check_same_study(study_name, study.user_attrs,
                     {"strategy": strategy, "symbol": symbol, "timeframe": timeframe,
                      "objectives": list(objectives)})
    if list(study.directions) and [d.name.lower() for d in study.directions] != list(directions):
        raise ConfigError(f"study {study_name!r} exists with directions "
                          f"{[d.name.lower() for d in study.directions]}")
    attrs = dict(strategy=strategy, symbol=symbol, timeframe=timeframe,
                 asset_class=str(AssetClass(asset_class).value), config=config.to_dict(),
                 start=str(bars.index[0]), end=str(bars.index[-1]), n_bars=int(len(bars)),
                 objectives=list(objectives), min_trades=int(min_trades),
                 periods_per_year=float(ppy), sampler=sampler,
                 levels={k: list(v) for k, v in levels.items()})
    for k, v in attrs.items():
        if study.user_attrs.get(k) != v:
            study.set_user_attr(k, v)

    if workers > 1:
        jobs = [dict(bars=bars, strategy=strategy, study_name=study_name, config=config,
                     storage=storage_url, n_trials=share, timeout=timeout,
                     objectives=objectives, directions=directions, sampler=sampler,
                     seed=None if seed is None else seed + i, search_sl=search_sl,
                     search_tp=search_tp, search_leverage=search_leverage,
                     param_space=space_overrides(space, strategy), min_trades=min_trades,
                     pruning=pruning, workers=1, asset_class=asset_class,
                     timeframe=timeframe, symbol=symbol)
                for i, share in enumerate(_shares(n_trials, int(workers))) if share != 0]
        _run_workers(study, jobs, n_trials, callback, cancel)
    else:
        total = n_trials or 0
        done = [0]

        def on_trial(st, _trial):
            done[0] += 1
            if callback is not None:
                callback(done[0], max(total, done[0]))
            if cancel is not None and cancel():
                st.stop()

        if callback is not None:
            callback(0, total)
        objective = _make_objective(bars, strategy, config, ppy, space, levels, objectives,
                                    directions, min_trades, pruning)
        study.optimize(objective, n_trials=n_trials, timeout=timeout, callbacks=[on_trial],
                       catch=(LabError, ValueError, FloatingPointError))
    return study_result(study, storage_url)


def space_overrides(space: dict, strategy: str) -> dict:
    """The parts of ``space`` that differ from the strategy's defaults (to pass along)."""
    default = search_space(strategy)
    return {k: (v["fixed"] if "fixed" in v else v["choices"] if "choices" in v else
                {x: v[x] for x in ("low", "high", "step")})
            for k, v in space.items() if v != default.get(k)}
