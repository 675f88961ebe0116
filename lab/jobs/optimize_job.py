"""Job kind ``"optimize"``: ``lab.research.optimize.optimize`` in a runner process.

Payload::

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

REQUIRED = ("symbol", "timeframe", "strategy", "study_name")
#: Payload values that may carry a password: stored in the job row as
#: ``lab.core.credentials.keep`` leaves them, resolved only in the runner's memory.
SECRET_KEYS = ("storage",)
OPTIONS = ("start", "end", "config", "storage", "n_trials", "timeout", "objectives",
           "sampler", "seed", "search_sl", "search_tp", "search_leverage", "param_space",
           "min_trades", "pruning", "workers", "track")


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
    """
    from lab.core import registry
    from lab.core.config import ExecutionConfig
    from lab.core.errors import ConfigError
    from lab.research.optimize import DIRECTIONS, SAMPLERS, search_space

    missing = [k for k in REQUIRED if not payload.get(k)]
    if missing:
        raise ConfigError(f"optimize job needs {', '.join(missing)}")
    unknown = set(payload) - set(REQUIRED) - set(OPTIONS)
    if unknown:
        raise ConfigError(f"optimize job: unknown options {', '.join(sorted(unknown))}")
    registry.get(payload["strategy"])
    search_space(payload["strategy"], payload.get("param_space"))
    objectives = list(payload.get("objectives") or ["sharpe"])
    if not 1 <= len(objectives) <= 2 or any(o not in DIRECTIONS for o in objectives):
        raise ConfigError(f"objectives {objectives}: one or two of {', '.join(DIRECTIONS)}")
    if payload.get("sampler", "tpe") not in SAMPLERS:
        raise ConfigError(f"sampler {payload.get('sampler')!r}: one of {', '.join(SAMPLERS)}")
    config = ExecutionConfig.from_dict(dict(payload.get("config") or {}))
    from lab.research.optimize import check_continuation, check_search

    check_search(config, payload.get("n_trials"),
                 *(tuple(payload[k]) if payload.get(k) else None
                   for k in ("search_sl", "search_tp", "search_leverage")),
                 workers=int(payload.get("workers") or 1), timeout=payload.get("timeout"),
                 sampler=payload.get("sampler", "tpe"))
    # unreachable or malformed storage, or a study of that name with other settings:
    # refused now, before the job starts
    from lab.research.optimize import default_storage

    check_continuation(payload["study_name"],
                       payload.get("storage") or default_storage(root),
                       {"strategy": payload["strategy"], "symbol": payload["symbol"],
                        "timeframe": payload["timeframe"], "objectives": objectives})
    out = {k: payload[k] for k in REQUIRED}
    out.update({k: payload[k] for k in OPTIONS if payload.get(k) is not None})
    out["objectives"] = objectives
    n = int(payload.get("n_trials") or 0)
    title = (f"optimize {payload['strategy']} on {payload['symbol']}@{payload['timeframe']}"
             f" · study {payload['study_name']} · {n or '∞'} trials ({','.join(objectives)})")
    result = {"study_name": payload["study_name"]}
    if payload.get("storage"):
        result["storage"] = payload["storage"]
    return out, title, n, result


def run(payload: dict[str, Any], ctx) -> dict[str, Any]:
    """Run the trials; ``JobCancelled`` when a cancel stopped them."""
    from lab.api import open_catalog
    from lab.core.config import ExecutionConfig
    from lab.jobs.runner import JobCancelled
    from lab.research.optimize import default_storage, optimize

    catalog = open_catalog(ctx.root)
    symbol, timeframe = payload["symbol"], payload["timeframe"]
    bars = catalog.load(symbol, timeframe, start=payload.get("start"), end=payload.get("end"))
    ac = catalog.asset_class(symbol)
    storage = payload.get("storage") or default_storage(ctx.root)
    lv = {k: tuple(payload[k]) for k in ("search_sl", "search_tp", "search_leverage")
          if payload.get(k)}
    res = optimize(bars, payload["strategy"], study_name=payload["study_name"],
                   config=ExecutionConfig.from_dict(dict(payload.get("config") or {})),
                   storage=storage, n_trials=payload.get("n_trials"),
                   timeout=payload.get("timeout"),
                   objectives=tuple(payload.get("objectives") or ("sharpe",)),
                   sampler=payload.get("sampler", "tpe"), seed=payload.get("seed"),
                   param_space=payload.get("param_space"),
                   min_trades=int(payload.get("min_trades", 3)),
                   pruning=bool(payload.get("pruning", True)),
                   workers=int(payload.get("workers", 1)),
                   asset_class=str(getattr(ac, "value", ac)), timeframe=timeframe,
                   symbol=symbol, callback=ctx.progress, cancel=ctx.cancelled, **lv)
    if ctx.cancelled():
        raise JobCancelled(f"study {res.study_name} stopped after {len(res.trials)} trials "
                           "(finished trials are stored)")
    tracked = None
    if payload.get("track", True):
        from lab.tracking.studies import track_study

        outcome = track_study(res, source="job")
        tracked = outcome.run_id if outcome.recorded else None
        if outcome.error:
            ctx.log(f"tracking: {outcome.error}")
    return {"study_name": res.study_name, "storage": storage, "trials": int(len(res.trials)),
            "complete": res.n_complete, "tracked_run": tracked}
