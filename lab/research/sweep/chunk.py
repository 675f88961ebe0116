"""One chunk of a sweep: signals, then the batch evaluator -> statistics.

``chunk_stats`` is the function a Dask worker runs; it takes plain values (bars frame,
parameter dicts, levels, config dict) so that it pickles, and returns an ndarray. Its
two halves, ``chunk_signals`` and ``chunk_run``, let one process compute the next
chunk's signals while the kernel runs this one.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from lab.core import registry
from lab.core.config import ExecutionConfig
from lab.engines.batch import run_many


def chunk_stats(bars: pd.DataFrame, strategy: str, param_dicts: Sequence[Mapping[str, Any]],
                levels: Sequence[tuple], config: Mapping[str, Any], periods_per_year: float,
                engine: str = "vectorized", threads: int | None = None) -> np.ndarray:
    """Statistics of every row of one chunk.

    Parameters
    ----------
    bars : DataFrame, shape (n, 5)
        OHLCV indexed by UTC ``ts_event``.
    strategy : str
        Registered strategy name.
    param_dicts : sequence of dict
        The chunk's parameter sets (``Params.to_dict()``).
    levels : sequence of (sl, tp, leverage)
        Valid levels (``SweepSpec.exec_levels()``), sl/tp fractions or None.
    config : dict
        Base ``ExecutionConfig.to_dict()``.
    periods_per_year : float
    engine : str
        "vectorized" or "vectorbt".
    threads : int, optional
        numba threads for the kernel (a local cluster gives each worker its share of
        the cores); default: numba's setting.

    Returns
    -------
    ndarray, float64, shape (len(param_dicts) x len(levels), N_STATS)
        Rows in ``set_id`` order (parameter sets slowest), ``STAT_NAMES`` columns.
    """
    signals = chunk_signals(bars, strategy, param_dicts)
    return chunk_run(bars, signals, levels, config, periods_per_year, engine, threads)


def chunk_signals(bars: pd.DataFrame, strategy: str,
                  param_dicts: Sequence[Mapping[str, Any]]) -> list:
    """The signal sets of a chunk's parameter sets (``StrategySpec.signals_batch``)."""
    spec = registry.get(strategy)
    return spec.signals_batch(bars, [spec.params_cls.from_dict(d) for d in param_dicts])


def chunk_run(bars: pd.DataFrame, signals: Sequence, levels: Sequence[tuple],
              config: Mapping[str, Any], periods_per_year: float,
              engine: str = "vectorized", threads: int | None = None) -> np.ndarray:
    """Statistics of every (signal set, level) row of a chunk: ``chunk_stats`` after its
    signals (same arguments, same result)."""
    base = ExecutionConfig.from_dict(dict(config))
    configs = [base.replace(sl=sl, tp=tp, leverage=lev) for sl, tp, lev in levels]
    return run_many(bars, signals, configs, periods_per_year, engine=engine, threads=threads)
