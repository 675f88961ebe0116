"""Proof: a paper bot replaying stored bars from its first bar ends with exactly the
closed trades, fills and fees of ``lab backtest`` on the same bars and config, and
holds the position the backtest closes at the end, marked to the same equity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab import costs
from lab.api import run_backtest
from lab.core.config import ExecutionConfig
from lab.jobs.bot_check import compare, replay_check
from lab.live import control
from lab.live.config import BotConfig
from lab.live.feeds import ReplayFeed
from lab.live.runner import Runner, open_catalog

CASES = {
    "crypto_hourly_long": dict(
        symbol="BTCUSD_COINBASE", timeframe="1h", strategy="sma_cross",
        params={"fast": 10, "slow": 30}, asset_class="crypto",
        start="2018-01-01", end="2018-02-20",
        execution=ExecutionConfig(cash=10_000, commission=costs.percent(0.001),
                                  slippage=0.0005, min_notional=10)),
    "crypto_hourly_both_lev3_sl_tp": dict(
        symbol="BTCUSD_COINBASE", timeframe="1h", strategy="ema_cross",
        params={}, asset_class="crypto", start="2018-03-01", end="2018-04-20",
        execution=ExecutionConfig(cash=10_000, direction="both", leverage=3, sl=0.02,
                                  tp=0.04, both_hit="nearest_to_open",
                                  commission=costs.percent(0.001), slippage=0.0005)),
    "equity_daily_ib_per_share": dict(
        symbol="AAPL", timeframe="1d", strategy="sma_cross", params={"fast": 10, "slow": 40},
        asset_class="equity", start="2005-01-01", end="2008-12-31",
        execution=ExecutionConfig(cash=25_000, commission=costs.ib_fixed(),
                                  whole_units=True, slippage=0.0002, sl=0.08)),
    "future_minute_margin": dict(
        symbol="ESZ13", timeframe="1m", strategy="sma_cross", params={"fast": 10, "slow": 40},
        asset_class="future", start="2013-10-07", end="2013-10-08",
        execution=ExecutionConfig(cash=30_000, direction="both", sl=0.002, tp=0.004,
                                  slippage=0.0001, whole_units=True, multiplier=50.0,
                                  commission=costs.per_contract(0.85), tick_size=0.25,
                                  initial_margin=costs.INSTRUMENTS["ES"].initial_margin,
                                  maintenance_per_contract=11_500.0, exchange_fee=1.40)),
    "fx_hourly": dict(
        symbol="EURUSD", timeframe="1h", strategy="rsi", params={},
        asset_class="fx", start="2017-03-01", end="2017-04-30",
        execution=ExecutionConfig(cash=10_000, direction="both", leverage=2,
                                  commission=costs.percent(0.00002), slippage=0.00002)),
}


def _replay(root, name, case):
    feed = {"kind": "replay", "speed": 0, "start": case["start"], "end": case["end"]}
    cfg = BotConfig(name=name, symbol=case["symbol"], timeframe=case["timeframe"],
                    strategy=case["strategy"], params=case["params"],
                    execution=case["execution"], asset_class=case["asset_class"], feed=feed)
    control.create(cfg, root)
    assert Runner(name, root).run() == 0
    bars = ReplayFeed(open_catalog(root), case["symbol"], case["timeframe"], case["start"],
                      case["end"])._bars
    return cfg, bars


@pytest.mark.parametrize("case", list(CASES))
def test_paper_bot_replay_equals_the_backtest(live_root, case):
    spec = CASES[case]
    cfg, bars = _replay(live_root, "parity", spec)
    result = run_backtest(bars, spec["strategy"], spec["params"], spec["execution"],
                          asset_class=spec["asset_class"], timeframe=spec["timeframe"])
    status = control.status("parity", live_root)
    assert status["state"] == "finished" and status["bars_seen"] == len(bars)
    trades = control.trades("parity", live_root)
    closed = result.trades[result.trades["exit_reason"] != "end"].reset_index(drop=True)
    assert len(closed) >= 5, "the sample must trade for the proof to mean something"
    if spec["execution"].sl is not None:
        assert {"stop", "target"} & set(closed["exit_reason"]), "levels must be exercised"
    assert list(trades.columns) == list(result.trades.columns)
    pd.testing.assert_frame_equal(trades, closed, rtol=1e-9, atol=1e-9, check_dtype=False)
    fills = control.fills("parity", live_root)
    orders = result.orders
    end = result.trades[result.trades["exit_reason"] == "end"]
    if len(end):
        orders = orders.iloc[:-1]
        e = end.iloc[0]
        assert status["position"] == pytest.approx(e["qty"] if e["side"] == "long"
                                                   else -e["qty"], rel=1e-12)
        assert status["entry_price"] == pytest.approx(e["entry_price"], rel=1e-12)
    else:
        assert status["position"] == 0.0
    assert len(fills) == len(orders)
    np.testing.assert_allclose([f["price"] for f in fills], orders["price"], rtol=1e-9)
    np.testing.assert_allclose([f["fee"] for f in fills], orders["fee"], rtol=1e-9, atol=1e-12)
    assert sum(f["fee"] for f in fills) == pytest.approx(orders["fee"].sum(), rel=1e-9)
    eq = control.equity("parity", live_root)["equity"]
    np.testing.assert_allclose(eq.to_numpy()[:-1], result.equity.to_numpy()[:-1], rtol=1e-9)
    # the page's replay check says the same
    check = replay_check("parity", live_root)
    assert check.match, check.differences
    assert check.bot_trades == len(closed)


def test_replay_check_reports_a_difference(live_root):
    spec = CASES["crypto_hourly_long"]
    _replay(live_root, "parity2", spec)
    cfg = control.config("parity2", live_root)
    eq = control.equity("parity2", live_root)
    other = run_backtest(eq[["open", "high", "low", "close", "volume"]], "sma_cross",
                         {"fast": 12, "slow": 30}, cfg.execution, asset_class="crypto",
                         timeframe="1h")
    st = control.status("parity2", live_root)
    check = compare(other, control.trades("parity2", live_root),
                    control.fills("parity2", live_root), eq["equity"], st["position"])
    assert not check.match and check.differences
