"""The batch evaluator: many parameter sets on one series of bars -> one statistics row
per set, for every research method (sweeps, walk-forward, Optuna).

``run_many`` stacks the signal sets into column-major matrices, builds one kernel
parameter row per (signal set, config) pair and runs ``lab.kernels.sweep.simulate_many_nb``
once, under ``KERNEL_LOCK``; with ``engine="vectorbt"`` the same rows go through
``lab.engines.vectorbt_batch.vectorbt_stats`` instead. Rows are ``STAT_NAMES`` of
``lab.kernels.sweep`` (the metrics of ``BacktestResult.metrics`` plus
``periods_per_year``, ``skew`` and ``kurtosis``), so a row equals the metrics of a full
backtest of that set (``lab.engines.vectorized.run``).
"""

from __future__ import annotations

import threading
from typing import Sequence, Union

import numpy as np
import pandas as pd

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.core.strategy import Signals
from lab.costs.kernel_params import params_vector

#: numba's default threading layer (workqueue) must not be entered by two threads at
#: once: every caller of the parallel sweep kernel in a process holds this lock.
KERNEL_LOCK = threading.Lock()

#: Bars as a frame with open/high/low/close columns, or those four float64 arrays.
Bars = Union[pd.DataFrame, Sequence[np.ndarray]]
SIGNAL_FIELDS = ("entries_long", "exits_long", "entries_short", "exits_short")


def ohlc_arrays(bars: Bars) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Open, high, low, close as contiguous float64 arrays of shape (n,).

    Parameters
    ----------
    bars : DataFrame or sequence of 4 ndarrays
        OHLCV frame (columns ``open``, ``high``, ``low``, ``close``), or the four arrays
        (already converted: passed through ``np.ascontiguousarray`` only).
    """
    if isinstance(bars, pd.DataFrame):
        return tuple(np.ascontiguousarray(bars[k].to_numpy(dtype=np.float64))
                     for k in ("open", "high", "low", "close"))
    if len(bars) != 4:
        raise ConfigError(f"bars must be an OHLCV frame or 4 arrays (open, high, low, "
                          f"close), got {len(bars)} arrays")
    return tuple(np.ascontiguousarray(a) for a in bars)


def signal_matrices(signals: Sequence[Signals],
                    window: slice | None = None) -> tuple[np.ndarray, ...]:
    """Stack per-set signals into four column-major bool arrays.

    Parameters
    ----------
    signals : sequence of Signals
        One per set, each of length n.
    window : slice, optional
        Bars to keep (``slice(start, stop)``); default all.

    Returns
    -------
    tuple of 4 ndarray, bool, shape (bars in window, len(signals)), Fortran order
        Entries long, exits long, entries short, exits short.
    """
    n = len(signals[0])
    start, stop, _ = (window or slice(None)).indices(n)
    out = []
    for name in SIGNAL_FIELDS:
        a = np.empty((stop - start, len(signals)), dtype=np.bool_, order="F")
        for j, s in enumerate(signals):
            a[:, j] = getattr(s, name)[start:stop]
        out.append(a)
    return tuple(out)


def params_matrix(configs: Sequence[ExecutionConfig] | np.ndarray,
                  n_sets: int) -> tuple[np.ndarray, np.ndarray]:
    """Kernel parameter rows for ``n_sets`` signal sets x ``configs`` (configs fastest).

    Returns
    -------
    params : ndarray, float64, shape (n_sets x len(configs), N_PARAMS)
    sig_col : ndarray, int64, shape (n_sets x len(configs),)
        Signal set (column of ``signal_matrices``) of each row.
    """
    base = config_rows(configs)
    params = np.ascontiguousarray(np.tile(base, (n_sets, 1)))
    sig_col = np.repeat(np.arange(n_sets, dtype=np.int64), len(configs))
    return params, sig_col


def config_rows(configs: Sequence[ExecutionConfig] | np.ndarray) -> np.ndarray:
    """Kernel parameter rows (``params_vector``) of ``configs``, shape (len, N_PARAMS);
    an ndarray is taken as already built."""
    if isinstance(configs, np.ndarray):
        return configs
    return np.stack([params_vector(c) for c in configs])


def run_many(bars: Bars, signals: Sequence[Signals],
             configs: Sequence[ExecutionConfig] | np.ndarray, periods_per_year: float, *,
             pairs: Sequence[tuple[int, int]] | None = None, window: slice | None = None,
             engine: str = "vectorized", threads: int | None = None) -> np.ndarray:
    """Statistics of many (signal set, config) runs on the same bars, in one kernel call.

    Parameters
    ----------
    bars : DataFrame or sequence of 4 ndarray
        OHLCV indexed by UTC ``ts_event``, or its open/high/low/close as float64 arrays
        of shape (n,).
    signals : sequence of Signals
        The signal sets, each of length n (``StrategySpec.signals_batch``).
    configs : sequence of ExecutionConfig, or ndarray (k, N_PARAMS)
        Execution settings (or their ``params_vector`` rows).
    periods_per_year : float
        Bars per year, for the annualized statistics.
    pairs : sequence of (set index, config index), optional
        The runs, in output order. Default: every set x every config, configs fastest
        (row ``set * len(configs) + config``).
    window : slice, optional
        Run on bars ``window`` only (a walk-forward train or test window); default all.
    engine : {"vectorized", "vectorbt"}
        "vectorbt" runs the full grid through vectorbt (``lab.engines.vectorbt_batch``;
        no ``pairs`` or ``window``).
    threads : int, optional
        numba threads for the kernel (a Dask worker's share of the cores); default
        numba's setting.

    Returns
    -------
    ndarray, float64, shape (runs, N_STATS)
        ``lab.kernels.sweep.STAT_NAMES`` columns, one row per run.

    Raises
    ------
    ConfigError
        An unknown engine, or ``pairs`` / ``window`` with ``engine="vectorbt"``.
    """
    if engine == "vectorbt":
        if pairs is not None or window is not None:
            raise ConfigError("engine='vectorbt' runs whole grids only (no pairs, no window)")
        from lab.engines.vectorbt_batch import vectorbt_stats

        return vectorbt_stats(bars, signals, list(configs), periods_per_year)
    if engine != "vectorized":
        raise ConfigError(f"unknown batch engine {engine!r}; use 'vectorized' or 'vectorbt'")
    import numba

    from lab.kernels.sweep import simulate_many_nb

    if pairs is None:
        params, sig_col = params_matrix(configs, len(signals))
        el, xl, es, xs = signal_matrices(signals, window)
    else:
        rows = config_rows(configs)
        sets = list(dict.fromkeys(s for s, _ in pairs))           # each set's signals once
        pos = {j: k for k, j in enumerate(sets)}
        el, xl, es, xs = signal_matrices([signals[j] for j in sets], window)
        params = np.ascontiguousarray(rows[[c for _, c in pairs]])
        sig_col = np.array([pos[s] for s, _ in pairs], dtype=np.int64)
    o, h, l, c = ohlc_arrays(bars)
    if window is not None:
        o, h, l, c = (np.ascontiguousarray(a[window]) for a in (o, h, l, c))
    with KERNEL_LOCK:
        if threads is not None:
            numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
        return simulate_many_nb(o, h, l, c, el, xl, es, xs, sig_col, params,
                                float(periods_per_year))


__all__ = ["KERNEL_LOCK", "ohlc_arrays", "params_matrix", "run_many", "signal_matrices"]
