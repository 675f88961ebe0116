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
(``lab.kernels.sweep.simulate_many_nb`` via ``lab.research.sweep_exec.kernel_stats``), so
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
Default ``sqlite:///<data>/optuna/optuna.db`` (``<data>`` = ``$LAB_DATA_DIR`` or
``./data``). A path ending in ``.log`` / ``.jsonl`` (or ``journal:<path>``) uses Optuna's
journal file storage; any SQLAlchemy URL (``postgresql://...``) works for several
machines. A study is found again by name (``load_if_exists``): running ``optimize`` with
the same name continues it, keeping its finished trials. ``workers > 1`` starts that
many processes, each opening the same storage and running its share of the trials.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lab.core import registry
from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError, LabError, ParamError
from lab.core.types import AssetClass, periods_per_year

__all__ = ["DIRECTIONS", "OBJECTIVES", "PENALTY", "SAMPLERS", "StudyResult",
           "default_storage", "list_studies", "load_study_result", "optimize", "study_dsr",
           "trial_backtest", "trials_returns_matrix"]

#: Objectives and the direction that is better. ``max_drawdown`` is a fraction <= 0, so
#: larger (closer to 0) is better.
DIRECTIONS = {"sharpe": "maximize", "sortino": "maximize", "calmar": "maximize",
              "total_return": "maximize", "profit_factor": "maximize",
              "cagr": "maximize", "max_drawdown": "maximize", "win_rate": "maximize"}
OBJECTIVES = tuple(DIRECTIONS)
SAMPLERS = ("tpe", "cmaes", "random", "grid", "nsga2")
#: Value given to an infeasible or failed trial (in the bad direction).
PENALTY = 1e6
#: Fractions of the bars at which a pruned study reports intermediate values.
PRUNE_STEPS = (1 / 3, 2 / 3)


def default_storage(root: str | Path | None = None) -> str:
    """``sqlite:///<root>/optuna/optuna.db``; ``root`` defaults to ``$LAB_DATA_DIR`` or
    ``./data``. The folder is created."""
    base = Path(root) if root is not None else Path(os.environ.get("LAB_DATA_DIR", "data"))
    folder = base / "optuna"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder.resolve() / 'optuna.db'}"


def open_storage(storage: str | None):
    """An Optuna storage object (or URL) from a URL, a journal path or None."""
    import optuna

    url = storage or default_storage()
    if url.startswith("journal:") or url.endswith((".log", ".jsonl")):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        path = url[len("journal:"):] if url.startswith("journal:") else url
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(path))
    if "://" not in url:
        raise ConfigError(f"storage {url!r}: give a database URL (sqlite:///path.db, "
                          "postgresql://...) or a journal file path ending in .log")
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}}
                                      if url.startswith("sqlite") else None)


@dataclass
class StudyResult:
    """A finished (or interrupted) study.

    Attributes
    ----------
    study_name, storage : str
    objectives : tuple of str
    directions : tuple of str
        "maximize" / "minimize" per objective.
    trials : DataFrame
        One row per trial: ``number``, ``state`` (COMPLETE, PRUNED, FAIL, ...),
        ``value_<objective>``, ``feasible`` (bool), ``params`` (JSON of the strategy
        parameters), ``param_<name>`` (sampled values, incl. ``sl``/``tp``/``leverage``),
        the metrics (``lab.kernels.sweep.STAT_NAMES``) of the full-period run, and
        ``duration_s``.
    best : DataFrame
        Rows of ``trials``: the best feasible trial (one objective) or the Pareto front
        of feasible trials (several), best first by the first objective.
    attrs : dict
        Study settings: strategy, symbol, timeframe, asset_class, config
        (``ExecutionConfig.to_dict()``), start, end, min_trades, periods_per_year,
        sampler, n_bars.
    study : optuna.Study or None
    """

    study_name: str
    storage: str
    objectives: tuple
    directions: tuple
    trials: pd.DataFrame
    best: pd.DataFrame
    attrs: dict = field(default_factory=dict)
    study: Any = None

    @property
    def n_complete(self) -> int:
        """Trials that finished (COMPLETE)."""
        return int((self.trials["state"] == "COMPLETE").sum()) if len(self.trials) else 0


def _load_space(param_space) -> dict:
    if param_space is None:
        return {}
    if isinstance(param_space, (str, Path)):
        try:
            return json.loads(Path(param_space).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"param space {param_space}: {exc}") from None
    return dict(param_space)


def search_space(strategy: str, param_space=None) -> dict[str, dict]:
    """The strategy's search space: ``{name: {"low", "high", "step", "kind"}}`` or
    ``{name: {"choices": [...]}}`` or ``{name: {"fixed": value}}``.

    ``param_space`` (dict or JSON file) overrides per name: a dict with any of
    low/high/step, a list (categorical choices) or a scalar (fixed).

    Raises
    ------
    ConfigError
        A name the strategy does not have, or low > high.
    """
    spec = registry.get(strategy)
    space = {s.name: {"low": s.low, "high": s.high, "step": s.step,
                      "kind": "int" if s.kind is int else "float"}
             for s in spec.params_cls.specs()}
    for name, v in _load_space(param_space).items():
        if name not in space:
            raise ConfigError(f"param space: {strategy} has no parameter {name!r}; it has "
                              f"{', '.join(space)}")
        if isinstance(v, Mapping):
            space[name] = {**space[name], **{k: v[k] for k in ("low", "high", "step")
                                             if k in v}}
            if space[name]["low"] > space[name]["high"]:
                raise ConfigError(f"param space {name}: low > high")
        elif isinstance(v, (list, tuple)):
            space[name] = {"choices": list(v)}
        else:
            space[name] = {"fixed": v}
    return space


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
    from lab.kernels.sweep import STAT_NAMES
    from lab.research.sweep_exec import kernel_stats

    if stop is not None:
        bars = bars.iloc[:stop]
        signals = Signals(*(np.ascontiguousarray(getattr(signals, k)[:stop]) for k in
                            ("entries_long", "exits_long", "entries_short", "exits_short")))
    row = kernel_stats(bars, [signals], [config], ppy)[0]
    return {k: float(v) for k, v in zip(STAT_NAMES, row)}


def _make_objective(bars, strategy, base: ExecutionConfig, ppy, space, levels,
                    objectives, directions, min_trades, pruning):
    import optuna

    spec = registry.get(strategy)
    n = len(bars)

    def objective(trial):
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


def _worker(kwargs: dict) -> int:
    """Entry of a worker process: ``optimize`` with ``workers=1`` on the shared storage."""
    optimize(**kwargs)
    return 0


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
        Processes; each opens the same storage and runs its share of ``n_trials``.
    asset_class, timeframe : str
        Annualization (``periods_per_year``).
    symbol : str, optional
        Recorded in the study's attributes.
    callback : callable, optional
        ``callback(done, total)`` after each trial of this call (``workers=1``).
    cancel : callable, optional
        ``cancel() -> bool`` checked after each trial; True stops the study (finished
        trials stay stored).

    Returns
    -------
    StudyResult

    Raises
    ------
    ConfigError
        Unknown objective / sampler, a native strategy, a bad storage.
    UnknownStrategyError
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
        import concurrent.futures as cf
        import multiprocessing as mp

        share = None if n_trials is None else -(-int(n_trials) // int(workers))
        jobs = [dict(bars=bars, strategy=strategy, study_name=study_name, config=config,
                     storage=storage_url, n_trials=share, timeout=timeout,
                     objectives=objectives, directions=directions, sampler=sampler,
                     seed=None if seed is None else seed + i, search_sl=search_sl,
                     search_tp=search_tp, search_leverage=search_leverage,
                     param_space=space_overrides(space, strategy), min_trades=min_trades,
                     pruning=pruning, workers=1, asset_class=asset_class,
                     timeframe=timeframe, symbol=symbol) for i in range(int(workers))]
        with cf.ProcessPoolExecutor(int(workers), mp_context=mp.get_context("spawn")) as ex:
            for f in [ex.submit(_worker, j) for j in jobs]:
                f.result()
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


def study_result(study, storage: str) -> StudyResult:
    """``StudyResult`` of an Optuna study object."""
    attrs = dict(study.user_attrs)
    objectives = tuple(attrs.get("objectives") or
                       [f"objective_{i}" for i in range(len(study.directions))])
    directions = tuple(d.name.lower() for d in study.directions)
    rows = []
    for t in study.get_trials(deepcopy=False):
        r = {"number": t.number, "state": t.state.name}
        for i, o in enumerate(objectives):
            r[f"value_{o}"] = t.values[i] if t.values is not None else float("nan")
        r["feasible"] = bool(t.user_attrs.get("feasible", False))
        r["invalid"] = "invalid" in t.user_attrs
        r["params"] = json.dumps(t.user_attrs.get("params", {}), sort_keys=True)
        for k, v in t.params.items():
            r[f"param_{k}"] = v
        r.update(t.user_attrs.get("metrics", {}))
        r["duration_s"] = (t.duration.total_seconds() if t.duration is not None
                           else float("nan"))
        rows.append(r)
    trials = pd.DataFrame(rows)
    if trials.empty:
        trials = pd.DataFrame(columns=["number", "state", "feasible", "params"])
    ok = (trials["state"] == "COMPLETE") & trials["feasible"].astype(bool)
    good = trials[ok]
    if len(objectives) == 1 or good.empty:
        key = f"value_{objectives[0]}"
        best = good.sort_values(key, ascending=directions[0] == "minimize").head(1) \
            if len(objectives) == 1 and not good.empty else good.head(0)
    else:
        best = good.loc[_pareto_mask(good, objectives, directions)]
        best = best.sort_values(f"value_{objectives[0]}",
                                ascending=directions[0] == "minimize")
    return StudyResult(study_name=study.study_name, storage=storage, objectives=objectives,
                       directions=directions, trials=trials.reset_index(drop=True),
                       best=best.reset_index(drop=True), attrs=attrs, study=study)


def _pareto_mask(frame: pd.DataFrame, objectives, directions) -> np.ndarray:
    """Rows no other row dominates (better or equal in all, better in one)."""
    v = np.column_stack([frame[f"value_{o}"].to_numpy(float) * (1 if d == "maximize" else -1)
                         for o, d in zip(objectives, directions)])
    keep = np.ones(len(v), dtype=bool)
    for i in range(len(v)):
        dominated = (v >= v[i]).all(axis=1) & (v > v[i]).any(axis=1)
        keep[i] = not dominated.any()
    return keep


def load_study_result(study_name: str, storage: str | None = None) -> StudyResult:
    """A stored study by name.

    Raises
    ------
    LabError
        When no such study is stored.
    """
    import optuna

    url = storage or default_storage()
    try:
        study = optuna.load_study(study_name=study_name, storage=open_storage(url))
    except KeyError:
        raise LabError(f"no study {study_name!r} in {url}") from None
    return study_result(study, url)


def list_studies(storage: str | None = None) -> pd.DataFrame:
    """Studies in a storage: ``name``, ``trials``, ``strategy``, ``symbol``,
    ``timeframe``, ``objectives``, ``started`` (newest first)."""
    import optuna

    rows = []
    for s in optuna.get_all_study_summaries(open_storage(storage or default_storage()),
                                            include_best_trial=False):
        a = s.user_attrs
        rows.append(dict(name=s.study_name, trials=s.n_trials, strategy=a.get("strategy"),
                         symbol=a.get("symbol"), timeframe=a.get("timeframe"),
                         objectives=",".join(a.get("objectives", [])),
                         started=s.datetime_start))
    out = pd.DataFrame(rows, columns=["name", "trials", "strategy", "symbol", "timeframe",
                                      "objectives", "started"])
    return out.sort_values("started", ascending=False, na_position="last").reset_index(
        drop=True)


def trial_config(result: StudyResult, row: Mapping[str, Any]) -> ExecutionConfig:
    """The ``ExecutionConfig`` of a trial row (base config with its sampled levels)."""
    base = ExecutionConfig.from_dict(dict(result.attrs.get("config", {})))
    lv = {k: float(row[f"param_{k}"]) for k in ("sl", "tp", "leverage")
          if f"param_{k}" in row and not pd.isna(row[f"param_{k}"])}
    return base.replace(**lv) if lv else base


def trial_backtest(result: StudyResult, row: Mapping[str, Any], bars: pd.DataFrame):
    """Full ``lab.api.run_backtest`` of one trial row on ``bars`` (the study's bars)."""
    from lab.api import run_backtest

    a = result.attrs
    params = row["params"]
    params = json.loads(params) if isinstance(params, str) else dict(params)
    return run_backtest(bars, a["strategy"], params, trial_config(result, row),
                        asset_class=a.get("asset_class", "equity"),
                        timeframe=a.get("timeframe", "1d"), symbol=a.get("symbol"))


def trials_returns_matrix(result: StudyResult, bars: pd.DataFrame,
                          top_k: int | None = 50) -> pd.DataFrame:
    """Per-bar returns (T x K, columns = trial numbers) of the ``top_k`` best feasible
    complete trials by the first objective, recomputed with ``trial_backtest``; input
    of ``lab.research.overfitting.probability_of_backtest_overfitting``."""
    t = result.trials
    ok = t[(t["state"] == "COMPLETE") & t["feasible"].astype(bool)]
    key = f"value_{result.objectives[0]}"
    ok = ok.sort_values(key, ascending=result.directions[0] == "minimize")
    ok = ok.drop_duplicates("params" if not any(c in ok for c in
                                                ("param_sl", "param_tp", "param_leverage"))
                            else [c for c in ok.columns if c.startswith("param")])
    if top_k:
        ok = ok.head(int(top_k))
    cols = {int(r["number"]): trial_backtest(result, r, bars).returns
            for _, r in ok.iterrows()}
    return pd.DataFrame(cols).fillna(0.0)


def study_dsr(result: StudyResult) -> dict:
    """Deflated Sharpe ratio of the best trial given every trial tried.

    ``DSR = PSR(SR0)``, ``SR0`` the expected maximum per-bar Sharpe of N skill-less
    trials (Bailey & López de Prado 2014, eq. 1-2; ``lab.research.overfitting``). N counts
    the trials that were evaluated (complete, or pruned after a partial run; invalid
    parameter combinations are not); V is the sample variance (ddof 1) of the per-bar
    Sharpe ratios of the complete trials. Uses the best trial by the first objective
    when it is ``sharpe``, else the feasible trial with the highest Sharpe.

    Returns
    -------
    dict
        ``dsr``, ``psr`` (probabilities), ``sharpe`` (annualized), ``sharpe_bar``,
        ``n_trials``, ``sr_variance`` (per bar), ``number`` (trial); NaN values and
        ``number`` None when there is no feasible trial.
    """
    from lab.research.overfitting import (deflated_sharpe_ratio, per_bar_sharpe,
                                          probabilistic_sharpe_ratio)

    t = result.trials
    nan = float("nan")
    out = dict(dsr=nan, psr=nan, sharpe=nan, sharpe_bar=nan, n_trials=0, sr_variance=nan,
               number=None)
    if t.empty or "sharpe" not in t:
        return out
    done = t[t["state"] == "COMPLETE"]
    tried = int(len(done) + ((t["state"] == "PRUNED") & ~t["invalid"].astype(bool)).sum())
    ok = done[done["feasible"].astype(bool) & done["sharpe"].notna()]
    if ok.empty:
        return {**out, "n_trials": tried}
    ppy = float(result.attrs.get("periods_per_year") or ok["periods_per_year"].iloc[0])
    best = ok.loc[ok["sharpe"].astype(float).idxmax()]
    if result.objectives[0] == "sharpe" and len(result.best):
        best = result.best.iloc[0]
    srs = per_bar_sharpe(done["sharpe"].astype(float).dropna().to_numpy(), ppy)
    var = float(np.var(srs, ddof=1)) if len(srs) > 1 else 0.0
    sr = float(per_bar_sharpe(float(best["sharpe"]), ppy))
    skew = float(best.get("skew", 0.0)) if pd.notna(best.get("skew")) else 0.0
    kurt = float(best.get("kurtosis", 3.0)) if pd.notna(best.get("kurtosis")) else 3.0
    n_obs = float(best["bars"])
    return dict(dsr=float(deflated_sharpe_ratio(sr, n_obs, max(tried, 1), var, skew, kurt)),
                psr=float(probabilistic_sharpe_ratio(sr, n_obs, 0.0, skew, kurt)),
                sharpe=float(best["sharpe"]), sharpe_bar=sr, n_trials=tried,
                sr_variance=var, number=int(best["number"]))
