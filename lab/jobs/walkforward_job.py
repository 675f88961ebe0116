"""Job kind ``"walkforward"``: a ``WalkForwardSpec`` run by
``lab.research.walk_forward.service`` in a runner.

Payload (``WalkForwardSpec.to_dict()`` plus ``track`` and ``wf_id``)::

    {"data": "BTCUSD_COINBASE", "timeframe": "1h",      # a stored symbol
     "start": None, "end": None,                       # inclusive bounds, UTC
     "strategies": ["sma_cross", "rsi"],
     "grids": {"sma_cross": {"fast": [5, 10]}},        # optional overrides
     "windows": {"n_windows": 5, "train_fraction": 0.7, # or train_bars + test_bars
                 "anchored": False},
     "select": "grid", "objective": "sharpe", "min_trades": 3, "compound": False,
     "n_trials": None, "seed": 0,
     "sl": [None, 0.02], "tp": [None, 0.06],          # optional levels to choose from,
     "leverage": [1, 2],                               # fractions (None = off) / multiples
     "config": ExecutionConfig.to_dict(),
     "track": True,                                    # record it in MLflow at the end
     "wf_id": "wf-..."}                                # set at submission

``sl``, ``tp`` and ``leverage`` (lists; absent or None = the config's own value only)
are chosen per train window with the parameter set (``run_walk_forward``).

Progress is counted in (strategy, window) folds; cancel is checked before each fold.
The result is written to ``<data>/walkforward/<wf_id>/`` (``save_walk_forward``), then
recorded in MLflow (``lab.tracking.walk_forwards.track_walk_forward``, the store of the
job's data folder unless ``$MLFLOW_TRACKING_URI`` is set; a tracking failure is logged,
never fails the job). The job result is ``{"wf_id", "folder", "best", "tracked_run"}``
(``tracked_run``: the parent run id, None when not tracked).
"""

from __future__ import annotations

from typing import Any

#: Payload keys that are not part of the ``WalkForwardSpec``.
JOB_KEYS = ("track", "wf_id")


def spec_of(payload: dict[str, Any]):
    """The ``WalkForwardSpec`` of a payload (``track`` and ``wf_id`` left out)."""
    from lab.research.walk_forward import WalkForwardSpec

    return WalkForwardSpec.from_dict({k: v for k, v in payload.items() if k not in JOB_KEYS})


def prepare(payload: dict[str, Any]) -> tuple[dict, str, int, dict]:
    """Check a walk-forward payload before anything starts.

    Returns
    -------
    (payload, title, total, result)
        Normalized payload (``WalkForwardSpec.to_dict()`` with ``track`` and a
        ``wf_id``), a one-line title, the number of folds (strategies x windows, an
        estimate until the bars are loaded: windows when given, else 1 per strategy) and
        the initial result ``{"wf_id": ...}``.

    Raises
    ------
    ConfigError, ParamError, UnknownStrategyError
        As ``WalkForwardSpec`` (also for a bad ``sl`` / ``tp`` / ``leverage`` level list,
        naming the level).
    """
    from lab.research.walk_forward.service import new_wf_id

    spec = spec_of(payload)
    out = {**spec.to_dict(), "track": bool(payload.get("track", True)),
           "wf_id": payload.get("wf_id") or new_wf_id()}
    total = len(spec.strategies) * int(spec.windows.get("n_windows") or 1)
    return out, spec.title, total, {"wf_id": out["wf_id"]}


def run(payload: dict[str, Any], ctx) -> dict[str, Any]:
    """Run the walk-forward and store it; ``JobCancelled`` when a cancel stopped it."""
    from lab.jobs.runner import JobCancelled
    from lab.research.walk_forward import (WalkForwardCancelled, save_walk_forward,
                                           walk_forward_root)
    from lab.research.walk_forward.service import record, run_spec

    spec = spec_of(payload)
    try:
        result, _ = run_spec(spec, ctx.root, progress=ctx.progress, cancel=ctx.cancelled)
    except WalkForwardCancelled as exc:
        raise JobCancelled(str(exc)) from None
    folder = save_walk_forward(result, walk_forward_root(ctx.root) / payload["wf_id"])
    best = result.summary.iloc[0]
    tracked = record(result, spec, payload["wf_id"], ctx.root, "job", ctx.log) \
        if payload.get("track", True) else None
    return {"wf_id": payload["wf_id"], "folder": str(folder),
            "best": {"strategy": str(best["strategy"]),
                     "oos_sharpe": None if best["oos_sharpe"] != best["oos_sharpe"]
                     else float(best["oos_sharpe"])},
            "tracked_run": tracked}
