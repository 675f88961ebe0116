"""Grid-neighbour sums of a stored sweep (the inputs of its stability), computed one
grid at a time and kept on disk, indexed by ``set_id``.

``lab.research.sweep.leaderboard.stability`` sums, for every row, the Sharpe ratios of
the rows one grid step away on one parameter (same strategy, symbol, timeframe and
levels). Here DuckDB builds each row's integer cell key as ``stability`` builds it;
then, one grid at a time, the grid's sorted keys and Sharpe ratios are looked up with
``searchsorted`` for the rows, read in batches, and the neighbours' Sharpe ratios are
added in the same order, so the sums are equal to the last bit. (DuckDB self-joins ran
out of the memory limit on a 15.5 M-row grid.)

The sums go to two flat files of the sweep's work folder (``SumsFile``: 16 bytes a set,
300 MB at 18.7 M sets) written and read through short-lived memory maps, so they take no
memory of the process between batches (a DuckDB table of them, sorted back by
``set_id``, held 183 MB of the scoring's memory at 18.7 M sets).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from lab.core.sql import identifier


class SumsFile:
    """Neighbour sums by ``set_id`` on disk: ``nb_total`` (float64, sum of the
    neighbours' annualized Sharpe ratios, NaN as 0) and ``nb_count`` (int64, number of
    neighbours); 0 and 0 for a set that has none.

    Parameters
    ----------
    folder : Path
        An existing work folder; ``nb_total.f8`` and ``nb_count.i8`` are created in it
        (sparse, zero-filled).
    n_sets : int
        Number of set ids (``0 .. n_sets - 1``).
    """

    def __init__(self, folder: Path, n_sets: int) -> None:
        self.n = max(0, int(n_sets))
        self.paths = (Path(folder) / "nb_total.f8", Path(folder) / "nb_count.i8")
        for p in self.paths:
            with open(p, "wb") as fh:
                fh.truncate(self.n * 8)

    def _map(self, k: int, lo: int, hi: int, mode: str) -> np.memmap:
        dtype = np.float64 if k == 0 else np.int64
        return np.memmap(self.paths[k], dtype=dtype, mode=mode, offset=lo * 8,
                         shape=(hi - lo,))

    def put(self, ids: np.ndarray, total: np.ndarray, count: np.ndarray) -> None:
        """Store the sums of ``ids`` (int64, any order, each at most once)."""
        if not len(ids):
            return
        lo, hi = int(ids.min()), int(ids.max()) + 1
        for k, values in enumerate((total, count)):
            m = self._map(k, lo, hi, "r+")
            m[ids - lo] = values
            m.flush()
            del m                          # unmapped: the pages leave this process

    def get(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sums of ``ids`` (int64): ``(total float64, count int64)``, each shaped
        like ``ids``."""
        if not len(ids):
            return np.empty(0), np.empty(0, dtype=np.int64)
        lo, hi = int(ids.min()), int(ids.max()) + 1
        out = []
        for k in (0, 1):
            m = self._map(k, lo, hi, "r")
            out.append(np.array(m[ids - lo]))
            del m
        return out[0], out[1]


def write_sums(con, strategies: list[str], param_cols: list[str], sums: SumsFile,
               batch_rows: int, held: Callable[[int], None] = lambda n: None) -> None:
    """Fill ``sums`` with every row's neighbour sums, one grid (strategy, symbol,
    timeframe, levels) at a time.

    Parameters
    ----------
    con : duckdb connection
        With the view ``r`` over the sweep's chunk files.
    strategies : list of str
    param_cols : list of str
        The ``param_*`` columns of the sweep.
    sums : SumsFile
    batch_rows : int
        Rows read from DuckDB at a time.
    held : callable, optional
        Called with the number of rows held at once (the bounded-memory test's probe).
    """
    filled = {}
    if param_cols:
        for row in con.execute("SELECT strategy, " + ", ".join(
                f"count({identifier(c)})" for c in param_cols) + " FROM r GROUP BY strategy").fetchall():
            filled[row[0]] = [c for c, n in zip(param_cols, row[1:]) if n]
    for strategy in strategies:
        pcols = filled.get(strategy, [])
        if pcols:
            _strategy_sums(con, strategy, pcols, sums, batch_rows, held)
    con.execute("DROP TABLE IF EXISTS t")


def _strategy_sums(con, strategy: str, pcols: list[str], sums: SumsFile, batch_rows: int,
                   held: Callable[[int], None]) -> None:
    groups = con.execute(
        "SELECT DISTINCT symbol, timeframe, coalesce(sl, -1.0), coalesce(tp, -1.0), "
        "coalesce(leverage, -1.0) FROM r WHERE strategy = ? ORDER BY ALL",
        [strategy]).fetchall()
    con.execute("CREATE OR REPLACE TABLE g (symbol VARCHAR, timeframe VARCHAR, "
                "sl DOUBLE, tp DOUBLE, leverage DOUBLE, gid BIGINT)")
    con.executemany("INSERT INTO g VALUES (?, ?, ?, ?, ?, ?)",
                    [list(row) + [i] for i, row in enumerate(groups)])
    radix, lens = [], []
    for k, c in enumerate(pcols):
        vals = [v for (v,) in con.execute(
            f"SELECT DISTINCT {identifier(c)} FROM r WHERE strategy = ? AND isfinite({identifier(c)}) "
            f"ORDER BY 1", [strategy]).fetchall()]
        con.execute(f"CREATE OR REPLACE TABLE m{k} (v DOUBLE, i BIGINT)")
        con.executemany(f"INSERT INTO m{k} VALUES (?, ?)",
                        [[float(v), i] for i, v in enumerate(vals)])
        lens.append(len(vals))
        radix.append(len(vals) + 2)
    mult = np.cumprod([1] + radix[:-1]).astype(np.int64).tolist()
    cells = int(np.prod(radix))
    coord = [f"coalesce(m{k}.i, {lens[k] + 1})" for k in range(len(pcols))]
    key = f"g.gid * {cells} + " + " + ".join(f"{c} * {m}" for c, m in zip(coord, mult))
    joins = " ".join(f"LEFT JOIN m{k} ON r.{identifier(c)} = m{k}.v" for k, c in enumerate(pcols))
    con.execute(f"""
        CREATE OR REPLACE TABLE t AS
        SELECT r.set_id, g.gid, {key} AS k, coalesce(r.sharpe, 0.0) AS s,
               {", ".join(f"{c} AS c{k}" for k, c in enumerate(coord))}
        FROM r JOIN g ON r.symbol = g.symbol AND r.timeframe = g.timeframe
             AND coalesce(r.sl, -1.0) = g.sl AND coalesce(r.tp, -1.0) = g.tp
             AND coalesce(r.leverage, -1.0) = g.leverage
        {joins}
        WHERE r.strategy = ?""", [strategy])
    coords = ", ".join(f"c{k}" for k in range(len(pcols)))
    for gid in range(len(groups)):             # one grid (strategy, symbol, level) at a time
        lookup = con.execute("SELECT k, s FROM t WHERE gid = ? ORDER BY k",
                             [gid]).fetchnumpy()
        sorted_key = np.asarray(lookup["k"], dtype=np.int64)
        sorted_s = np.asarray(lookup["s"], dtype=float)
        del lookup
        batches = con.sql(f"SELECT set_id, k, {coords} FROM t WHERE gid = {int(gid)} "
                          "ORDER BY set_id").to_arrow_reader(batch_rows)
        for batch in batches:
            held(batch.num_rows)
            cols = {name: batch.column(i).to_numpy(zero_copy_only=False)
                    for i, name in enumerate(batch.schema.names)}
            total, count = neighbour_sums(
                cols["k"].astype(np.int64), sorted_key, sorted_s,
                [cols[f"c{k}"].astype(np.int64) for k in range(len(pcols))], mult, lens)
            sums.put(cols["set_id"].astype(np.int64), total, count)


def neighbour_sums(key: np.ndarray, sorted_key: np.ndarray, sorted_s: np.ndarray,
                   coords: list[np.ndarray], mult: list[int],
                   lens: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the grid neighbours' Sharpe ratios and their number, for some rows of one
    grid (one strategy on one symbol, timeframe and level): the same steps in the same
    order as ``leaderboard.stability``, so the sums are equal to the last bit.

    Parameters
    ----------
    key : ndarray, int64, shape (n,)
        The rows' cells on the grid (``sum(coord * mult)`` plus a per-grid offset).
    sorted_key, sorted_s : ndarray, shape (g,)
        Every cell of the grid, sorted, and its Sharpe ratio (missing ones as 0): the
        lookup, 16 bytes per parameter set of the grid.
    coords : list of ndarray, int64, shape (n,)
        Per parameter, the index of the row's value among the strategy's values
        (``lens[k] + 1`` for a missing value: no neighbour).
    mult, lens : list of int
        Key multiplier and number of values of each parameter.

    Returns
    -------
    (ndarray float64, ndarray int64), shape (n,) each
    """
    total = np.zeros(len(key))
    count = np.zeros(len(key), dtype=np.int64)
    if not len(key) or not len(sorted_key):
        return total, count
    for coord, m, n_values in zip(coords, mult, lens):
        for step in (-1, 1):
            moved = coord + step
            ok = (moved >= 0) & (moved < n_values) & (coord < n_values)
            target = key + step * m
            pos = np.minimum(np.searchsorted(sorted_key, target), len(sorted_key) - 1)
            ok &= sorted_key[pos] == target
            total += np.where(ok, sorted_s[pos], 0.0)
            count += ok
    return total, count
