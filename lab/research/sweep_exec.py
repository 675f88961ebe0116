"""One chunk of a sweep: signals, then the sweep kernel (or vectorbt) -> statistics.

``chunk_stats`` is the function a Dask worker runs; it takes plain values (bars frame,
parameter dicts, levels, config dict) so that it pickles, and returns an ndarray.
"""

from __future__ import annotations

import threading
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from lab.core import registry
from lab.core.config import ExecutionConfig
from lab.core.strategy import Signals

# numba's default threading layer (workqueue) must not be entered by two threads at
# once; a worker with several threads runs one parallel kernel at a time.
_KERNEL_LOCK = threading.Lock()


def signal_matrices(signals: Sequence[Signals]) -> tuple[np.ndarray, ...]:
    """Stack per-set signals into four column-major bool arrays of shape (n, k)."""
    out = []
    for name in ("entries_long", "exits_long", "entries_short", "exits_short"):
        a = np.empty((len(signals[0]), len(signals)), dtype=np.bool_, order="F")
        for j, s in enumerate(signals):
            a[:, j] = getattr(s, name)
        out.append(a)
    return tuple(out)


def params_matrix(configs: Sequence[ExecutionConfig], n_sets: int) -> tuple[np.ndarray, np.ndarray]:
    """Kernel parameter rows for ``n_sets`` signal sets x ``configs`` (configs fastest).

    Returns
    -------
    params : ndarray, float64, shape (n_sets x len(configs), N_PARAMS)
    sig_col : ndarray, int64, shape (n_sets x len(configs),)
    """
    from lab.costs.kernel_params import params_vector

    base = np.stack([params_vector(c) for c in configs])
    params = np.ascontiguousarray(np.tile(base, (n_sets, 1)))
    sig_col = np.repeat(np.arange(n_sets, dtype=np.int64), len(configs))
    return params, sig_col


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
    spec = registry.get(strategy)
    params = [spec.params_cls.from_dict(d) for d in param_dicts]
    signals = spec.signals_batch(bars, params)
    base = ExecutionConfig.from_dict(dict(config))
    configs = [base.replace(sl=sl, tp=tp, leverage=lev) for sl, tp, lev in levels]
    if engine == "vectorbt":
        from lab.engines.vectorbt_batch import vectorbt_stats

        return vectorbt_stats(bars, signals, configs, periods_per_year)
    return kernel_stats(bars, signals, configs, periods_per_year, threads)


def kernel_stats(bars: pd.DataFrame, signals: Sequence[Signals],
                 configs: Sequence[ExecutionConfig], periods_per_year: float,
                 threads: int | None = None) -> np.ndarray:
    """``simulate_many_nb`` over signal sets x configs (configs fastest).

    Returns
    -------
    ndarray, float64, shape (len(signals) x len(configs), N_STATS)
    """
    import numba

    from lab.kernels.sweep import simulate_many_nb

    params, sig_col = params_matrix(configs, len(signals))
    el, xl, es, xs = signal_matrices(signals)
    o, h, l, c = (np.ascontiguousarray(bars[k].to_numpy(dtype=np.float64))
                  for k in ("open", "high", "low", "close"))
    with _KERNEL_LOCK:
        if threads is not None:
            numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
        return simulate_many_nb(o, h, l, c, el, xl, es, xs, sig_col, params,
                                float(periods_per_year))
