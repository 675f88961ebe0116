"""Checks an Optuna study makes before any trial runs: counts and searched ranges by
the rules of a single backtest, and that a study continued under its name keeps its
strategy, symbol, timeframe and objectives (split from ``lab.research.optimize``)."""

from __future__ import annotations

import math
from typing import Any, Mapping

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.research.optimize.store import open_storage


#: Study attributes a continued study must share with the run continuing it.
SAME_STUDY = ("strategy", "symbol", "timeframe", "objectives")


def check_search(config: ExecutionConfig, n_trials: int | None = 100,
                 search_sl: tuple[float, float] | None = None,
                 search_tp: tuple[float, float] | None = None,
                 search_leverage: tuple[float, float] | None = None,
                 workers: int = 1, timeout: float | None = None,
                 sampler: str = "tpe") -> None:
    """Refuse, before any trial runs, a count or a searched range that a single backtest
    would refuse: both ends of each range go through ``ExecutionConfig`` with the base
    settings (leverage between 1 and the maximum, a stop-loss below 100 %, ...).

    Parameters
    ----------
    config : ExecutionConfig
        Base settings the sampled levels replace.
    n_trials : int or None
        Trials of this run: 1 or more; None only with a ``timeout`` or the grid
        sampler (which stops when its grid is done).
    search_sl, search_tp, search_leverage : (low, high), optional
        Searched ranges (fractions of the entry price; leverage multiples).
    workers : int
        Processes: 1 or more.
    timeout : float, optional
        Seconds; positive when given.

    Raises
    ------
    ConfigError
        Naming the count or the range, the rule it breaks and what to give instead.
    """
    if n_trials is None:
        if timeout is None and sampler != "grid":
            raise ConfigError("n_trials: give 1 or more trials (or a timeout to run until "
                              "it expires, or the grid sampler to run the whole grid)")
    elif isinstance(n_trials, bool) or int(n_trials) != n_trials or int(n_trials) < 1:
        raise ConfigError(f"n_trials={n_trials}: give 1 or more trials, e.g. 100")
    if timeout is not None and not float(timeout) > 0:
        raise ConfigError(f"timeout={timeout}: give a positive number of seconds")
    if int(workers) < 1:
        raise ConfigError(f"workers={workers}: give 1 or more processes")
    for name, rng in (("sl", search_sl), ("tp", search_tp), ("leverage", search_leverage)):
        if rng is None:
            continue
        try:
            lo, hi = (float(v) for v in rng)
        except (TypeError, ValueError):
            raise ConfigError(f"search range {name} {rng!r}: give (low, high) numbers, "
                              "e.g. 0.01:0.05") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise ConfigError(f"search range {name} {lo:g}:{hi:g}: low must be a number "
                              "at most high, e.g. 0.01:0.05")
        for end, value in (("low", lo), ("high", hi)):
            try:
                config.replace(**{name: value})
            except ConfigError as exc:
                raise ConfigError(f"search range {name} {lo:g}:{hi:g}: its {end} end is "
                                  f"refused as a single backtest would refuse it ({exc})"
                                  ) from None


def check_same_study(study_name: str, existing: Mapping[str, Any],
                     wanted: Mapping[str, Any]) -> None:
    """Refuse to continue study ``study_name`` with settings other than its own.

    Parameters
    ----------
    existing : mapping
        The stored study's user attributes (empty for a new study).
    wanted : mapping
        This run's ``strategy``, ``symbol``, ``timeframe``, ``objectives``.

    Raises
    ------
    ConfigError
        Naming each setting that differs and the study's own settings, and what to do.
    """
    if not existing:
        return
    differ = [k for k in SAME_STUDY if k in existing and existing.get(k) is not None
              and _norm(existing[k]) != _norm(wanted.get(k))]
    if not differ:
        return
    what = "; ".join(f"{k} {_show(wanted.get(k))} (the study's: {_show(existing[k])})"
                     for k in differ)
    own = ", ".join(f"{k} {_show(existing.get(k))}" for k in SAME_STUDY)
    raise ConfigError(f"study {study_name!r} already holds trials of other settings: {what}. "
                      f"Its settings are {own}; continue it with those, or give another "
                      "study name")


def check_continuation(study_name: str, storage: str | None,
                       wanted: Mapping[str, Any]) -> None:
    """``check_same_study`` against the study of that name in ``storage`` (default
    ``default_storage()``), when there is one; for a job, before it starts.

    Raises
    ------
    ConfigError
    """
    import optuna

    store = open_storage(storage)
    for s in optuna.get_all_study_summaries(store, include_best_trial=False):
        if s.study_name == study_name:
            check_same_study(study_name, s.user_attrs, wanted)
            return


def _norm(v):
    return [str(x) for x in v] if isinstance(v, (list, tuple)) else (None if v is None
                                                                    else str(v))


def _show(v) -> str:
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
