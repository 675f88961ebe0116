"""Leaderboards of a sweep: ranking, what the search hides, heatmaps, comparisons.

Input is the results frame of ``lab.research.sweep`` (one row per parameter set and
symbol): ``set_id, strategy, symbol, timeframe, params`` (JSON), ``param_<name>``
(float, NaN where the strategy has no such parameter), ``sl, tp`` (fractions, NaN =
off), ``leverage``, the ``BacktestResult.metrics`` (``sharpe`` annualized with
``sqrt(periods_per_year)``, returns and drawdowns as fractions) and ``bars,
periods_per_year, skew, kurtosis`` (Pearson, normal = 3) of the per-bar returns.

A long sweep always finds something that looks good. Next to the Sharpe ratio the board
shows what that is worth:

* ``dsr``, the deflated Sharpe ratio (Bailey & López de Prado 2014): the probability
  that the row's true Sharpe is above zero after accounting for having tried every
  parameter set of the sweep on that symbol and timeframe (N trials, the variance of
  their per-bar Sharpe ratios), for its track record length, skew and kurtosis. See
  ``lab.metrics.overfitting``.
* ``stability``: how much of the Sharpe survives a one-step change of one parameter
  (see ``stability``); an isolated peak on a rough surface scores near 0.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Mapping

import numpy as np
import pandas as pd

from lab.metrics.overfitting import (deflated_sharpe_ratio, expected_max_sharpe,
                                     min_track_record_length, per_bar_sharpe,
                                     probabilistic_sharpe_ratio)

#: Columns that place a row on the parameter grid besides its ``param_*`` values.
GRID_KEYS = ("strategy", "symbol", "timeframe", "sl", "tp", "leverage")
#: Leading columns of a leaderboard, in order (the other result columns follow).
BOARD_COLUMNS = ["rank", "strategy", "symbol", "timeframe", "params", "sl", "tp",
                 "leverage", "trades", "win_rate", "max_drawdown", "exposure", "cagr",
                 "total_return", "sharpe", "profit_factor", "dsr", "stability",
                 "neighbours", "psr", "min_trl"]
#: Ranking keys, all descending: Sharpe, then profit factor, then total return.
RANK_BY = ("sharpe", "profit_factor", "total_return")


def param_columns(results: pd.DataFrame, strategy: str | None = None) -> list[str]:
    """``param_<name>`` columns that hold values (for ``strategy`` when given)."""
    rows = results if strategy is None else results[results["strategy"] == strategy]
    return [c for c in results.columns if c.startswith("param_") and rows[c].notna().any()]


def _column(results: pd.DataFrame, name: str) -> str:
    """``name`` as a column of ``results``: ``fast`` is found as ``param_fast``."""
    if name in results.columns:
        return name
    if f"param_{name}" in results.columns:
        return f"param_{name}"
    raise KeyError(f"no column {name!r} in the sweep results; parameters are "
                   f"{[c[6:] for c in param_columns(results)]}, other columns "
                   f"{[c for c in results.columns if not c.startswith('param_')]}")


def add_dsr(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with ``sharpe_bar`` (per bar), ``psr`` (P[true Sharpe > 0]),
    ``dsr`` (deflated for the trials of the row's symbol and timeframe) and ``min_trl``
    (minimum track record length in bars for P[true Sharpe > 0] >= 95 %, Bailey & López
    de Prado 2012; +inf when the Sharpe is not positive; compare with ``bars``).

    N is the number of rows (parameter sets tried, rows below any trade minimum
    included) of the same ``symbol`` and ``timeframe``; V is the sample variance
    (ddof=1) of their finite per-bar Sharpe ratios (0 with fewer than two). A row
    without a Sharpe (flat equity) gets NaN. Missing skew/kurtosis count as normal.
    """
    out = results.copy()
    ppy = out["periods_per_year"].astype(float)
    out["sharpe_bar"] = per_bar_sharpe(out["sharpe"].astype(float), ppy)
    groups = out.groupby(["symbol", "timeframe"], sort=False, dropna=False)["sharpe_bar"]
    n = groups.transform("size").astype(float)
    var = groups.transform(lambda s: s.var(ddof=1) if s.notna().sum() > 1 else 0.0)
    return dsr_columns(out, n.to_numpy(), var.fillna(0.0).to_numpy())


def dsr_columns(out: pd.DataFrame, trials: np.ndarray, variance: np.ndarray) -> pd.DataFrame:
    """Add ``sharpe_bar``, ``psr``, ``dsr`` and ``min_trl`` to ``out`` in place (see
    ``add_dsr``), given each row's trial count N and per-bar Sharpe variance V.

    Parameters
    ----------
    out : DataFrame
        Result rows (``sharpe``, ``periods_per_year``, ``bars``, ``skew``, ``kurtosis``).
    trials, variance : ndarray, float64, shape (len(out),)
        N and V of the row's (symbol, timeframe) over the whole sweep, so that a batch
        of rows scores as it would in the full frame.

    Returns
    -------
    DataFrame
        ``out``.
    """
    ppy = out["periods_per_year"].astype(float)
    out["sharpe_bar"] = per_bar_sharpe(out["sharpe"].astype(float), ppy)
    skew = out["skew"].astype(float).fillna(0.0) if "skew" in out else 0.0
    kurt = out["kurtosis"].astype(float).fillna(3.0) if "kurtosis" in out else 3.0
    bars = out["bars"].astype(float)
    out["psr"] = probabilistic_sharpe_ratio(out["sharpe_bar"].to_numpy(), bars.to_numpy(),
                                            0.0, np.asarray(skew), np.asarray(kurt))
    out["dsr"] = deflated_sharpe_ratio(out["sharpe_bar"].to_numpy(), bars.to_numpy(),
                                       np.asarray(trials, dtype=float),
                                       np.asarray(variance, dtype=float),
                                       np.asarray(skew), np.asarray(kurt))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["min_trl"] = min_track_record_length(out["sharpe_bar"].to_numpy(), 0.0,
                                                 np.asarray(skew), np.asarray(kurt), 0.95)
    return out


def stability(results: pd.DataFrame) -> pd.DataFrame:
    """Sharpe of each row's neighbours on the parameter grid, relative to its own.

    Neighbours of a row are the rows with the same ``strategy, symbol, timeframe, sl,
    tp, leverage`` whose parameters are equal except one, which sits one grid step away
    (the next smaller or larger value of that parameter among the values the sweep
    tried for the strategy). A neighbour without a Sharpe (flat equity, no trades)
    counts as Sharpe 0.

    ``stability = clip(mean(neighbour Sharpe) / Sharpe, 0, 1)``: 1 when the
    neighbours do at least as well (a plateau), 0 when they lose money (an isolated
    peak). NaN when the row has no neighbour (a single-value grid) or its own Sharpe is
    not positive (there is nothing to keep).

    Returns
    -------
    DataFrame
        Indexed like ``results``: ``stability`` (float in [0, 1] or NaN),
        ``neighbours`` (int), ``neighbour_sharpe`` (mean, annualized).
    """
    n = len(results)
    total = np.zeros(n)
    count = np.zeros(n, dtype=np.int64)
    sharpe_all = results["sharpe"].astype(float).to_numpy()
    pos_of = {label: i for i, label in enumerate(results.index)} if n else {}
    for strategy, sub in results.groupby("strategy", sort=False):
        pcols = param_columns(sub)
        if not pcols:
            continue
        keys = sub[list(GRID_KEYS[1:])].astype(object).where(sub[list(GRID_KEYS[1:])].notna(),
                                                              "off")
        gid = keys.groupby(list(keys.columns), sort=False, dropna=False).ngroup().to_numpy()
        coords, radix = [], []
        for c in pcols:
            vals = sub[c].to_numpy(dtype=float)
            uniq = np.unique(vals[np.isfinite(vals)])
            idx = np.searchsorted(uniq, vals)
            idx = np.where(np.isfinite(vals), idx, len(uniq) + 1)   # NaN: no neighbour
            coords.append(idx.astype(np.int64))
            radix.append(len(uniq) + 2)
        mult = np.cumprod([1] + radix[:-1]).astype(np.int64)
        cells = int(np.prod(radix))
        key = gid.astype(np.int64) * cells + sum(c * m for c, m in zip(coords, mult))
        sharpe = np.nan_to_num(sub["sharpe"].to_numpy(dtype=float), nan=0.0)
        by_key = pd.Series(sharpe).groupby(key).mean()
        sub_total = np.zeros(len(sub))
        sub_count = np.zeros(len(sub), dtype=np.int64)
        for coord, m, r in zip(coords, mult, radix):
            for step in (-1, 1):
                moved = coord + step
                ok = (moved >= 0) & (moved < r - 2) & (coord < r - 2)
                found = by_key.reindex(key + step * m).to_numpy()
                ok &= ~np.isnan(found)
                sub_total += np.where(ok, found, 0.0)
                sub_count += ok
        rows = np.fromiter((pos_of[i] for i in sub.index), dtype=np.int64, count=len(sub))
        total[rows] = sub_total
        count[rows] = sub_count
    return stability_from_sums(sharpe_all, total, count, results.index)


def stability_from_sums(sharpe: np.ndarray, total: np.ndarray, count: np.ndarray,
                        index=None) -> pd.DataFrame:
    """``stability`` columns from each row's own Sharpe, the sum of its neighbours'
    Sharpe ratios (NaN counted as 0) and their number (see ``stability``).

    Parameters
    ----------
    sharpe, total : ndarray, float64, shape (n,)
    count : ndarray, int64, shape (n,)
    index : pandas Index, optional

    Returns
    -------
    DataFrame
        ``stability``, ``neighbours``, ``neighbour_sharpe``.
    """
    sharpe = np.asarray(sharpe, dtype=float)
    count = np.asarray(count, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_nb = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        ratio = np.clip(mean_nb / sharpe, 0.0, 1.0)
    ratio = np.where((count > 0) & (sharpe > 0), ratio, np.nan)
    return pd.DataFrame({"stability": ratio, "neighbours": count,
                         "neighbour_sharpe": mean_nb}, index=index)


def _rank_order(frame: pd.DataFrame) -> pd.DataFrame:
    keys = [k for k in RANK_BY if k in frame.columns]
    return frame.sort_values(keys, ascending=False, na_position="last", kind="mergesort")


def filter_board(board: pd.DataFrame, filters: Mapping[str, Any] | None) -> pd.DataFrame:
    """Rows of ``board`` (or results) that meet ``filters`` (see ``leaderboard``).

    Raises
    ------
    KeyError
        A filter names a column that does not exist.
    ValueError
        A filter tuple is not ``(low, high)``.
    """
    if not filters:
        return board
    keep = pd.Series(True, index=board.index)
    for name, cond in filters.items():
        col = board[_column(board, name)]
        if isinstance(cond, tuple):
            if len(cond) != 2:
                raise ValueError(f"filter {name}={cond!r}: a tuple is a range (low, high); "
                                 "use a list for a set of values")
            lo, hi = cond
            if lo is not None:
                keep &= col >= lo
            if hi is not None:
                keep &= col <= hi
        elif isinstance(cond, (list, set, frozenset)):
            keep &= col.isin(list(cond))
        else:
            keep &= col == cond
    return board[keep]


def leaderboard(results: pd.DataFrame, *, min_trades: int = 3,
                filters: Mapping[str, Any] | None = None,
                top: int | None = None) -> pd.DataFrame:
    """Rank a sweep's rows by Sharpe, then profit factor, then total return.

    Parameters
    ----------
    results : DataFrame
        Sweep results (see the module docstring), every row a trial.
    min_trades : int
        Rows with fewer closed trades are excluded from the board (counted in
        ``attrs["excluded_min_trades"]``). They still count as trials for the DSR and
        as grid neighbours for the stability.
    filters : mapping, optional
        Column (or parameter name without ``param_``) -> condition: a ``(low, high)``
        tuple is an inclusive range (None = open), a list or set keeps those values, a
        scalar keeps equal values. E.g. ``{"max_drawdown": (-0.3, None), "strategy":
        ["rsi"], "fast": (5, 20)}``. Applied after ranking, so ranks do not move.
    top : int, optional
        Keep only the first ``top`` rows (after filters).

    Returns
    -------
    DataFrame
        ``BOARD_COLUMNS`` then the remaining result columns, one row per kept trial,
        best first. ``rank`` is 1-based among the rows with enough trades. ``dsr`` and
        ``psr`` are probabilities; ``stability`` in [0, 1] or NaN (see ``stability``).
        ``attrs``: ``trials`` (rows of the sweep), ``min_trades``,
        ``excluded_min_trades``, ``filtered_out``.

    Raises
    ------
    KeyError
        A filter names a column the results do not have.
    ValueError
        A filter tuple is not ``(low, high)``.
    """
    trials = len(results)
    scored = add_dsr(results)
    scored = scored.join(stability(results))
    enough = scored["trades"].fillna(0) >= min_trades
    board = _rank_order(scored[enough]).reset_index(drop=True)
    board.insert(0, "rank", np.arange(1, len(board) + 1))
    ranked = len(board)
    board = filter_board(board, filters)
    filtered = len(board)
    if top is not None:
        board = board.head(int(top))
    return arrange_board(board, trials, int(min_trades), ranked, filtered)


def arrange_board(board: pd.DataFrame, trials: int, min_trades: int, ranked: int,
                  filtered: int) -> pd.DataFrame:
    """``BOARD_COLUMNS`` first, a fresh index and the ``attrs`` of ``leaderboard``
    (``trials``, ``min_trades``, ``excluded_min_trades``, ``filtered_out``)."""
    lead = [c for c in BOARD_COLUMNS if c in board.columns]
    board = board[lead + [c for c in board.columns if c not in lead]].reset_index(drop=True)
    board.attrs = {"trials": int(trials), "min_trades": int(min_trades),
                   "excluded_min_trades": int(trials - ranked),
                   "filtered_out": int(ranked - filtered)}
    return board


def trials_summary(results: pd.DataFrame) -> pd.DataFrame:
    """What the search cost, per symbol and timeframe (the unit the DSR deflates by).

    Returns
    -------
    DataFrame
        One row per (``symbol``, ``timeframe``): ``trials`` (N, parameter sets tried),
        ``with_sharpe`` (trials with a defined Sharpe), ``sharpe_variance_bar``
        (variance of the per-bar Sharpe ratios, ddof=1), ``expected_max_sharpe``
        (annualized expected best Sharpe of N skill-less trials with that variance,
        Bailey & López de Prado 2014 eq. 2), ``best_sharpe`` (annualized),
        ``periods_per_year`` and ``bars`` (median).
    """
    rows = []
    for (symbol, tf), g in results.groupby(["symbol", "timeframe"], sort=True):
        ppy = float(g["periods_per_year"].median())
        bar = per_bar_sharpe(g["sharpe"].astype(float), ppy)
        finite = bar[np.isfinite(bar)]
        var = float(np.var(finite, ddof=1)) if len(finite) > 1 else 0.0
        emax = float(expected_max_sharpe(len(g), var)) * np.sqrt(ppy)
        rows.append({"symbol": symbol, "timeframe": tf, "trials": len(g),
                     "with_sharpe": int(len(finite)), "sharpe_variance_bar": var,
                     "expected_max_sharpe": emax,
                     "best_sharpe": float(g["sharpe"].max()) if len(finite) else np.nan,
                     "periods_per_year": ppy, "bars": float(g["bars"].median())})
    return pd.DataFrame(rows, columns=["symbol", "timeframe", "trials", "with_sharpe",
                                       "sharpe_variance_bar", "expected_max_sharpe",
                                       "best_sharpe", "periods_per_year", "bars"])


def heatmap_table(results: pd.DataFrame, strategy: str, x: str, y: str,
                  metric: str = "sharpe", fixed: Mapping[str, Any] | None = None,
                  agg: str = "max") -> pd.DataFrame:
    """A metric over two parameters of one strategy.

    Parameters
    ----------
    results : DataFrame
        Sweep results (or a leaderboard).
    strategy : str
    x, y : str
        Parameter names (``fast`` or ``param_fast``) or ``sl``, ``tp``, ``leverage``.
    metric : str
        Any numeric result column (``sharpe``, ``dsr`` on a leaderboard...).
    fixed : mapping, optional
        Column or parameter -> value to hold fixed (``{"symbol": "AAPL", "sl": 0.02}``;
        None or NaN selects "off" for ``sl``/``tp``).
    agg : str
        How the cells combine the rows that differ in the dimensions neither plotted
        nor fixed (other parameters, symbols, stops): ``"max"`` (default: the best
        value reachable in that cell), ``"mean"``, ``"median"`` or ``"min"``.

    Returns
    -------
    DataFrame
        Index: values of ``y`` (ascending); columns: values of ``x``; cells: the
        aggregated metric (NaN where no row exists). ``attrs["aggregated_over"]`` lists
        the dimensions that varied and were aggregated, ``attrs["agg"]`` the rule.

    Raises
    ------
    KeyError
        Unknown strategy, parameter or metric.
    """
    rows = results[results["strategy"] == strategy]
    if rows.empty:
        raise KeyError(f"no rows of strategy {strategy!r}; the sweep has "
                       f"{sorted(results['strategy'].unique())}")
    xc, yc, mc = _column(rows, x), _column(rows, y), _column(rows, metric)
    for name, value in (fixed or {}).items():
        col = rows[_column(rows, name)]
        if value is None or (isinstance(value, float) and np.isnan(value)):
            rows = rows[col.isna()]
        elif pd.api.types.is_numeric_dtype(col):
            rows = rows[np.isclose(col.astype(float), float(value))]
        else:
            rows = rows[col == value]
    dims = param_columns(rows) + ["symbol", "timeframe", "sl", "tp", "leverage"]
    fixed_cols = {_column(results, k) for k in (fixed or {})}
    varied = [c for c in dims if c in rows.columns and c not in (xc, yc)
              and c not in fixed_cols and rows[c].nunique(dropna=False) > 1]
    table = rows.pivot_table(index=yc, columns=xc, values=mc, aggfunc=agg, dropna=False)
    table = table.sort_index().sort_index(axis=1)
    table.attrs = {"aggregated_over": varied, "agg": agg, "metric": mc}
    return table


def config_label(row: Mapping[str, Any]) -> str:
    """``"sma_cross fast=20 slow=50 · SL 2% · TP off · 1x"`` for a result row."""
    params = row.get("params")
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            params = {}
    head = " ".join([str(row.get("strategy"))] + [
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in (params or {}).items()])

    def pct(v) -> str:
        return "off" if v is None or pd.isna(v) else f"{float(v) * 100:g}%"

    lev = row.get("leverage")
    lev = 1.0 if lev is None or pd.isna(lev) else float(lev)
    return f"{head} · SL {pct(row.get('sl'))} · TP {pct(row.get('tp'))} · {lev:g}x"


def _config_key(board: pd.DataFrame, with_symbol: bool) -> pd.Series:
    cols = ["strategy", "params", "sl", "tp", "leverage"]
    if with_symbol:
        cols = ["symbol", "timeframe"] + cols
    return pd.Series(["|".join(map(str, t)) for t in board[cols].itertuples(index=False)],
                     index=board.index, dtype=object)


def compare_leaderboards(boards: Mapping[str, pd.DataFrame], top: int = 10) -> pd.DataFrame:
    """The top ``top`` rows of several leaderboards side by side.

    Parameters
    ----------
    boards : mapping of name to leaderboard
        Outputs of ``leaderboard`` (e.g. one per sweep, or in-sample vs out-of-sample).
    top : int

    Returns
    -------
    DataFrame
        Index ``rank`` 1..top; columns a MultiIndex (board name, field) with fields
        ``config`` (``config_label``), ``symbol``, ``timeframe``, ``sharpe``, ``dsr``,
        ``stability``. Cells are empty where a board has fewer rows. See also
        ``strategy_ranks`` and ``rank_correlation``.
    """
    parts = {}
    fields = ["config", "symbol", "timeframe", "sharpe", "dsr", "stability"]
    for name, board in boards.items():
        head = board.head(top)
        part = pd.DataFrame({"config": [config_label(r) for r in head.to_dict("records")]},
                            index=pd.Index(head["rank"].to_numpy() if "rank" in head
                                           else np.arange(1, len(head) + 1), name="rank"))
        for f in fields[1:]:
            part[f] = head[f].to_numpy() if f in head else np.nan
        parts[name] = part.reindex(pd.RangeIndex(1, top + 1, name="rank"))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, axis=1)


def strategy_ranks(boards: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Best rank of each strategy on each board (NaN where it has no ranked row).

    Returns
    -------
    DataFrame
        Index ``strategy``, one column per board, sorted by the mean best rank.
    """
    cols = {name: b.groupby("strategy")["rank"].min() for name, b in boards.items()}
    table = pd.DataFrame(cols)
    table.index.name = "strategy"
    return table.loc[table.mean(axis=1).sort_values().index] if len(table) else table


def rank_correlation(boards: Mapping[str, pd.DataFrame], top: int = 10) -> pd.DataFrame:
    """Do the boards agree? Spearman rank correlations for every pair of boards.

    Returns
    -------
    DataFrame
        One row per pair (``a``, ``b``): ``strategies`` (ranked on both),
        ``strategy_spearman`` (of their best ranks), ``configs`` (parameter sets with
        the same strategy, params, sl, tp and leverage on both; the best rank over
        symbols is used), ``config_spearman`` (of their ranks) and ``top_overlap``
        (how many of ``a``'s top ``top`` configurations are in ``b``'s top ``top``).
        Correlations are NaN with fewer than 3 common items.
    """
    ranks = strategy_ranks(boards)
    cfg = {name: b.assign(_k=_config_key(b, False)).groupby("_k")["rank"].min()
           for name, b in boards.items()}
    rows = []
    for a, b in itertools.combinations(list(boards), 2):
        s = ranks[[a, b]].dropna()
        c = pd.concat([cfg[a], cfg[b]], axis=1, keys=[a, b]).dropna()
        top_a = set(cfg[a].nsmallest(top).index)
        top_b = set(cfg[b].nsmallest(top).index)
        rows.append({"a": a, "b": b, "strategies": len(s),
                     "strategy_spearman": s[a].corr(s[b], method="spearman")
                     if len(s) >= 3 else np.nan,
                     "configs": len(c),
                     "config_spearman": c[a].corr(c[b], method="spearman")
                     if len(c) >= 3 else np.nan,
                     "top_overlap": len(top_a & top_b)})
    return pd.DataFrame(rows, columns=["a", "b", "strategies", "strategy_spearman",
                                       "configs", "config_spearman", "top_overlap"])
