"""Job kind ``"walkforward"``: ``lab.research.walk_forward.run_walk_forward`` in a runner.

Payload::

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

import secrets
import time
from pathlib import Path
from typing import Any, Callable

WINDOW_KEYS = ("n_windows", "train_fraction", "train_bars", "test_bars", "anchored")


def new_wf_id() -> str:
    """``wf-YYYYmmdd-HHMMSS-xxxxxx`` (UTC)."""
    return f"wf-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def _strategies(payload: dict[str, Any]) -> list[str]:
    from lab.core.errors import ConfigError

    s = payload.get("strategies") or []
    s = [x.strip() for x in (s.split(",") if isinstance(s, str) else s) if str(x).strip()]
    if not s:
        raise ConfigError("a walk-forward needs at least one strategy (e.g. sma_cross)")
    return s


def prepare(payload: dict[str, Any]) -> tuple[dict, str, int, dict]:
    """Check a walk-forward payload before anything starts.

    Returns
    -------
    (payload, title, total, result)
        Normalized payload (with a ``wf_id``), a one-line title, the number of folds
        (strategies x windows, an estimate until the bars are loaded: windows when given,
        else 1 per strategy) and the initial result ``{"wf_id": ...}``.

    Raises
    ------
    ConfigError, ParamError, UnknownStrategyError
        Also for a bad ``sl`` / ``tp`` / ``leverage`` level list, naming the level.
    """
    from lab.core import registry
    from lab.core.config import ExecutionConfig
    from lab.core.errors import ConfigError
    from lab.research.walk_forward import LEVELS, SELECT, walk_forward_spec

    out = dict(payload)
    out["strategies"] = _strategies(payload)
    for s in out["strategies"]:
        registry.get(s)
    if not out.get("data"):
        raise ConfigError("a walk-forward needs data: a stored symbol")
    if out.get("select", "grid") not in SELECT:
        raise ConfigError(f"unknown selection {out.get('select')!r}; use one of {SELECT}")
    config = ExecutionConfig.from_dict(dict(out.get("config") or {}))
    levels = {k: out.get(k) for k in LEVELS}
    walk_forward_spec(out["strategies"], config=config, grids=out.get("grids") or None,
                      **levels)
    for k, v in levels.items():                          # JSON lists, null = off
        out[k] = None if v is None else list(v)
    out["wf_id"] = payload.get("wf_id") or new_wf_id()
    win = dict(out.get("windows") or {})
    n_win = int(win.get("n_windows") or 1)
    total = len(out["strategies"]) * n_win
    title = (f"walk-forward {', '.join(out['strategies'])} on {out['data']}"
             f"@{out.get('timeframe') or 'finest'} · {out.get('select', 'grid')}")
    return out, title, total, {"wf_id": out["wf_id"]}


def execute(payload: dict[str, Any], root: str | Path | None = None,
            progress: Callable[[int, int], None] | None = None,
            cancel: Callable[[], bool] | None = None):
    """Load the bars, lay out the windows and run the walk-forward.

    Returns
    -------
    (WalkForwardResult, bars)

    Raises
    ------
    WalkForwardCancelled, ConfigError, DataError, ParamError
    """
    from lab.api import open_catalog
    from lab.core.config import ExecutionConfig
    from lab.research.walk_forward import run_walk_forward, walk_forward_windows

    catalog = open_catalog(root)
    symbol = payload["data"]
    timeframe = payload.get("timeframe")
    if not timeframe:
        from lab.core.types import TIMEFRAME_SECONDS

        ds = catalog.datasets()
        tfs = ds.loc[ds["symbol"] == symbol, "timeframe"].tolist()
        timeframe = min(tfs, key=lambda t: TIMEFRAME_SECONDS.get(t, 10**9)) if tfs else "1d"
    bars = catalog.load(symbol, timeframe, start=payload.get("start"), end=payload.get("end"))
    win = {k: v for k, v in dict(payload.get("windows") or {}).items()
           if k in WINDOW_KEYS and v is not None}
    windows = walk_forward_windows(bars.index, **win)
    result = run_walk_forward(
        bars, _strategies(payload), config=ExecutionConfig.from_dict(dict(payload.get("config")
                                                                          or {})),
        windows=windows, grids=payload.get("grids") or None,
        select=payload.get("select", "grid"), objective=payload.get("objective", "sharpe"),
        min_trades=int(payload.get("min_trades", 3)), compound=bool(payload.get("compound")),
        asset_class=catalog.asset_class(symbol), timeframe=timeframe, symbol=symbol,
        n_trials=payload.get("n_trials"), seed=int(payload.get("seed") or 0),
        sl=payload.get("sl"), tp=payload.get("tp"), leverage=payload.get("leverage"),
        progress=progress, cancel=cancel)
    return result, bars


def run(payload: dict[str, Any], ctx) -> dict[str, Any]:
    """Run the walk-forward and store it; ``JobCancelled`` when a cancel stopped it."""
    from lab.jobs.runner import JobCancelled
    from lab.research.walk_forward import (WalkForwardCancelled, save_walk_forward,
                                           walk_forward_root)

    try:
        result, _ = execute(payload, ctx.root, progress=ctx.progress, cancel=ctx.cancelled)
    except WalkForwardCancelled as exc:
        raise JobCancelled(str(exc)) from None
    folder = save_walk_forward(result, walk_forward_root(ctx.root) / payload["wf_id"])
    best = result.summary.iloc[0]
    return {"wf_id": payload["wf_id"], "folder": str(folder),
            "best": {"strategy": str(best["strategy"]),
                     "oos_sharpe": None if best["oos_sharpe"] != best["oos_sharpe"]
                     else float(best["oos_sharpe"])},
            "tracked_run": track(result, payload, ctx.root, "job", ctx.log)}


def track(result, payload: dict[str, Any], root: str | Path | None, source: str,
          log: Callable[[str], None]) -> str | None:
    """Record ``result`` in MLflow when ``payload["track"]`` (default True).

    Parameters
    ----------
    result : WalkForwardResult
    payload : dict
        The job payload (``wf_id``, ``windows``, ``n_trials``, ``seed``, ``track``).
    root : str or Path, optional
        Data folder whose local store is used (``$MLFLOW_TRACKING_URI`` wins).
    source : str
        ``"job"``, ``"cli"``...
    log : callable(str)
        Where a tracking error is reported (it never raises).

    Returns
    -------
    str or None
        The parent run id; None when not tracked or not recorded.
    """
    if not payload.get("track", True):
        return None
    from lab.tracking import tracking_uri
    from lab.tracking.walk_forwards import track_walk_forward

    outcome = track_walk_forward(
        result, wf_id=payload.get("wf_id"), window_spec=payload.get("windows"),
        extra_params={k: payload.get(k) for k in ("n_trials", "seed")},
        tracking_uri=tracking_uri(root), source=source)
    if outcome.error:
        log(f"tracking: {outcome.error}")
    return outcome.run_id if outcome.recorded else None
