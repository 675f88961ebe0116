"""Job kind ``"optimize"``: a ``StudySpec`` run by ``lab.research.optimize.service`` in a
runner process.

Payload (``StudySpec.to_dict()`` plus ``track``)::

    {"symbol": "BTCUSD_COINBASE", "timeframe": "1h",      # required
     "strategy": "sma_cross", "study_name": "sma-btc",    # required
     "start": None, "end": None,                          # bar range (UTC), optional
     "config": ExecutionConfig.to_dict(),                 # base execution settings
     "storage": None,                # default sqlite:///<data>/optuna/optuna.db
     "n_trials": 100, "timeout": None, "objectives": ["sharpe"], "sampler": "tpe",
     "seed": None, "search_sl": [0.01, 0.05], "search_tp": None,
     "search_leverage": None, "param_space": None, "min_trades": 3, "pruning": True,
     "workers": 1, "track": True}    # track: record the study in MLflow at the end

Progress counts this run's trials (with ``workers > 1``, those every worker finished,
read from the storage every ``lab.research.optimize.POLL_S`` seconds); cancel is checked
after each trial, and each worker stops after its current one (the trials that finished
stay in the study). A ``storage`` that cannot be opened is refused before the job starts.
A storage URL with a password never reaches the job row: ``lab.jobs.submit`` stores its
redacted form (the password saved ``0600`` under ``<data>/secrets``) or a ``$NAME``
reference, and the runner resolves it in memory (``SECRET_KEYS``). Resuming the job runs
``n_trials`` more trials of the same study. The result is ``{"study_name", "storage",
"trials", "complete", "tracked_run"}`` (``storage`` as the payload keeps it, or redacted).
"""

from __future__ import annotations

from typing import Any

#: Payload keys that are not part of the ``StudySpec``.
JOB_KEYS = ("track",)
#: Payload values that may carry a password: stored in the job row as
#: ``lab.core.credentials.keep`` leaves them, resolved only in the runner's memory.
SECRET_KEYS = ("storage",)


def spec_of(payload: dict[str, Any]):
    """The ``StudySpec`` of a payload (``track`` left out)."""
    from lab.research.optimize import StudySpec

    return StudySpec.from_dict({k: v for k, v in payload.items() if k not in JOB_KEYS})


def prepare(payload: dict[str, Any], root=None) -> tuple[dict, str, int, dict]:
    """Check an optimize payload before anything starts: the strategy, objectives,
    sampler, execution settings, counts and searched ranges (as a single backtest
    checks them), the storage, and that a study continued under its name has this
    payload's strategy, symbol, timeframe and objectives.

    ``root`` is the data folder of the default storage.

    Returns
    -------
    (payload, title, total, result)

    Raises
    ------
    ConfigError, UnknownStrategyError
        As ``StudySpec``; also a ``storage`` that cannot be opened.
    """
    from lab.research.optimize import default_storage
    from lab.research.optimize.checks import check_continuation, check_search

    spec = spec_of(payload)
    check_search(spec.config, spec.n_trials, spec.search_sl, spec.search_tp,
                 spec.search_leverage, workers=spec.workers, timeout=spec.timeout,
                 sampler=spec.sampler)
    # unreachable or malformed storage, or a study of that name with other settings:
    # refused now, before the job starts
    check_continuation(spec.study_name, spec.storage or default_storage(root),
                       {"strategy": spec.strategy, "symbol": spec.symbol,
                        "timeframe": spec.timeframe, "objectives": list(spec.objectives)})
    out = spec.to_dict()
    if payload.get("track") is not None:
        out["track"] = payload["track"]
    result = {"study_name": spec.study_name}
    if spec.storage:
        result["storage"] = spec.storage
    return out, spec.title, int(spec.n_trials or 0), result


def run(payload: dict[str, Any], ctx) -> dict[str, Any]:
    """Run the trials; ``JobCancelled`` when a cancel stopped them."""
    from lab.jobs.runner import JobCancelled
    from lab.research.optimize import default_storage
    from lab.research.optimize.service import record, run_study

    spec = spec_of(payload)
    res = run_study(spec, ctx.root, progress=ctx.progress, cancel=ctx.cancelled)
    if ctx.cancelled():
        raise JobCancelled(f"study {res.study_name} stopped after {len(res.trials)} trials "
                           "(finished trials are stored)")
    tracked = record(res, "job", ctx.log) if payload.get("track", True) else None
    return {"study_name": res.study_name, "storage": spec.storage or default_storage(ctx.root),
            "trials": int(len(res.trials)), "complete": res.n_complete, "tracked_run": tracked}
