"""Walk-forward: no look-ahead in the choice of parameters, stitched equity, metrics."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.research.walk_forward import (load_walk_forward, run_walk_forward, save_walk_forward,
                                       walk_forward_windows)
from lab.research.walk_forward.run import _summary

GRIDS = {"sma_cross": {"fast": (5, 10, 20), "slow": (30, 60, 120)}}


@pytest.fixture(scope="module")
def bars(btc_hourly):
    return btc_hourly.iloc[:4000]


def _run(bars, windows, **kw):
    kw.setdefault("grids", GRIDS)
    return run_walk_forward(bars, ["sma_cross"], config=ExecutionConfig(), windows=windows,
                            asset_class="crypto", timeframe="1h", min_trades=1, **kw)


def _poisoned(bars, start, seed=1):
    rng = np.random.default_rng(seed)
    out = bars.copy()
    f = rng.uniform(0.5, 1.5, size=len(out) - start)
    for c in ("open", "high", "low", "close"):
        out.iloc[start:, out.columns.get_loc(c)] *= f
    out["high"] = out[["open", "high", "low", "close"]].max(axis=1)
    out["low"] = out[["open", "high", "low", "close"]].min(axis=1)
    return out


@pytest.mark.parametrize("select", ["grid", "optuna"])
def test_fold_never_sees_its_test_data(bars, select):
    ws = walk_forward_windows(bars.index, n_windows=3, train_fraction=0.6)
    base = _run(bars, ws, select=select, n_trials=6).windows
    for i, w in enumerate(ws):
        poisoned = _run(_poisoned(bars, w.test.start), ws, select=select, n_trials=6).windows
        # the choice of fold i (and of every earlier fold) ignores bars from its test on
        assert list(poisoned["params"][: i + 1]) == list(base["params"][: i + 1])
        assert np.allclose(poisoned["is_sharpe"][: i + 1], base["is_sharpe"][: i + 1],
                           equal_nan=True)
    # and the poison does change what is measured out of sample
    last = _run(_poisoned(bars, ws[0].test.start), ws).windows
    assert not np.allclose(last["oos_total_return"], _run(bars, ws).windows["oos_total_return"])


def test_stitched_equity_fresh_capital(bars):
    ws = walk_forward_windows(bars.index, train_bars=1500, test_bars=500)
    res = _run(bars, ws)
    eq = res.equity["sma_cross"]
    cash = 10_000.0
    assert len(eq) == sum(w.test_bars for w in ws)
    assert eq.index.equals(bars.index[ws[0].test.start: ws[-1].test.stop])
    # additive: the final equity is the starting cash plus every fold's P&L
    pnl = cash * res.windows["oos_total_return"].to_numpy()
    assert eq.iloc[-1] == pytest.approx(cash + pnl.sum(), rel=1e-9)
    # continuous: at each fold boundary the curve moves by the new fold's first-bar P&L
    # only, never by a reset to the starting cash
    ends = [w.test.stop - w.test.start for w in ws]
    pos = np.cumsum(ends)
    for k, p in enumerate(pos[:-1]):
        before = eq.iloc[p - 1]
        assert before == pytest.approx(cash + pnl[: k + 1].sum(), rel=1e-9)
        assert abs(eq.iloc[p] - before) < 0.2 * cash


def test_stitched_equity_compound(bars):
    ws = walk_forward_windows(bars.index, train_bars=1500, test_bars=500)
    res = _run(bars, ws, compound=True)
    eq = res.equity["sma_cross"]
    growth = np.prod(1 + res.windows["oos_total_return"].to_numpy())
    assert eq.iloc[-1] == pytest.approx(10_000 * growth, rel=1e-9)
    assert res.summary.loc[0, "oos_return"] == pytest.approx(growth - 1, rel=1e-9)


def test_window_detail_and_round_trip(bars, tmp_path):
    ws = walk_forward_windows(bars.index, n_windows=2, train_fraction=0.75, anchored=True)
    res = _run(bars, ws)
    w = res.windows
    assert list(w["window"]) == [1, 2]
    assert (w["train_start"] == bars.index[0]).all()
    assert (w["test_start"] > w["train_end"]).all()
    for _, row in w.iterrows():
        p = json.loads(row["params"])
        assert p["fast"] in GRIDS["sma_cross"]["fast"] and row["param_fast"] == p["fast"]
    assert res.in_sample["sma_cross"].index.equals(res.equity.index)
    back = load_walk_forward(save_walk_forward(res, tmp_path / "wf"))
    pd.testing.assert_frame_equal(back.summary, res.summary)
    assert back.meta["select"] == "grid"


def test_no_eligible_set_stays_flat(bars):
    ws = walk_forward_windows(bars.index, n_windows=2, train_fraction=0.7)
    res = run_walk_forward(bars, "sma_cross", windows=ws, grids=GRIDS, min_trades=10**6,
                           asset_class="crypto", timeframe="1h")
    assert res.windows["params"].isna().all()
    assert (res.equity["sma_cross"] == 10_000).all()
    assert res.summary.loc[0, "windows_traded"] == 0


def test_summary_metrics_constructed():
    rows = []
    for strategy, oos_sh, oos_ret, oos_cagr in [("a", (1.0, 3.0), (0.1, -0.05), (0.1, 0.3)),
                                                ("b", (2.0, 2.0), (0.1, 0.1), (0.2, 0.2)),
                                                ("c", (0.5, 0.5), (0.1, 0.1), (0.1, 0.1))]:
        for i in range(2):
            rows.append({"strategy": strategy, "params": "{}", "oos_sharpe": oos_sh[i],
                         "is_sharpe": 4.0, "oos_total_return": oos_ret[i],
                         "oos_cagr": oos_cagr[i], "is_cagr": 0.4, "oos_max_drawdown": -0.1,
                         "oos_trades": 3})
    equity = {"a": pd.Series([100.0, 105.0]), "b": pd.Series([100.0, 120.0]),
              "c": pd.Series([100.0, 90.0])}
    s = _summary(pd.DataFrame(rows), equity, 100.0, 252.0).set_index("strategy")
    assert s.loc["a", "oos_sharpe"] == pytest.approx(2.0)
    assert s.loc["a", "consistency"] == pytest.approx(0.5)
    assert s.loc["a", "sharpe_decay"] == pytest.approx(0.5)
    assert s.loc["a", "wfe"] == pytest.approx(0.5)
    assert s.loc["a", "oos_return"] == pytest.approx(0.05)
    assert s.loc["c", "oos_return"] == pytest.approx(-0.10)
    # same OOS Sharpe: b is more consistent, so it ranks above a; c is last
    assert list(s.sort_values("rank").index) == ["b", "a", "c"]


def test_errors(bars):
    ws = walk_forward_windows(bars.index, n_windows=2, train_fraction=0.7)
    with pytest.raises(ConfigError, match="selection"):
        _run(bars, ws, select="random")
    with pytest.raises(ConfigError, match="objective"):
        _run(bars, ws, objective="nope")
    with pytest.raises(ConfigError, match="at least one window"):
        _run(bars, [])
    with pytest.raises(ConfigError, match="does not fit"):
        _run(bars.iloc[:100], ws)


def test_signals_are_computed_once_per_strategy(bars, monkeypatch):
    from lab.core.strategy import StrategySpec

    calls = []
    original = StrategySpec.signals_batch

    def counting(self, b, params_list):
        calls.append((self.name, len(b), len(params_list)))
        return original(self, b, params_list)

    monkeypatch.setattr(StrategySpec, "signals_batch", counting)
    ws = walk_forward_windows(bars.index, n_windows=4, train_fraction=0.7)
    for select in ("grid", "optuna"):
        calls.clear()
        _run(bars, ws, select=select, n_trials=5)
        # one batch, on all the bars, for every parameter set (3 x 3, all valid)
        assert calls == [("sma_cross", len(bars), 9)]


def test_progress_and_cancel(bars):
    from lab.research.walk_forward import WalkForwardCancelled

    ws = walk_forward_windows(bars.index, n_windows=3, train_fraction=0.7)
    seen = []
    _run(bars, ws, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    asked = []

    def cancel():
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(WalkForwardCancelled, match="window 3 of 3"):
        _run(bars, ws, cancel=cancel)


def test_windows_traded_counts_windows_with_an_out_of_sample_trade():
    """Regression: it counted windows with chosen parameters (6 of 6) although some of
    them made no out-of-sample trade."""
    windows = pd.DataFrame({
        "strategy": ["sma_cross"] * 4,
        "params": ['{"fast": 5, "slow": 30}', '{"fast": 5, "slow": 60}',
                   '{"fast": 10, "slow": 30}', None],
        "oos_trades": [3.0, 0.0, 1.0, np.nan],
        "oos_sharpe": [0.5, np.nan, -0.2, np.nan], "is_sharpe": [1.0, 0.8, 0.9, np.nan],
        "oos_cagr": [0.1, 0.0, -0.05, 0.0], "is_cagr": [0.2, 0.1, 0.15, np.nan],
        "oos_total_return": [0.02, 0.0, -0.01, 0.0],
        "oos_max_drawdown": [-0.05, 0.0, -0.03, 0.0]})
    equity = {"sma_cross": pd.Series([10_000.0, 10_200.0, 10_100.0])}
    summary = _summary(windows, equity, 10_000.0, 8760.0)
    assert summary.loc[0, "windows"] == 4 and summary.loc[0, "oos_trades"] == 4
    assert summary.loc[0, "windows_traded"] == 2
