"""The chunk plan of a sweep and the identity columns of its rows.

A chunk covers parameter sets ``[param_start, param_stop)`` of one strategy on one
(symbol, timeframe), each with every valid (sl, tp, leverage) level; its rows are the
consecutive ``set_id``s ``[set_start, set_start + sets)``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from lab.core import registry
from lab.kernels.sweep import STAT_NAMES
from lab.research.sweep.spec import SweepSpec

#: Bar x set steps aimed at per chunk when no chunk size is given (about 0.5-1 s on
#: one core).
CHUNK_STEPS = 50_000_000
ID_COLUMNS = ["set_id", "strategy", "symbol", "timeframe", "params"]
LEVEL_COLUMNS = ["sl", "tp", "leverage"]


def param_names(spec: SweepSpec) -> list[str]:
    """Parameter names of all swept strategies (first appearance order)."""
    out: list[str] = []
    for strategy in spec.strategies:
        for s in registry.get(strategy).params_cls.specs():
            if s.name not in out:
                out.append(s.name)
    return out


def columns(spec: SweepSpec) -> dict[str, str]:
    """Result columns and dtypes, in order."""
    cols = {"set_id": "int64", "strategy": "str", "symbol": "str", "timeframe": "str",
            "params": "str"}
    cols.update({f"param_{n}": "float64" for n in param_names(spec)})
    cols.update({c: "float64" for c in LEVEL_COLUMNS})
    cols.update({c: "float64" for c in STAT_NAMES})
    return cols


def plan_chunks(spec: SweepSpec, n_bars: dict[tuple[str, str], int],
                chunk_size: int | None = None, workers: int = 1) -> list[dict]:
    """Cut the sweep into chunks.

    Parameters
    ----------
    spec : SweepSpec
    n_bars : dict of (symbol, timeframe) to int
        Bars of each series (sizes chunks by work when ``chunk_size`` is None).
    chunk_size : int, optional
        Rows per chunk, rounded down to whole parameter sets (at least one).
    workers : int
        Parallel workers; the default sizing makes about four chunks per worker or more
        (so that workers finish together).

    Returns
    -------
    list of dict
        ``{"id", "strategy", "symbol", "timeframe", "param_start", "param_stop",
        "set_start", "sets"}`` in ``set_id`` order; ids are ``"00000"``, ``"00001"``, ...
    """
    n_exec = len(spec.exec_levels())
    total = spec.count()["total"]
    chunks: list[dict] = []
    set_id = 0
    for strategy in spec.strategies:
        n_params = len(spec.parameter_sets(strategy))
        for symbol, timeframe in spec.symbols:
            if chunk_size is not None:
                rows = max(1, int(chunk_size))
            else:
                rows = max(1, CHUNK_STEPS // max(1, n_bars[(symbol, timeframe)]))
                rows = min(rows, max(1, math.ceil(total / (4 * max(1, workers)))))
            per = max(1, rows // max(1, n_exec))
            n_chunks = max(1, math.ceil(n_params / per)) if n_params else 0
            bounds = np.linspace(0, n_params, n_chunks + 1).round().astype(int)
            for a, b in zip(bounds[:-1], bounds[1:]):
                if b <= a:
                    continue
                sets = int(b - a) * n_exec
                if sets == 0:
                    continue
                chunks.append({"id": f"{len(chunks):05d}", "strategy": strategy,
                               "symbol": symbol, "timeframe": timeframe,
                               "param_start": int(a), "param_stop": int(b),
                               "set_start": set_id, "sets": sets})
                set_id += sets
    return chunks


def chunk_frame(spec: SweepSpec, chunk: dict, stats: np.ndarray) -> pd.DataFrame:
    """Rows of ``chunk``: identity columns, parameters, levels, then ``stats``.

    Parameters
    ----------
    spec : SweepSpec
    chunk : dict
        An entry of ``plan_chunks``.
    stats : ndarray, float64, shape (chunk["sets"], N_STATS)
        Statistics in ``lab.kernels.sweep.STAT_NAMES`` order.

    Returns
    -------
    DataFrame
        Columns of ``columns(spec)``.
    """
    params = spec.parameter_sets(chunk["strategy"])[chunk["param_start"]:chunk["param_stop"]]
    levels = spec.exec_levels()
    n_exec, m = len(levels), len(params) * len(levels)
    if stats.shape[0] != m:
        raise ValueError(f"chunk {chunk['id']}: {stats.shape[0]} stats rows for {m} sets")
    dicts = [p.to_dict() for p in params]
    out: dict[str, object] = {
        "set_id": np.arange(chunk["set_start"], chunk["set_start"] + m, dtype=np.int64),
        "strategy": [chunk["strategy"]] * m,
        "symbol": [chunk["symbol"]] * m,
        "timeframe": [chunk["timeframe"]] * m,
        "params": np.repeat([json.dumps(d, sort_keys=True) for d in dicts], n_exec).tolist(),
    }
    for name in param_names(spec):
        values = [float(d[name]) if name in d else np.nan for d in dicts]
        out[f"param_{name}"] = np.repeat(np.asarray(values, dtype=np.float64), n_exec)
    lv = np.array([[np.nan if sl is None else sl, np.nan if tp is None else tp, lev]
                   for sl, tp, lev in levels], dtype=np.float64).reshape(-1, 3)
    for k, name in enumerate(LEVEL_COLUMNS):
        out[name] = np.tile(lv[:, k], len(params))
    for k, name in enumerate(STAT_NAMES):
        out[name] = stats[:, k].astype(np.float64)
    frame = pd.DataFrame(out)
    for col in ("strategy", "symbol", "timeframe", "params"):
        frame[col] = frame[col].astype("str")
    return frame


#: Bar x set steps one core runs per second (the kernel, from ``CHUNK_STEPS``: 50 M
#: steps take about 0.5-1 s), for the time estimate shown before a sweep starts.
STEPS_PER_CORE_S = 5e7
#: Bytes of a result row's text columns in pandas (strategy, symbol, timeframe as
#: Python strings; params as JSON), on top of 8 bytes per numeric column.
TEXT_BYTES_PER_ROW = 4 * 60
#: Above any of these a sweep asks for confirmation (``--yes`` on the CLI, a checkbox
#: on the Sweep page): rows, estimated seconds, estimated bytes of the result table.
CONFIRM_SETS, CONFIRM_SECONDS, CONFIRM_BYTES = 500_000, 600.0, 1 << 30


def estimate(spec: SweepSpec, n_bars: dict[tuple[str, str], int],
             workers: int = 1) -> dict:
    """Size, time and memory of a sweep, before it starts.

    Parameters
    ----------
    spec : SweepSpec
    n_bars : dict of (symbol, timeframe) to int
        Bars of each series.
    workers : int
        Cores the chunks run on.

    Returns
    -------
    dict
        ``sets`` (rows), ``steps`` (bar x set), ``seconds`` (estimated, at
        ``STEPS_PER_CORE_S`` per core), ``bytes`` (estimated size of the result table
        as a pandas frame; the sweep writes it chunk by chunk and the streamed
        leaderboard reads it in batches, but ``SweepResult.results`` loads it whole), ``confirm`` (True above a ``CONFIRM_*``
        threshold) and ``text`` (one line for people).
    """
    count = spec.count()
    steps = sum(count["per_strategy"][s] // max(1, len(spec.symbols)) * int(n)
                for s in spec.strategies for n in n_bars.values())
    seconds = steps / (STEPS_PER_CORE_S * max(1, int(workers)))
    cols = columns(spec)
    numeric = sum(1 for t in cols.values() if t != "str")
    params_len = 16 * max(1, len(param_names(spec)))
    per_row = 8 * numeric + TEXT_BYTES_PER_ROW + params_len + 49
    size = count["total"] * per_row
    confirm = (count["total"] > CONFIRM_SETS or seconds > CONFIRM_SECONDS
               or size > CONFIRM_BYTES)
    text = (f"{count['total']:,} sets x {sum(n_bars.values()):,} bars: about "
            f"{_duration(seconds)} on {max(1, int(workers))} core(s) and "
            f"{_bytes(size)} of results (written chunk by chunk)")
    return {"sets": count["total"], "steps": int(steps), "seconds": float(seconds),
            "bytes": int(size), "confirm": bool(confirm), "text": text}


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _bytes(n: float) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"
