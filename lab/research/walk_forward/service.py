"""A ``WalkForwardSpec`` run on stored bars: the one service the CLI
(``python -m lab walkforward``) and the job runner (``lab.jobs.walkforward_job``) call.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from lab.research.walk_forward.run import run_walk_forward
from lab.research.walk_forward.spec import WalkForwardSpec
from lab.research.walk_forward.store import WalkForwardResult
from lab.research.walk_forward.windows import walk_forward_windows


def new_wf_id() -> str:
    """``wf-YYYYmmdd-HHMMSS-xxxxxx`` (UTC)."""
    return f"wf-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def run_spec(spec: WalkForwardSpec, root: str | Path | None = None,
             progress: Callable[[int, int], None] | None = None,
             cancel: Callable[[], bool] | None = None
             ) -> tuple[WalkForwardResult, pd.DataFrame]:
    """Load ``spec.data`` from the catalog under ``root``, lay out the windows and run
    the walk-forward.

    Parameters
    ----------
    spec : WalkForwardSpec
    root : str or Path, optional
        Data folder (``lab.core.paths.data_root``); the catalog is built from the bundled
        samples when empty.
    progress, cancel
        As ``run_walk_forward``.

    Returns
    -------
    (WalkForwardResult, DataFrame)
        The result and the bars it ran on.

    Raises
    ------
    WalkForwardCancelled, ConfigError, DataError, ParamError
    """
    from lab.api import open_catalog
    from lab.core.types import TIMEFRAME_SECONDS

    catalog = open_catalog(root)
    symbol, timeframe = spec.data, spec.timeframe
    if not timeframe:
        ds = catalog.datasets()
        tfs = ds.loc[ds["symbol"] == symbol, "timeframe"].tolist()
        timeframe = min(tfs, key=lambda t: TIMEFRAME_SECONDS.get(t, 10**9)) if tfs else "1d"
    bars = catalog.load(symbol, timeframe, start=spec.start, end=spec.end)
    windows = walk_forward_windows(bars.index, **spec.window_args())
    result = run_walk_forward(
        bars, spec.strategies, config=spec.config, windows=windows,
        grids=spec.grids or None, select=spec.select, objective=spec.objective,
        min_trades=spec.min_trades, compound=spec.compound,
        asset_class=catalog.asset_class(symbol), timeframe=timeframe, symbol=symbol,
        n_trials=spec.n_trials, seed=spec.seed, sl=spec.sl, tp=spec.tp,
        leverage=spec.leverage, progress=progress, cancel=cancel)
    return result, bars


def record(result: WalkForwardResult, spec: WalkForwardSpec, wf_id: str,
           root: str | Path | None, source: str, log: Callable[[str], None]) -> str | None:
    """Record ``result`` in MLflow (``lab.tracking.walk_forwards.track_walk_forward``).

    Parameters
    ----------
    result : WalkForwardResult
    spec : WalkForwardSpec
        What ran (its windows, ``n_trials`` and ``seed`` are logged).
    wf_id : str
        The walk-forward's id.
    root : str or Path, optional
        Data folder whose local store is used (``$MLFLOW_TRACKING_URI`` wins).
    source : str
        ``"job"``, ``"cli"``...
    log : callable(str)
        Where a tracking error is reported (this never raises).

    Returns
    -------
    str or None
        The parent run id; None when not recorded.
    """
    from lab.tracking import tracking_uri
    from lab.tracking.walk_forwards import track_walk_forward

    outcome = track_walk_forward(
        result, wf_id=wf_id, window_spec=spec.windows,
        extra_params={"n_trials": spec.n_trials, "seed": spec.seed},
        tracking_uri=tracking_uri(root), source=source)
    if outcome.error:
        log(f"tracking: {outcome.error}")
    return outcome.run_id if outcome.recorded else None


__all__ = ["new_wf_id", "record", "run_spec"]
