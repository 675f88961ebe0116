"""Walk-forward validation: choose parameters on each train window, test on the next.

For each strategy, the signals of every parameter set are computed ONCE on the full bars
and sliced per window. That is valid because a strategy's signal at bar i uses bars
0..i only (no look-ahead, checked by the strategy tests), so the signals of a slice are
the full signals restricted to it, computed with the warm-up of the earlier bars.

A candidate is a parameter set with one (stop-loss, take-profit, leverage) level; the
levels are the product of the ``sl``, ``tp`` and ``leverage`` lists (default: the
config's own values only). On each train window the sweep kernel
(``lab.kernels.sweep.simulate_many_nb``) scores every candidate in one call, each column
with its own execution parameters (``select="grid"``), or Optuna's TPE sampler proposes
candidates from the grid values and the searched levels (``select="optuna"``, seeded);
among the candidates with at least ``min_trades`` trades the one with the highest
``objective`` is chosen and run on the test window by the vectorized engine. Every
fold starts flat with fresh capital (``config.cash``), or with the previous fold's final
equity when ``compound`` is set. A fold with no eligible candidate stays out of the
market (flat equity, no parameters).

The out-of-sample (OOS) equity is stitched: with fresh capital the fold P&L is added to
the running total (``cash + sum of fold P&L``); compounded folds are concatenated as
they are. Both curves are continuous at the fold boundaries.

Per strategy (``WalkForwardResult.summary``):

* ``oos_sharpe``: mean of the test windows' annualized Sharpe ratios;
* ``consistency``: share of test windows with a positive return (0..1);
* ``sharpe_decay``: ``1 - mean OOS Sharpe / mean IS Sharpe`` (0 = nothing lost,
  1 = all lost; NaN when the IS mean is not positive);
* ``wfe``: walk-forward efficiency, ``mean OOS CAGR / mean IS CAGR`` (NaN when the IS
  mean is not positive);
* ``oos_return``: total return of the stitched OOS equity (fraction);
* ``windows``: test windows; ``windows_traded``: those with at least one out-of-sample
  trade (a window whose chosen parameters never traded out of sample does not count).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lab.core import registry
from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError, LabError
from lab.core.params import Params
from lab.core.strategy import Signals
from lab.core.types import AssetClass, periods_per_year
from lab.engines import vectorized
from lab.engines.batch import config_rows, ohlc_arrays, run_many
from lab.kernels.sweep import STAT_NAMES
from lab.research.walk_forward.select import best_index, select_optuna
from lab.research.walk_forward.spec import LEVELS, SELECT, walk_forward_spec
from lab.research.walk_forward.store import SUMMARY_COLUMNS, WINDOW_METRICS, WalkForwardResult
from lab.research.walk_forward.windows import Window


class WalkForwardCancelled(LabError):
    """The walk-forward stopped because a cancel was requested."""


@dataclass(frozen=True)
class Setting:
    """What every fold of a walk-forward shares (built once by ``run_walk_forward``).

    Attributes
    ----------
    bars : DataFrame, shape (n, 5)
        OHLCV indexed by UTC ``ts_event``.
    ohlc : tuple of 4 ndarray, float64, shape (n,)
        Its open, high, low, close.
    config : ExecutionConfig
        Base execution settings (``cash`` in account currency).
    levels : list of (sl, tp, leverage)
        The execution levels (leverage fastest); ``level_cfg`` their configs and
        ``level_params`` their kernel rows, shape (len(levels), N_PARAMS).
    searched : list of int
        Indices into ``LEVELS`` of the level lists with more than one value.
    select, min_trades, compound, n_trials, seed, ppy
        As ``run_walk_forward`` (``ppy``: bars per year).
    obj_col, tr_col : int
        Columns of the objective and of ``trades`` in ``STAT_NAMES``.
    """

    bars: pd.DataFrame
    ohlc: tuple
    config: ExecutionConfig
    levels: list
    level_cfg: list
    level_params: np.ndarray
    searched: list
    select: str
    min_trades: int
    compound: bool
    n_trials: int | None
    seed: int
    ppy: float
    obj_col: int
    tr_col: int


@dataclass(frozen=True)
class Candidates:
    """One strategy's candidates: parameter sets x levels, ids ``set * n_levels + level``.

    Attributes
    ----------
    strategy : str
    sets : list of Params
    signals : list of Signals
        Of each set on the full bars (computed once; sliced per window).
    dims : dict
        Optuna's categorical dimensions (grid values, then the searched levels).
    index_of : dict
        Combination (in ``dims`` order) -> candidate id.
    """

    strategy: str
    sets: list
    signals: list
    dims: dict
    index_of: dict


def _stitch(parts: list[pd.Series], cash: float, compound: bool) -> pd.Series:
    if not parts:
        return pd.Series(dtype=float)
    if compound:
        return pd.concat(parts)
    out, offset = [], 0.0
    for e in parts:
        out.append(e + offset)
        offset += float(e.iloc[-1]) - cash
    return pd.concat(out)


def _nanmean(values) -> float:
    a = np.asarray([v for v in values if v is not None], dtype=float)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else math.nan


def score(setting: Setting, cands: Candidates, ids: Sequence[int],
          window: slice) -> np.ndarray:
    """Batch statistics (``STAT_NAMES``) of candidates ``ids`` on bars ``window``.

    Returns
    -------
    ndarray, float64, shape (len(ids), N_STATS)
    """
    n_lev = len(setting.levels)
    return run_many(setting.ohlc, cands.signals, setting.level_params, setting.ppy,
                    pairs=[divmod(c, n_lev) for c in ids], window=window)


def candidates(setting: Setting, spec_all, strategy: str) -> Candidates:
    """The candidates of ``strategy`` (signals computed once, on all bars)."""
    spec = registry.get(strategy)
    sets = spec_all.parameter_sets(strategy)
    if not sets:
        raise ConfigError(f"{strategy} has no valid parameter set in its grid")
    signals = spec.signals_batch(setting.bars, sets)
    grid = spec_all.grid_values(strategy)
    n_lev = len(setting.levels)
    dims = {**grid, **{LEVELS[k]: list(getattr(spec_all, LEVELS[k])) for k in setting.searched}}
    index_of = {tuple(p.to_dict()[k] for k in grid)
                + tuple(lv[k] for k in setting.searched): j * n_lev + li
                for j, p in enumerate(sets) for li, lv in enumerate(setting.levels)}
    return Candidates(strategy, sets, signals, dims, index_of)


def choose(setting: Setting, cands: Candidates, window: Window,
           wi: int) -> tuple[int | None, np.ndarray | None, int]:
    """The candidate chosen on ``window``'s train bars.

    Returns
    -------
    (int or None, ndarray or None, int)
        Its id (None when no candidate has ``min_trades`` trades), its train statistics
        row, and how many candidates were eligible (with Optuna: among those scored).
    """
    n_cand = len(cands.sets) * len(setting.levels)
    if setting.select == "grid":
        st = score(setting, cands, list(range(n_cand)), window.train)
        k = best_index(st[:, setting.obj_col], st[:, setting.tr_col], setting.min_trades)
        eligible = int((st[:, setting.tr_col] >= setting.min_trades).sum())
        return k, (None if k is None else st[k]), eligible
    trials = int(setting.n_trials or min(50, n_cand))
    chosen, eligible = select_optuna(lambda ids: score(setting, cands, ids, window.train),
                                     cands.dims, cands.index_of, setting.obj_col,
                                     setting.tr_col, setting.min_trades, trials,
                                     setting.seed + wi)
    is_row = None if chosen is None else score(setting, cands, [chosen], window.train)[0]
    return chosen, is_row, eligible


def run_fold(setting: Setting, cands: Candidates, window: Window, wi: int,
             cash: float) -> tuple[dict[str, Any], pd.Series]:
    """One fold: choose on the train window, run the choice on the test window.

    Parameters
    ----------
    setting, cands
        From ``run_walk_forward`` / ``candidates``.
    window : Window
        Positions into ``setting.bars``.
    wi : int
        0-based window number (Optuna seeds ``seed + wi``).
    cash : float
        Equity at the start of the fold (``config.cash`` unless compounding), account
        currency.

    Returns
    -------
    (dict, Series)
        The window's row of ``WalkForwardResult.windows``, and the test window's equity
        (flat at the starting equity when no candidate was eligible).
    """
    bars, config, idx = setting.bars, setting.config, setting.bars.index
    chosen, is_row, eligible = choose(setting, cands, window, wi)
    test_bars = bars.iloc[window.test]
    w = window
    row: dict[str, Any] = {
        "strategy": cands.strategy, "window": wi + 1,
        "train_start": idx[w.train.start], "train_end": idx[w.train.stop - 1],
        "test_start": idx[w.test.start], "test_end": idx[w.test.stop - 1],
        "train_bars": w.train_bars, "test_bars": w.test_bars, "eligible": eligible}
    compound = setting.compound
    if chosen is None or (compound and cash <= 0):
        eq = pd.Series(cash if compound else config.cash, index=test_bars.index,
                       dtype=float, name="equity")
        row["params"] = None
        oos = {m: (0.0 if m in ("total_return", "cagr", "max_drawdown", "trades")
                   else math.nan) for m in WINDOW_METRICS}
    else:
        j, li = divmod(chosen, len(setting.levels))
        p: Params = cands.sets[j]
        row["params"] = json.dumps(p.to_dict(), sort_keys=True)
        for name, v in p.to_dict().items():
            row[f"param_{name}"] = float(v)
        for name, v in zip(LEVELS, setting.levels[li]):
            row[f"param_{name}"] = math.nan if v is None else float(v)
        fold_cfg = setting.level_cfg[li].replace(cash=cash) if compound and cash > 0 \
            else setting.level_cfg[li]
        s = cands.signals[j]
        sig = Signals(s.entries_long[w.test], s.exits_long[w.test],
                      s.entries_short[w.test], s.exits_short[w.test])
        res = vectorized.run(test_bars, sig, fold_cfg, periods_per_year=setting.ppy)
        eq = res.equity
        oos = {m: float(res.metrics.get(m, math.nan)) for m in WINDOW_METRICS}
    for m in WINDOW_METRICS:
        row[f"is_{m}"] = math.nan if is_row is None else float(is_row[STAT_NAMES.index(m)])
        row[f"oos_{m}"] = oos[m]
    return row, eq


def in_sample_reference(setting: Setting, cands: Candidates, first_test: int) -> pd.Series:
    """Equity, over the test span, of the candidate that is best on ALL bars (what an
    in-sample optimization would have shown), rescaled to start at ``config.cash``;
    flat at ``config.cash`` when no candidate has enough trades."""
    bars, cash = setting.bars, float(setting.config.cash)
    n_lev = len(setting.levels)
    full = score(setting, cands, list(range(len(cands.sets) * n_lev)), slice(0, len(bars)))
    k = best_index(full[:, setting.obj_col], full[:, setting.tr_col], setting.min_trades)
    if k is None:
        return pd.Series(cash, index=bars.index[first_test:])
    r = vectorized.run(bars, cands.signals[k // n_lev], setting.level_cfg[k % n_lev],
                       periods_per_year=setting.ppy).equity
    base = float(r.iloc[first_test - 1]) if first_test > 0 else cash
    return r.iloc[first_test:] / base * cash if base > 0 else r.iloc[first_test:] * 0.0


def run_walk_forward(bars: pd.DataFrame, strategies: Sequence[str] | str, *,
                     config: ExecutionConfig | None = None, windows: Sequence[Window],
                     grids: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
                     select: str = "grid", objective: str = "sharpe", min_trades: int = 3,
                     compound: bool = False, asset_class: AssetClass | str = AssetClass.EQUITY,
                     timeframe: str = "1d", symbol: str | None = None,
                     n_trials: int | None = None, seed: int = 0,
                     sl: Sequence[float | None] | None = None,
                     tp: Sequence[float | None] | None = None,
                     leverage: Sequence[float] | None = None,
                     progress: Callable[[int, int], None] | None = None,
                     cancel: Callable[[], bool] | None = None) -> WalkForwardResult:
    """Walk-forward validation of ``strategies`` on ``bars``.

    Parameters
    ----------
    bars : DataFrame, shape (n, 5)
        OHLCV indexed by UTC ``ts_event``.
    strategies : sequence of str
        Registered signal strategies.
    config : ExecutionConfig, optional
        Execution (cash in account currency, costs, direction, sizing, sl/tp fractions);
        its ``sl``, ``tp`` and ``leverage`` are replaced by each candidate's levels.
    windows : sequence of Window
        From ``walk_forward_windows`` (positions into ``bars``).
    grids : mapping, optional
        Per-strategy grid overrides ``{"sma_cross": {"fast": (5, 10)}}``; other
        parameters sweep ``ParamSpec.grid()`` (as ``SweepSpec``).
    select : {"grid", "optuna"}
        Score every candidate on each train window, or let Optuna TPE (seeded with
        ``seed``) score ``n_trials`` proposals (default min(50, candidates)); each grid
        parameter and each level list with more than one value (``sl``, ``tp``,
        ``leverage``) is a categorical dimension.
    objective : str
        Statistic to maximize, a name of ``lab.kernels.sweep.STAT_NAMES`` ("sharpe",
        "total_return", "cagr", "sortino", "calmar", ...).
    min_trades : int
        Fewest train-window trades for a candidate to be chosen.
    compound : bool
        Start each fold with the previous fold's final equity instead of ``config.cash``.
    asset_class, timeframe : str
        Annualization (``lab.core.types.periods_per_year``).
    symbol : str, optional
        Recorded in ``meta``.
    sl, tp : sequence of float or None, optional
        Stop-loss / take-profit levels to choose from, fractions of the entry price
        (0.02 = 2 %), None inside the sequence = off, e.g. ``(None, 0.02, 0.04)``.
        Default: the config's own value only (results as without levels).
    leverage : sequence of float, optional
        Leverage levels to choose from (>= 1; 1 = cash account). Default: the config's.
    progress : callable(done, total), optional
        Called after each (strategy, window), counted in windows.
    cancel : callable() -> bool, optional
        Checked before each (strategy, window); True stops with ``WalkForwardCancelled``.

    Returns
    -------
    WalkForwardResult

    Raises
    ------
    ConfigError
        No windows, a window outside the bars, unknown ``select`` or ``objective``, a bad
        level (``walk_forward_spec``).
    ParamError, UnknownStrategyError, DataError
    """
    config = config or ExecutionConfig()
    strategies = (strategies,) if isinstance(strategies, str) else tuple(strategies)
    if select not in SELECT:
        raise ConfigError(f"unknown selection {select!r}; use one of {SELECT}")
    if objective not in STAT_NAMES:
        raise ConfigError(f"unknown objective {objective!r}; use one of {list(STAT_NAMES)}")
    windows = list(windows)
    if not windows:
        raise ConfigError("a walk-forward needs at least one window")
    n = len(bars)
    for w in windows:
        if not (0 <= w.train.start < w.train.stop <= w.test.start < w.test.stop <= n):
            raise ConfigError(f"window {w} does not fit {n} bars with test after train")
    vectorized.check_backtest_bars(bars)
    spec_all = walk_forward_spec(strategies, config=config, grids=grids, sl=sl, tp=tp,
                                 leverage=leverage, symbol=symbol, timeframe=timeframe,
                                 min_trades=min_trades)
    levels = spec_all.exec_levels()                     # (sl, tp, leverage), leverage fastest
    level_cfg = [spec_all.level_config(*lv) for lv in levels]
    ppy = periods_per_year(timeframe, asset_class)
    setting = Setting(
        bars=bars, ohlc=ohlc_arrays(bars), config=config, levels=levels, level_cfg=level_cfg,
        level_params=config_rows(level_cfg),
        searched=[k for k, name in enumerate(LEVELS) if len(getattr(spec_all, name)) > 1],
        select=select, min_trades=min_trades, compound=compound, n_trials=n_trials,
        seed=seed, ppy=ppy, obj_col=STAT_NAMES.index(objective),
        tr_col=STAT_NAMES.index("trades"))
    total, done = len(strategies) * len(windows), 0
    rows: list[dict] = []
    equity_cols: dict[str, pd.Series] = {}
    is_cols: dict[str, pd.Series] = {}
    for strategy in strategies:
        cands = candidates(setting, spec_all, strategy)
        parts: list[pd.Series] = []
        cash = float(config.cash)
        for wi, w in enumerate(windows):
            if cancel is not None and cancel():
                raise WalkForwardCancelled(f"cancelled at {strategy} window {wi + 1} of "
                                           f"{len(windows)}")
            row, eq = run_fold(setting, cands, w, wi, cash)
            rows.append(row)
            parts.append(eq)
            if compound:
                cash = float(eq.iloc[-1])
            done += 1
            if progress is not None:
                progress(done, total)
        equity_cols[strategy] = _stitch(parts, float(config.cash), compound)
        is_cols[strategy] = in_sample_reference(setting, cands, windows[0].test.start)

    windows_df = pd.DataFrame(rows)
    summary = _summary(windows_df, equity_cols, float(config.cash), ppy)
    meta = {"strategies": list(strategies), "windows": [w.to_dict() for w in windows],
            "select": select, "objective": objective, "min_trades": int(min_trades),
            "compound": bool(compound), "config": config.to_dict(),
            "asset_class": str(AssetClass(asset_class).value), "timeframe": timeframe,
            "symbol": symbol, "periods_per_year": float(ppy),
            "grids": {s: {k: list(v) for k, v in spec_all.grid_values(s).items()}
                      for s in strategies},
            "levels": {name: list(getattr(spec_all, name)) for name in LEVELS}}
    return WalkForwardResult(summary=summary, windows=windows_df,
                             equity=pd.DataFrame(equity_cols), in_sample=pd.DataFrame(is_cols),
                             meta=meta)


def _summary(windows: pd.DataFrame, equity: Mapping[str, pd.Series], cash: float,
             ppy: float) -> pd.DataFrame:
    out = []
    for strategy, g in windows.groupby("strategy", sort=False):
        oos_sh, is_sh = _nanmean(g["oos_sharpe"]), _nanmean(g["is_sharpe"])
        oos_cagr, is_cagr = _nanmean(g["oos_cagr"]), _nanmean(g["is_cagr"])
        eq = equity[strategy]
        out.append({
            "strategy": strategy, "oos_sharpe": oos_sh,
            "consistency": float((g["oos_total_return"] > 0).mean()),
            "oos_return": float(eq.iloc[-1] / cash - 1.0) if len(eq) else math.nan,
            "is_sharpe": is_sh,
            "sharpe_decay": 1.0 - oos_sh / is_sh if is_sh > 0 and math.isfinite(oos_sh)
            else math.nan,
            "wfe": oos_cagr / is_cagr if is_cagr > 0 and math.isfinite(oos_cagr) else math.nan,
            "oos_cagr": oos_cagr, "is_cagr": is_cagr,
            "oos_max_drawdown": float(g["oos_max_drawdown"].min()),
            "oos_trades": int(g["oos_trades"].fillna(0).sum()),
            "windows": int(len(g)),
            # windows with at least one out-of-sample trade (not: windows with a choice)
            "windows_traded": int((g["oos_trades"].fillna(0) > 0).sum())})
    df = pd.DataFrame(out, columns=[c for c in SUMMARY_COLUMNS if c != "rank"])
    key = df[["oos_sharpe", "consistency", "oos_return"]].fillna(-np.inf)
    order = np.lexsort((-key["oos_return"].to_numpy(), -key["consistency"].to_numpy(),
                        -key["oos_sharpe"].to_numpy()))
    df = df.iloc[order].reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df
