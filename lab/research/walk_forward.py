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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from lab.core import registry
from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError, LabError
from lab.core.strategy import Signals
from lab.core.types import AssetClass, periods_per_year
from lab.research.walk_forward_select import best_index, score_candidates, select_optuna
from lab.research.walk_forward_windows import Window, walk_forward_windows

__all__ = ["LEVELS", "SELECT", "WalkForwardCancelled", "WalkForwardResult", "Window",
           "run_walk_forward", "walk_forward_spec", "walk_forward_windows", "load_walk_forward",
           "save_walk_forward", "SUMMARY_COLUMNS"]

#: Parameter selection methods.
SELECT = ("grid", "optuna")
#: Execution levels a walk-forward can search (``param_<name>`` in the windows).
LEVELS = ("sl", "tp", "leverage")
#: Metrics kept for each window in sample (``is_``) and out of sample (``oos_``).
WINDOW_METRICS = ("sharpe", "total_return", "cagr", "max_drawdown", "trades", "win_rate",
                  "profit_factor")
#: Columns of ``WalkForwardResult.summary`` (the leaderboard), in order.
SUMMARY_COLUMNS = ["rank", "strategy", "oos_sharpe", "consistency", "oos_return",
                   "is_sharpe", "sharpe_decay", "wfe", "oos_cagr", "is_cagr",
                   "oos_max_drawdown", "oos_trades", "windows", "windows_traded"]


class WalkForwardCancelled(LabError):
    """The walk-forward stopped because a cancel was requested."""


@dataclass
class WalkForwardResult:
    """What a walk-forward produced.

    Attributes
    ----------
    summary : DataFrame
        One row per strategy (``SUMMARY_COLUMNS``), ranked by OOS Sharpe, then
        consistency, then OOS return (all descending).
    windows : DataFrame
        One row per strategy and window: ``strategy, window, train_start, train_end,
        test_start, test_end`` (UTC bar open times, inclusive), ``params`` (the
        strategy's parameters as JSON, None when no candidate was eligible),
        ``param_<name>`` (each strategy parameter, then ``param_sl`` / ``param_tp``
        (fractions of the entry price, NaN = off) and ``param_leverage`` of the chosen
        candidate), ``eligible`` (candidates with enough trades; with Optuna, among the
        ones it scored), ``is_<metric>`` and ``oos_<metric>`` for ``WINDOW_METRICS``.
    equity : DataFrame
        Stitched OOS equity, one column per strategy, indexed by the test bars (account
        currency).
    in_sample : DataFrame
        Reference: the equity over the same bars of the candidate (parameter set and
        levels) that is best on the whole data (what an in-sample optimization would
        have shown), one column per strategy, starting at ``config.cash``.
    meta : dict
        Inputs: strategies, windows (positions), select, objective, min_trades, compound,
        config, asset_class, timeframe, symbol, periods_per_year, grids, levels
        (``{"sl": [...], "tp": [...], "leverage": [...]}``, None = off).
    """

    summary: pd.DataFrame
    windows: pd.DataFrame
    equity: pd.DataFrame
    in_sample: pd.DataFrame
    meta: dict = field(default_factory=dict)


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


# -- the walk-forward ---------------------------------------------------------------------
def walk_forward_spec(strategies: Sequence[str] | str, *, config: ExecutionConfig | None = None,
                      grids: Mapping[str, Mapping[str, Sequence[float]]] | None = None,
                      sl: Sequence[float | None] | None = None,
                      tp: Sequence[float | None] | None = None,
                      leverage: Sequence[float] | None = None, symbol: str | None = None,
                      timeframe: str = "1d", min_trades: int = 3):
    """The candidates of a walk-forward as a ``SweepSpec`` (grids x levels), checked.

    Parameters
    ----------
    strategies, config, grids, symbol, timeframe, min_trades
        As ``run_walk_forward``.
    sl, tp : sequence of float or None, optional
        Stop-loss / take-profit levels, fractions of the entry price (0.02 = 2 %); None
        inside the sequence = off. Default: the config's own value only.
    leverage : sequence of float, optional
        Leverage levels (1 = cash account, up to ``MAX_LEVERAGE``). Default: the
        config's own value only.

    Returns
    -------
    SweepSpec
        Its ``exec_levels()`` are every (sl, tp, leverage) combination.

    Raises
    ------
    ConfigError
        A level list that is empty or not a list, a level that is not a number or not
        above 0, or a level the execution settings reject (e.g. leverage below 1, or too
        high for the maintenance margin), each naming the level.
    ParamError, UnknownStrategyError
        As ``SweepSpec``.
    """
    from lab.research.sweep_spec import SweepSpec

    config = config or ExecutionConfig()
    strategies = (strategies,) if isinstance(strategies, str) else tuple(strategies)
    given = {"sl": sl, "tp": tp, "leverage": leverage}
    for name, values in given.items():
        if values is None:
            given[name] = (getattr(config, name),)
        elif isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise ConfigError(f"{name} levels must be a list such as "
                              f"{'[1, 2]' if name == 'leverage' else '[None, 0.02]'}"
                              f"{'' if name == 'leverage' else ' (fractions; None = off)'}, "
                              f"got {values!r}")
        else:
            given[name] = tuple(values)
    spec = SweepSpec(strategies=strategies, symbols=((symbol or "data", timeframe),),
                     grids={k: {p: tuple(v) for p, v in g.items()}
                            for k, g in (grids or {}).items()},
                     config=config, min_trades=min_trades, **given)
    for name in LEVELS:
        for v in getattr(spec, name):
            try:
                config.replace(**{name: v})
            except ConfigError as exc:
                raise ConfigError(f"{name} level {v!r} does not fit the execution settings: "
                                  f"{exc}") from None
    if len(spec.exec_levels()) != len(spec.sl) * len(spec.tp) * len(spec.leverage):
        raise ConfigError("some (sl, tp, leverage) combinations do not fit the execution "
                          "settings; narrow the level lists")
    return spec


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
    from lab.engines import vectorized
    from lab.kernels.sweep import STAT_NAMES

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
    vectorized.check_bars(bars)
    spec_all = walk_forward_spec(strategies, config=config, grids=grids, sl=sl, tp=tp,
                                 leverage=leverage, symbol=symbol, timeframe=timeframe,
                                 min_trades=min_trades)
    levels = spec_all.exec_levels()                     # (sl, tp, leverage), leverage fastest
    level_cfg = [spec_all.level_config(*lv) for lv in levels]
    level_params = np.stack([vectorized.params_vector(c) for c in level_cfg])
    n_lev = len(levels)
    searched = [k for k, name in enumerate(LEVELS) if len(getattr(spec_all, name)) > 1]
    ppy = periods_per_year(timeframe, asset_class)
    ohlc = tuple(np.ascontiguousarray(bars[k].to_numpy(dtype=np.float64))
                 for k in ("open", "high", "low", "close"))
    obj_col, tr_col = STAT_NAMES.index(objective), STAT_NAMES.index("trades")
    idx = bars.index
    total, done = len(strategies) * len(windows), 0
    rows: list[dict] = []
    equity_cols: dict[str, pd.Series] = {}
    is_cols: dict[str, pd.Series] = {}
    first_test = windows[0].test.start

    for strategy in strategies:
        spec = registry.get(strategy)
        sets = spec_all.parameter_sets(strategy)
        if not sets:
            raise ConfigError(f"{strategy} has no valid parameter set in its grid")
        signals = spec.signals_batch(bars, sets)            # once, on the full data
        grid = spec_all.grid_values(strategy)
        n_cand = len(sets) * n_lev                          # candidate = set * n_lev + level
        dims = {**grid, **{LEVELS[k]: list(getattr(spec_all, LEVELS[k])) for k in searched}}
        index_of = {tuple(p.to_dict()[k] for k in grid) + tuple(lv[k] for k in searched):
                    j * n_lev + li for j, p in enumerate(sets) for li, lv in enumerate(levels)}
        parts: list[pd.Series] = []
        cash = float(config.cash)
        for wi, w in enumerate(windows):
            if cancel is not None and cancel():
                raise WalkForwardCancelled(f"cancelled at {strategy} window {wi + 1} of "
                                           f"{len(windows)}")
            score = lambda cols, _w=w: score_candidates(  # noqa: E731
                ohlc, signals, cols, _w.train, level_params, ppy)
            if select == "grid":
                st = score(list(range(n_cand)))
                k = best_index(st[:, obj_col], st[:, tr_col], min_trades)
                eligible = int((st[:, tr_col] >= min_trades).sum())
                chosen, is_row = k, (None if k is None else st[k])
            else:
                trials = int(n_trials or min(50, n_cand))
                chosen, eligible = select_optuna(score, dims, index_of, obj_col, tr_col,
                                                  min_trades, trials, seed + wi)
                is_row = None if chosen is None else score([chosen])[0]
            test_bars = bars.iloc[w.test]
            row: dict[str, Any] = {
                "strategy": strategy, "window": wi + 1,
                "train_start": idx[w.train.start], "train_end": idx[w.train.stop - 1],
                "test_start": idx[w.test.start], "test_end": idx[w.test.stop - 1],
                "train_bars": w.train_bars, "test_bars": w.test_bars, "eligible": eligible}
            if chosen is None or (compound and cash <= 0):
                eq = pd.Series(cash if compound else config.cash, index=test_bars.index,
                               dtype=float, name="equity")
                row["params"] = None
                oos = {m: (0.0 if m in ("total_return", "cagr", "max_drawdown", "trades")
                           else math.nan) for m in WINDOW_METRICS}
            else:
                j, li = divmod(chosen, n_lev)
                p = sets[j]
                row["params"] = json.dumps(p.to_dict(), sort_keys=True)
                for name, v in p.to_dict().items():
                    row[f"param_{name}"] = float(v)
                for name, v in zip(LEVELS, levels[li]):
                    row[f"param_{name}"] = math.nan if v is None else float(v)
                fold_cfg = level_cfg[li].replace(cash=cash) if compound and cash > 0 \
                    else level_cfg[li]
                s = signals[j]
                sig = Signals(s.entries_long[w.test], s.exits_long[w.test],
                              s.entries_short[w.test], s.exits_short[w.test])
                res = vectorized.run(test_bars, sig, fold_cfg, periods_per_year=ppy)
                eq = res.equity
                oos = {m: float(res.metrics.get(m, math.nan)) for m in WINDOW_METRICS}
            for m in WINDOW_METRICS:
                row[f"is_{m}"] = math.nan if is_row is None else float(is_row[STAT_NAMES.index(m)])
                row[f"oos_{m}"] = oos[m]
            rows.append(row)
            parts.append(eq)
            if compound:
                cash = float(eq.iloc[-1])
            done += 1
            if progress is not None:
                progress(done, total)
        equity_cols[strategy] = _stitch(parts, float(config.cash), compound)
        # in-sample reference: the best candidate on all bars, over the test span
        full = score_candidates(ohlc, signals, list(range(n_cand)), slice(0, n),
                                level_params, ppy)
        k = best_index(full[:, obj_col], full[:, tr_col], min_trades)
        if k is None:
            ref = pd.Series(float(config.cash), index=idx[first_test:])
        else:
            r = vectorized.run(bars, signals[k // n_lev], level_cfg[k % n_lev],
                               periods_per_year=ppy).equity
            base = float(r.iloc[first_test - 1]) if first_test > 0 else float(config.cash)
            ref = r.iloc[first_test:] / base * float(config.cash) if base > 0 else \
                r.iloc[first_test:] * 0.0
        is_cols[strategy] = ref

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


# -- files --------------------------------------------------------------------------------
def walk_forward_root(root: str | Path | None = None) -> Path:
    """``<data>/walkforward`` (``root`` as in ``lab.core.paths.data_root``)."""
    from lab.core.paths import data_path

    return data_path("walkforward", root)


def save_walk_forward(result: WalkForwardResult, folder: str | Path) -> Path:
    """Write ``summary/windows/equity/in_sample.parquet`` and ``meta.json`` to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    result.summary.to_parquet(folder / "summary.parquet")
    result.windows.to_parquet(folder / "windows.parquet")
    result.equity.to_parquet(folder / "equity.parquet")
    result.in_sample.to_parquet(folder / "in_sample.parquet")
    (folder / "meta.json").write_text(json.dumps(result.meta, indent=1, default=str))
    return folder


def load_walk_forward(folder: str | Path) -> WalkForwardResult:
    """Inverse of ``save_walk_forward``.

    Raises
    ------
    ConfigError
        ``folder`` holds no walk-forward result.
    """
    folder = Path(folder)
    if not (folder / "meta.json").exists():
        raise ConfigError(f"no walk-forward result in {folder}")
    return WalkForwardResult(
        summary=pd.read_parquet(folder / "summary.parquet"),
        windows=pd.read_parquet(folder / "windows.parquet"),
        equity=pd.read_parquet(folder / "equity.parquet"),
        in_sample=pd.read_parquet(folder / "in_sample.parquet"),
        meta=json.loads((folder / "meta.json").read_text()))
