"""A ``StudySpec`` run on stored bars: the one service the CLI (``python -m lab
optimize``) and the job runner (``lab.jobs.optimize_job``) call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from lab.research.optimize.run import optimize
from lab.research.optimize.spec import StudySpec
from lab.research.optimize.store import StudyResult, default_storage


def run_study(spec: StudySpec, root: str | Path | None = None, *, catalog=None,
              progress: Callable[[int, int], Any] | None = None,
              cancel: Callable[[], bool] | None = None) -> StudyResult:
    """Load the bars of ``spec`` and run its trials (``optimize``).

    Parameters
    ----------
    spec : StudySpec
    root : str or Path, optional
        Data folder (``lab.core.paths.data_root``): the catalog, and the default storage
        ``sqlite:///<root>/optuna/optuna.db`` when ``spec.storage`` is None.
    catalog : lab.data.Catalog, optional
        Where the bars come from (default the catalog under ``root``).
    progress, cancel
        ``optimize``'s ``callback`` and ``cancel``.

    Returns
    -------
    StudyResult

    Raises
    ------
    ConfigError, DataError, UnknownStrategyError, LabError
    """
    from lab.api import open_catalog

    catalog = catalog if catalog is not None else open_catalog(root)
    bars = catalog.load(spec.symbol, spec.timeframe, start=spec.start, end=spec.end)
    ac = catalog.asset_class(spec.symbol)
    return optimize(bars, spec.strategy, study_name=spec.study_name, config=spec.config,
                    storage=spec.storage or default_storage(root), n_trials=spec.n_trials,
                    timeout=spec.timeout, objectives=spec.objectives, sampler=spec.sampler,
                    seed=spec.seed, param_space=spec.param_space, min_trades=spec.min_trades,
                    pruning=spec.pruning, workers=spec.workers,
                    asset_class=str(getattr(ac, "value", ac)), timeframe=spec.timeframe,
                    symbol=spec.symbol, callback=progress, cancel=cancel, **spec.levels())


def record(result: StudyResult, source: str, log: Callable[[str], None]) -> str | None:
    """Record ``result`` in MLflow (``lab.tracking.studies.track_study``); a failure is
    passed to ``log`` and never raised.

    Returns
    -------
    str or None
        The parent run id; None when not recorded.
    """
    from lab.tracking.studies import track_study

    outcome = track_study(result, source=source)
    if outcome.error:
        log(f"tracking: {outcome.error}")
    return outcome.run_id if outcome.recorded else None


__all__ = ["record", "run_study"]
