"""Walk-forward choosing stop-loss, take-profit and leverage levels with the parameters:
the choice is the train-window argmax over (set x level) candidates, the test run uses
the chosen levels, no look-ahead, and no levels = the config's own levels."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass

import pandas as pd
import pytest

from lab.api import run_backtest
from lab.core import registry
from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.core.params import Params, param
from lab.core.strategy import Signals, StrategySpec
from lab.engines.batch import run_many
from lab.kernels.sweep import STAT_NAMES
from lab.research.walk_forward import run_walk_forward, walk_forward_windows
from tests.unit.research.walk_forward.test_walk_forward import _poisoned

SL, TP, LEV = (None, 0.01, 0.03), (None, 0.02), (1.0, 2.0)
GRIDS = {"sma_cross": {"fast": (5, 20), "slow": (30, 120)}}
KW = dict(asset_class="crypto", timeframe="1h", min_trades=2)


@pytest.fixture(scope="module")
def bars(btc_hourly):
    return btc_hourly.iloc[:3000]


@pytest.fixture(scope="module")
def windows(bars):
    return walk_forward_windows(bars.index, n_windows=3, train_fraction=0.6)


# -- a strategy whose signal at bar i reads bar i only -------------------------------------
# Its signals on a slice equal the full signals restricted to the slice (no warm-up), so
# ``run_backtest`` on the train or test bars alone is an independent reference.
@dataclass(frozen=True)
class BarMoveParams(Params):
    threshold: float = param(0.002, low=0.0, high=0.05, step=0.001,
                             help="bar move close/open - 1, fraction")


def _bar_move(bars, p: BarMoveParams, cache) -> Signals:
    move = bars["close"].to_numpy() / bars["open"].to_numpy() - 1.0
    up, down = move > p.threshold, move < -p.threshold
    return Signals(up, down, down, up)


BAR_MOVE = "wf_test_bar_move"


@pytest.fixture(scope="module")
def bar_move():
    registry.names()                                  # load the real ones first
    registry.register(StrategySpec(name=BAR_MOVE, family="momentum",
                                   params_cls=BarMoveParams, signal_fn=_bar_move,
                                   description="test only: follow a large bar move"))
    yield BAR_MOVE
    registry._REGISTRY.pop(BAR_MOVE, None)


BAR_GRID = {BAR_MOVE: {"threshold": (0.002, 0.005, 0.01)}}


def _levels_cfg(config, sl, tp, lev):
    return config.replace(sl=sl, tp=tp, leverage=lev)


def _chosen_levels(row) -> tuple:
    sl, tp = (None if math.isnan(row[f"param_{n}"]) else row[f"param_{n}"]
              for n in ("sl", "tp"))
    return sl, tp, row["param_leverage"]


# -- the choice ---------------------------------------------------------------------------
def test_chosen_candidate_is_the_train_argmax_by_run_backtest(bars, windows, bar_move):
    config = ExecutionConfig(direction="both", commission={"model": "percent", "rate": 0.0005})
    res = run_walk_forward(bars, bar_move, config=config, windows=windows, grids=BAR_GRID,
                           sl=SL, tp=TP, leverage=LEV, **KW)
    rows = res.windows
    assert len(rows) == len(windows) and rows["params"].notna().all()
    levels_matter = False
    for w, (_, row) in zip(windows, rows.iterrows()):
        train = bars.iloc[w.train]
        scores = {}
        for thr, sl, tp, lev in itertools.product(BAR_GRID[BAR_MOVE]["threshold"], SL, TP, LEV):
            m = run_backtest(train, bar_move, {"threshold": thr},
                             _levels_cfg(config, sl, tp, lev), **{k: KW[k] for k in
                                                                  ("asset_class", "timeframe")}
                             ).metrics
            if m["trades"] >= KW["min_trades"] and math.isfinite(m["sharpe"]):
                scores[(thr, sl, tp, lev)] = m["sharpe"]
        best = max(scores.values())
        chosen = (json.loads(row["params"])["threshold"], *_chosen_levels(row))
        assert chosen in scores
        assert scores[chosen] == pytest.approx(best, rel=1e-9, abs=1e-12)
        assert row["is_sharpe"] == pytest.approx(best, rel=1e-9, abs=1e-12)
        assert row["eligible"] == len(scores)
        default = max(v for k, v in scores.items() if k[1:] == (None, None, 1.0))
        levels_matter |= best > default + 1e-9
    assert levels_matter                     # the levels changed at least one choice


def test_chosen_candidate_is_the_train_argmax_by_the_kernel_per_candidate(bars, windows):
    config = ExecutionConfig(commission={"model": "percent", "rate": 0.001})
    res = run_walk_forward(bars, "sma_cross", config=config, windows=windows, grids=GRIDS,
                           sl=SL, tp=TP, leverage=LEV, objective="total_return", **KW)
    spec = registry.get("sma_cross")
    full = {(f, s): spec.signals(bars, spec.params(fast=f, slow=s))
            for f in GRIDS["sma_cross"]["fast"] for s in GRIDS["sma_cross"]["slow"]}
    obj, tr = STAT_NAMES.index("total_return"), STAT_NAMES.index("trades")
    ppy = res.meta["periods_per_year"]
    for w, (_, row) in zip(windows, res.windows.iterrows()):
        scores = {}
        for (f, s), sig in full.items():
            part = Signals(*(getattr(sig, k)[w.train] for k in
                             ("entries_long", "exits_long", "entries_short", "exits_short")))
            for sl, tp, lev in itertools.product(SL, TP, LEV):
                st = run_many(bars.iloc[w.train], [part],
                                  [_levels_cfg(config, sl, tp, lev)], ppy)[0]
                if st[tr] >= KW["min_trades"]:
                    scores[(f, s, sl, tp, lev)] = st[obj]
        p = json.loads(row["params"])
        chosen = (p["fast"], p["slow"], *_chosen_levels(row))
        assert scores[chosen] == pytest.approx(max(scores.values()), rel=1e-9, abs=1e-12)
        assert row["is_total_return"] == pytest.approx(scores[chosen], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("compound", [False, True])
def test_oos_metrics_equal_run_backtest_on_the_test_bars(bars, windows, bar_move, compound):
    config = ExecutionConfig(direction="both", commission={"model": "percent", "rate": 0.0005})
    res = run_walk_forward(bars, bar_move, config=config, windows=windows, grids=BAR_GRID,
                           sl=SL, tp=TP, leverage=LEV, compound=compound, **KW)
    cash = config.cash
    for w, (_, row) in zip(windows, res.windows.iterrows()):
        cfg = _levels_cfg(config, *_chosen_levels(row)).replace(cash=cash)
        r = run_backtest(bars.iloc[w.test], bar_move, json.loads(row["params"]), cfg,
                         asset_class="crypto", timeframe="1h")
        for m in ("sharpe", "total_return", "cagr", "max_drawdown", "trades", "win_rate"):
            assert row[f"oos_{m}"] == pytest.approx(float(r.metrics[m]), rel=1e-9, abs=1e-12,
                                                    nan_ok=True), (row["window"], m)
        if compound:
            cash = float(r.equity.iloc[-1])
    eq = res.equity[bar_move]
    assert eq.iloc[-1] == pytest.approx(
        cash if compound else config.cash * (1 + res.windows["oos_total_return"].sum()),
        rel=1e-9)


@pytest.mark.parametrize("select", ["grid", "optuna"])
def test_fold_choice_with_levels_never_sees_its_test_data(bars, windows, select):
    def run(b):
        return run_walk_forward(b, "sma_cross", windows=windows, grids=GRIDS, select=select,
                                n_trials=12, sl=SL, tp=TP, leverage=LEV, **KW).windows

    cols = ["params", "param_sl", "param_tp", "param_leverage", "is_sharpe", "eligible"]
    base = run(bars)
    for i, w in enumerate(windows):
        poisoned = run(_poisoned(bars, w.test.start))
        pd.testing.assert_frame_equal(poisoned[cols].iloc[: i + 1], base[cols].iloc[: i + 1])


# -- defaults -----------------------------------------------------------------------------
@pytest.mark.parametrize("select", ["grid", "optuna"])
def test_no_levels_is_the_config_own_single_levels(bars, windows, select):
    config = ExecutionConfig(sl=0.03, tp=None, leverage=2.0, direction="both")
    a = run_walk_forward(bars, "sma_cross", config=config, windows=windows, grids=GRIDS,
                         select=select, n_trials=4, **KW)
    b = run_walk_forward(bars, "sma_cross", config=config, windows=windows, grids=GRIDS,
                         select=select, n_trials=4, sl=[0.03], tp=[None], leverage=[2], **KW)
    for name in ("summary", "windows", "equity", "in_sample"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.meta == b.meta and a.meta["levels"] == {"sl": [0.03], "tp": [None],
                                                    "leverage": [2.0]}
    assert (a.windows["param_sl"] == 0.03).all() and a.windows["param_tp"].isna().all()
    # one level given = that level in the config
    c = run_walk_forward(bars, "sma_cross", config=config.replace(sl=None), windows=windows,
                         grids=GRIDS, select=select, n_trials=4, sl=(0.03,), **KW)
    pd.testing.assert_frame_equal(a.windows, c.windows, check_exact=True)
    pd.testing.assert_frame_equal(a.equity, c.equity, check_exact=True)


def test_optuna_with_levels_picks_valid_candidates(bars, windows):
    config = ExecutionConfig(maintenance_margin=0.005)
    res = run_walk_forward(bars, "sma_cross", config=config, windows=windows, grids=GRIDS,
                           select="optuna", n_trials=15, seed=3, sl=SL, tp=TP, leverage=LEV,
                           **KW)
    grid = run_walk_forward(bars, "sma_cross", config=config, windows=windows, grids=GRIDS,
                            sl=SL, tp=TP, leverage=LEV, **KW).windows
    for (_, row), (_, g) in zip(res.windows.iterrows(), grid.iterrows()):
        p = json.loads(row["params"])
        sl, tp, lev = _chosen_levels(row)
        assert p["fast"] in GRIDS["sma_cross"]["fast"] and p["slow"] in GRIDS["sma_cross"]["slow"]
        assert sl in SL and tp in TP and lev in LEV
        assert 1 <= row["eligible"] <= 15
        # no better than scoring every candidate, and scored as the kernel scores it
        assert row["is_sharpe"] <= g["is_sharpe"] + 1e-12
        one = run_walk_forward(bars, "sma_cross", config=config, windows=windows,
                               grids={"sma_cross": {k: (v,) for k, v in p.items()}},
                               sl=[sl], tp=[tp], leverage=[lev], **KW).windows
        assert row["is_sharpe"] == pytest.approx(one.loc[row.name, "is_sharpe"], rel=1e-12)
    assert res.meta["levels"] == {"sl": list(SL), "tp": list(TP), "leverage": list(LEV)}


def test_signals_once_per_set_with_levels(bars, windows, monkeypatch):
    from lab.kernels import sweep

    widths = []
    original = sweep.simulate_many_nb

    def spy(o, h, l, c, el, xl, es, xs, sig_col, params, ppy):
        widths.append((el.shape[1], params.shape[0]))
        return original(o, h, l, c, el, xl, es, xs, sig_col, params, ppy)

    monkeypatch.setattr(sweep, "simulate_many_nb", spy)
    run_walk_forward(bars, "sma_cross", windows=windows, grids=GRIDS, sl=SL, tp=TP,
                     leverage=LEV, **KW)
    # one kernel call per window (+ the in-sample reference): 4 signal columns (2 x 2
    # sets, all valid) and 4 x 3 x 2 x 2 = 48 parameter columns
    assert widths == [(4, 48)] * (len(windows) + 1)


# -- errors -------------------------------------------------------------------------------
@pytest.mark.parametrize("levels, match", [
    ({"sl": [-0.01]}, "sl level -0.01 must be a fraction above 0"),
    ({"tp": [None, "x"]}, "tp level 'x' is not a number"),
    ({"sl": []}, "sl needs at least one level"),
    ({"sl": "0.02"}, "sl levels must be a list"),
    ({"leverage": [1, 0.5]}, "leverage level 0.5 does not fit the execution settings"),
    ({"leverage": [1, 500]}, "leverage level 500.0 does not fit"),
    ({"sl": [None, 1.5]}, "sl level 1.5 does not fit"),
])
def test_bad_levels_are_refused_with_the_level_named(bars, windows, levels, match):
    with pytest.raises(ConfigError, match=match):
        run_walk_forward(bars, "sma_cross", windows=windows, grids=GRIDS, **levels, **KW)
