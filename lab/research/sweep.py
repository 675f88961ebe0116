"""Parameter sweeps: strategies x grids x SL/TP x leverage x symbols, on Dask.

Typical use::

    from lab.research.sweep import SweepSpec, run_sweep, load_sweep, recompute
    spec = SweepSpec(strategies=("sma_cross",), symbols=(("BTCUSD_COINBASE", "1h"),),
                     sl=(None, 0.02), leverage=(1.0, 3.0))
    res = run_sweep(spec, progress=lambda done, total: print(done, total))
    best = res.results.sort_values("sharpe", ascending=False).iloc[0]
    full = recompute(res, best)          # equity curve and trades of that row

How it runs
-----------
The rows (``SweepSpec`` module docstring gives their order and ``set_id``) are cut into
chunks; a chunk is a run of consecutive parameter sets of one strategy on one (symbol,
timeframe), with all their (sl, tp, leverage) levels. A chunk computes the signals of its
parameter sets with ``StrategySpec.signals_batch`` (indicators shared through one cache)
and runs them through ``lab.kernels.sweep.simulate_many_nb`` (or vectorbt). Chunks run:

* on an existing Dask cluster when ``scheduler`` or ``$LAB_DASK_ADDRESS`` names one;
* else on a ``LocalCluster`` of ``workers`` processes (default: one per core);
* in this process, without Dask, when ``workers=0``, or when ``workers`` is not given
  and the sweep is tiny (fewer than ``IN_PROCESS_STEPS`` bar x set steps), where
  starting a cluster would cost more than the work.

Results do not depend on the chunking or the number of workers (each row is an
independent, deterministic run).

Storage
-------
``<root>/sweeps/<sweep_id>/manifest.json`` (spec, chunk plan, data fingerprints, times,
lab version, status) and ``chunks/<chunk_id>.parquet``, each written to a temporary
file and moved into place (``os.replace``). A chunk is done when its file exists, so
a sweep that is killed and started again with the same id computes only the missing
chunks.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from lab.core.errors import ConfigError, DataError, LabError
from lab.core.paths import data_path, data_root
from lab.research.sweep_spec import SweepSpec

__all__ = ["IN_PROCESS_STEPS", "SweepCancelled", "SweepResult", "SweepSpec", "list_sweeps",
           "load_sweep", "recompute", "run_sweep", "sweeps_root"]

#: Below this many bar x set steps a sweep with no ``workers`` given runs in-process.
IN_PROCESS_STEPS = 50_000_000


class SweepCancelled(LabError):
    """The sweep was cancelled between chunks; finished chunks are kept on disk and a
    ``run_sweep`` with the same ``sweep_id`` resumes from them.

    Attributes
    ----------
    sweep_id : str
    done_sets, total_sets : int
    """

    def __init__(self, message: str, sweep_id: str = "", done_sets: int = 0,
                 total_sets: int = 0):
        super().__init__(message)
        self.sweep_id = sweep_id
        self.done_sets = done_sets
        self.total_sets = total_sets


@dataclass
class SweepResult:
    """A sweep on disk and its results.

    Attributes
    ----------
    id : str
        Sweep id (folder name under ``<root>/sweeps``).
    path : Path
        ``<root>/sweeps/<id>``.
    spec : SweepSpec
    results : DataFrame
        One row per finished set, sorted by ``set_id``: ``set_id`` (int64),
        ``strategy``, ``symbol``, ``timeframe``, ``params`` (JSON, sorted keys),
        ``param_<name>`` (float64, NaN where the strategy has no such parameter),
        ``sl``, ``tp`` (fractions, NaN = off), ``leverage``, then the metrics of
        ``BacktestResult.metrics`` (``lab.kernels.sweep.STAT_NAMES``: total_return ..
        liquidations, bars, periods_per_year, skew, kurtosis), all float64.
    manifest : dict
        The parsed ``manifest.json``.
    """

    id: str
    path: Path
    spec: SweepSpec
    results: pd.DataFrame
    manifest: dict

    @property
    def complete(self) -> bool:
        """True when every chunk of the plan has finished."""
        return self.manifest.get("status") == "complete"


def sweeps_root(root: str | Path | None = None) -> Path:
    """``<data>/sweeps`` (``root`` as in ``lab.core.paths.data_root``)."""
    return data_path("sweeps", root)


def run_sweep(spec: SweepSpec, *, sweep_id: str | None = None,
              root: str | Path | None = None, scheduler: str | None = None,
              workers: int | None = None, chunk_size: int | None = None,
              progress: Callable[[int, int], Any] | None = None,
              cancel: Callable[[], bool] | None = None, catalog=None) -> SweepResult:
    """Run (or resume) a sweep and persist its results.

    Parameters
    ----------
    spec : SweepSpec
    sweep_id : str, optional
        Folder name under ``<root>/sweeps`` (letters, digits, ``-``, ``_``, ``.``).
        When that sweep exists with the same spec it is resumed: finished chunks are
        kept and only the missing ones run. Default: a new id from the time and spec.
    root : str or Path, optional
        Data folder; default ``$LAB_DATA_DIR`` or ``./data``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); default
        ``$LAB_DASK_ADDRESS``. The workers must be able to import ``lab`` and
        ``strategies``; results come back to this process, which writes them.
    workers : int, optional
        Processes of the local cluster (default: one per core); 0 runs in-process.
    chunk_size : int, optional
        Rows per chunk (rounded to whole parameter sets). Default: at most 5e7 bar x set
        steps per chunk and about four chunks per worker or more. Ignored on resume (the
        stored plan is kept).
    progress : callable, optional
        ``progress(done_sets, total_sets)`` after each finished chunk (and once at the
        start).
    cancel : callable, optional
        ``cancel() -> bool``, checked between chunks; True stops the sweep with
        ``SweepCancelled`` (finished chunks are kept).
    catalog : lab.data.Catalog, optional
        Where the bars come from; default ``Catalog(root)`` (built from the bundled
        samples when empty).

    Returns
    -------
    SweepResult

    Raises
    ------
    ConfigError
        A sweep id in use with another spec, a bad id, or settings the engine
        cannot run (vectorbt: leverage, commission minimums).
    DataError
        Missing bars, or bars that changed since the sweep started (on resume).
    SweepCancelled
        When ``cancel()`` returned True.
    """
    from lab.research import sweep_run

    return sweep_run.run(spec, sweep_id=sweep_id, root=data_root(root), scheduler=scheduler,
                         workers=workers, chunk_size=chunk_size, progress=progress,
                         cancel=cancel, catalog=catalog)


def load_sweep(sweep_id: str, root: str | Path | None = None) -> SweepResult:
    """A stored sweep with the rows of its finished chunks.

    Raises
    ------
    DataError
        If no sweep ``sweep_id`` is stored under ``root``.
    """
    from lab.research import sweep_store

    path = sweep_store.sweep_dir(sweeps_root(root), sweep_id)
    manifest = sweep_store.read_manifest(path)
    if manifest is None:
        known = ", ".join(list_sweeps(root)["id"].tolist()[:20]) or "none"
        raise DataError(f"no sweep {sweep_id!r} under {sweeps_root(root)}; stored: {known}")
    spec = SweepSpec.from_dict(manifest["spec"])
    results = sweep_store.read_results(path, manifest)
    return SweepResult(id=sweep_id, path=path, spec=spec, results=results, manifest=manifest)


def list_sweeps(root: str | Path | None = None) -> pd.DataFrame:
    """Stored sweeps, newest first.

    Returns
    -------
    DataFrame
        ``id``, ``created_at`` (UTC Timestamp), ``strategies`` and ``symbols`` (comma
        separated; symbols as ``SYMBOL@timeframe``), ``sets`` (total rows),
        ``done_sets``, ``engine``, ``status`` ("complete" or "partial").
    """
    from lab.research import sweep_store

    return sweep_store.list_manifests(sweeps_root(root))


def recompute(sweep_result_or_spec: SweepResult | SweepSpec, row: Mapping[str, Any], *,
              catalog=None, root: str | Path | None = None):
    """Full backtest (equity curve, trades, orders) of one result row.

    Parameters
    ----------
    sweep_result_or_spec : SweepResult or SweepSpec
        Gives the date range, base config and engine.
    row : mapping
        A row of ``SweepResult.results`` (needs ``strategy``, ``symbol``,
        ``timeframe``, ``params``, ``sl``, ``tp``, ``leverage``).
    catalog : lab.data.Catalog, optional
        Default ``Catalog(root)``.
    root : str or Path, optional
        Data folder; default ``$LAB_DATA_DIR`` or ``./data``.

    Returns
    -------
    BacktestResult
        ``lab.api.run_backtest`` on the same bars and settings; its metrics equal the
        row's.

    Raises
    ------
    DataError
        When the bars differ from those the sweep read (fingerprint recorded in the
        manifest).
    """
    from lab.api import run_backtest
    from lab.data import fingerprint as data_fingerprint
    from lab.research.sweep_run import open_catalog

    if isinstance(sweep_result_or_spec, SweepResult):
        spec, manifest = sweep_result_or_spec.spec, sweep_result_or_spec.manifest
    elif isinstance(sweep_result_or_spec, SweepSpec):
        spec, manifest = sweep_result_or_spec, {}
    else:
        raise ConfigError("recompute needs a SweepResult or a SweepSpec, got "
                          f"{type(sweep_result_or_spec).__name__}")
    catalog = catalog if catalog is not None else open_catalog(data_root(root))
    symbol, timeframe = str(row["symbol"]), str(row["timeframe"])
    bars = catalog.load(symbol, timeframe, start=spec.start, end=spec.end)
    fp = data_fingerprint(bars)
    want = manifest.get("data", {}).get(f"{symbol}@{timeframe}", {}).get("fingerprint")
    if want is not None and want != fp:
        raise DataError(f"{symbol} {timeframe} bars changed since sweep "
                        f"{manifest.get('id')} ran (fingerprint {fp} != {want}); rerun the "
                        "sweep on the current data")

    def level(v):
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    config = spec.level_config(level(row["sl"]), level(row["tp"]), float(row["leverage"]))
    params = row["params"]
    params = json.loads(params) if isinstance(params, str) else dict(params)
    return run_backtest(bars, str(row["strategy"]), params, config,
                        asset_class=catalog.asset_class(symbol), timeframe=timeframe,
                        symbol=symbol, fingerprint=fp, engine=spec.engine)
