"""Optuna study storage and results: where studies live, ``StudyResult``, reading a
study back, and what the pages do with its trials (reopen, recompute, DSR, PBO input).

Split from ``lab.research.optimize`` (which runs studies and re-exports these names).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError, LabError
from lab.core.private import private_dir, private_file, sqlite_private
from lab.core.paths import data_path
from lab.core.urls import redact
from lab.core.types import periods_per_year


#: Seconds between two heartbeats of a running trial in a database storage, and the
#: silence after which another process marks that trial FAIL (its process died).
HEARTBEAT_S, GRACE_S = 10, 60


def default_storage(root: str | Path | None = None) -> str:
    """``$LAB_OPTUNA_STORAGE`` when set (e.g. a team's ``postgresql://`` URL), else
    ``sqlite:///<data>/optuna/optuna.db`` (``root`` as in ``lab.core.paths.data_root``).
    The folder is created."""
    if os.environ.get("LAB_OPTUNA_STORAGE"):
        return os.environ["LAB_OPTUNA_STORAGE"]
    folder = private_dir(data_path("optuna", root))
    return f"sqlite:///{sqlite_private(folder / 'optuna.db')}"


def open_storage(storage: str | None):
    """An Optuna storage object from a database URL, a journal path or None (default).

    Database storages (SQLite, PostgreSQL, MySQL through SQLAlchemy) get a heartbeat:
    a trial whose process died (killed, machine lost) is marked FAIL by the next process
    that starts a trial, ``GRACE_S`` seconds after its last heartbeat.

    Raises
    ------
    ConfigError
        Not a URL nor a journal path, or the database cannot be reached (the message
        says which, without the password).
    """
    import optuna

    url = storage or default_storage()
    if url.startswith("journal:") or url.endswith((".log", ".jsonl")):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        path = url[len("journal:"):] if url.startswith("journal:") else url
        private_file(path)                   # trials hold the user's research: owner only
        return JournalStorage(JournalFileBackend(path))
    if "://" not in url:
        raise ConfigError(f"storage {url!r}: give a database URL (sqlite:///path.db, "
                          "postgresql://...) or a journal file path ending in .log")
    if url.startswith("sqlite:///") and url[len("sqlite:///"):] not in ("", ":memory:"):
        try:                                 # created owner-only before SQLite opens it
            sqlite_private(url[len("sqlite:///"):].split("?", 1)[0])
        except OSError as exc:
            raise ConfigError(f"storage {redact(url)}: cannot create the database file "
                              f"({exc})") from None
    kwargs = ({"connect_args": {"timeout": 60}} if url.startswith("sqlite")
              else {"pool_pre_ping": True})
    for attempt in range(5):
        try:
            with warnings.catch_warnings():      # heartbeat is "experimental" in Optuna 5
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                rdb = optuna.storages.RDBStorage(url, engine_kwargs=kwargs,
                                                 heartbeat_interval=HEARTBEAT_S,
                                                 grace_period=GRACE_S)
            if url.startswith("sqlite"):
                _wal(rdb.engine)
            return rdb
        except ImportError as exc:
            raise ConfigError(f"storage {redact(url)}: its database driver is "
                              f"not installed ({exc}); for PostgreSQL: pip install "
                              "'psycopg[binary]'") from None
        except Exception as exc:     # noqa: BLE001 - sqlalchemy errors: unreachable, auth
            if type(exc).__module__.split(".")[0] != "sqlalchemy":
                raise
            name = type(exc).__name__
            if name in ("IntegrityError", "ProgrammingError") and attempt < 4:
                # two processes creating the tables of a new database at once: one
                # wins, the other finds them on its next attempt
                time.sleep(0.2 * (attempt + 1))
                continue
            first = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]
            raise ConfigError(f"storage {redact(url)}: cannot open the database "
                              f"({first})") from None


def _wal(engine) -> None:
    """SQLite in write-ahead-log mode with ``synchronous=NORMAL``: a commit no longer
    waits for the disk (Optuna commits about 18 times a trial), readers and the writer
    of several processes do not block each other, and a killed process still loses
    nothing it committed (an OS crash may lose the last commits)."""
    from sqlalchemy import event

    def pragmas(dbapi_con, _record) -> None:
        cur = dbapi_con.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    event.listen(engine, "connect", pragmas)
    engine.dispose()                 # connections opened before the listener: closed


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
        the metrics (``lab.kernels.sweep.STAT_NAMES``) of the full-period run,
        ``worker`` (``host:pid`` of the process that ran it) and ``duration_s``.
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
        r["worker"] = t.user_attrs.get("worker")
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


def orphaned_trials(study) -> list[dict]:
    """RUNNING trials of ``study`` whose process is gone (killed, crashed) on this host.

    A trial records ``host:pid`` (user attribute ``worker``) when it starts. Optuna
    marks such a trial FAIL only ``GRACE_S`` seconds after its last heartbeat, when a
    process next starts a trial of the study; until then it shows as RUNNING.

    Returns
    -------
    list of dict
        ``{"number", "pid", "host", "last_heartbeat", "fail_after"}`` (UTC Timestamps;
        None without a heartbeat, e.g. a journal storage: such a trial stays RUNNING).
    """
    import socket

    import optuna

    out = []
    here = socket.gethostname()
    backend = getattr(study, "_storage", None)
    backend = getattr(backend, "_backend", backend)
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        host, _, pid = str(t.user_attrs.get("worker") or "").rpartition(":")
        if host != here or not pid.isdigit() or _pid_alive(int(pid)):
            continue
        beat = _last_heartbeat(backend, t._trial_id)
        out.append({"number": int(t.number), "pid": int(pid), "host": host,
                    "last_heartbeat": beat,
                    "fail_after": None if beat is None else beat + pd.Timedelta(seconds=GRACE_S)})
    return out


def orphan_note(o: dict) -> str:
    """One line on an orphaned trial (``orphaned_trials``), for people."""
    head = (f"trial {o['number']} shows RUNNING but belongs to process {o['pid']} on this "
            "host, which is gone (killed or crashed)")
    if o["fail_after"] is None:
        return head + "; this storage has no heartbeat, so it stays RUNNING (it is ignored)"
    when = o["fail_after"].strftime("%Y-%m-%d %H:%M:%S UTC")
    return (head + f"; it will be marked FAIL after {when} ({GRACE_S} s after its last "
            "heartbeat), by the next process that starts a trial of this study")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        import psutil

        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except Exception:               # noqa: BLE001 - gone meanwhile, or no psutil
        return True


def _last_heartbeat(backend, trial_id: int):
    engine = getattr(backend, "engine", None)
    if engine is None:
        return None
    from sqlalchemy import text

    try:
        with engine.connect() as con:
            row = con.execute(text("SELECT heartbeat FROM trial_heartbeats WHERE trial_id = "
                                   ":t"), {"t": int(trial_id)}).fetchone()
    except Exception:               # noqa: BLE001 - no heartbeat table
        return None
    if row is None or row[0] is None:
        return None
    ts = pd.Timestamp(row[0])
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


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
    of ``lab.metrics.overfitting.probability_of_backtest_overfitting``."""
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
    trials (Bailey & López de Prado 2014, eq. 1-2; ``lab.metrics.overfitting``). N counts
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
    from lab.metrics.overfitting import (deflated_sharpe_ratio, per_bar_sharpe,
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
