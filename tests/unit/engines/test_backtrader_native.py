"""Native Backtrader strategies: registration without importing backtrader, the
risk-managed base's limits on hand-made bars, and bt_sma_cross = sma_cross."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from lab.core import ConfigError, ExecutionConfig, StrategyError, registry
from lab.core.params import Params, param
from lab.core.strategy import StrategySpec
from lab.costs import ib_fixed, percent
from lab.engines import backtrader_engine, vectorized
from tests.unit.engines.conftest import make_bars

CASH = 1000.0


@dataclass(frozen=True)
class RiskParams(Params):
    max_position_size: float = param(0.0, low=0.0, high=1e9, help="units")
    max_concentration: float = param(0.0, low=0.0, high=100.0, help="notional / equity")
    max_daily_loss: float = param(0.0, low=0.0, high=1.0, help="fraction")
    max_drawdown: float = param(0.0, low=0.0, high=1.0, help="fraction")
    flatten_hour: int = param(-1, low=-1, high=23, help="UTC hour")


def scripted(script: dict[int, str]) -> StrategySpec:
    """A native spec that calls ``go_<script[i]>()`` at the close of bar i."""
    def factory():
        from strategies._bt_base import RiskManagedStrategy

        class Scripted(RiskManagedStrategy):
            def next(self):
                action = script.get(len(self.data) - 1)
                if action:
                    getattr(self, f"go_{action}")()

        return Scripted

    def no_signals(bars, p, cache):
        raise StrategyError("native")

    return StrategySpec("scripted", "trend", RiskParams, no_signals,
                        extra={"backtrader_factory": factory})


def hourly(prices, start="2024-01-01 18:00", low=None):
    o = np.asarray(prices, dtype=float)
    lo = o - 0.5 if low is None else np.asarray(low, dtype=float)
    idx = pd.date_range(start, periods=len(o), freq="h", tz="UTC", name="ts_event")
    return pd.DataFrame({"open": o, "high": o + 0.5, "low": lo, "close": o,
                         "volume": 1.0}, index=idx)


def run(bars, script, **limits):
    cfg = limits.pop("config", ExecutionConfig(cash=CASH))
    spec = scripted(script)
    return backtrader_engine.run_native(bars, spec, spec.params(**limits), cfg)


# --- registration -------------------------------------------------------------------

def test_loading_the_registry_does_not_import_backtrader():
    code = ("import sys; from lab.core import registry; registry.names(); "
            "assert 'bt_sma_cross' in registry.names(); "
            "assert 'backtrader' not in sys.modules, 'backtrader imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(
        __import__("pathlib").Path(__file__).resolve().parents[3]))


def test_native_spec_has_no_signals_and_says_which_engine_runs_it():
    spec = registry.get("bt_sma_cross")
    with pytest.raises(StrategyError, match="native Backtrader strategy: run it with "
                                            "engine='backtrader'"):
        spec.signals(make_bars([1, 2, 3]))


def test_run_native_refuses_a_signal_strategy():
    with pytest.raises(StrategyError, match="signal strategy"):
        backtrader_engine.run_native(make_bars([1, 2, 3]), registry.get("sma_cross"))


def test_api_runs_a_native_strategy_only_on_backtrader(spx_daily):
    from lab.api import run_backtest

    bars = spx_daily.iloc[:400]
    r = run_backtest(bars, "bt_sma_cross", {"fast": 10, "slow": 30}, engine="backtrader")
    assert r.engine == "backtrader" and r.strategy == "bt_sma_cross" and len(r.trades)
    assert r.params["fast"] == 10
    with pytest.raises(ConfigError, match="backtrader"):
        run_backtest(bars, "bt_sma_cross", engine="vectorized")


# --- bt_sma_cross is sma_cross ------------------------------------------------------

@pytest.mark.parametrize("direction", ["long", "short", "both"])
@pytest.mark.parametrize("dataset", ["spx_daily", "btc_hourly"])
def test_bt_sma_cross_without_limits_trades_like_sma_cross(dataset, direction, request):
    bars = request.getfixturevalue(dataset).iloc[:1500]
    native, signal = registry.get("bt_sma_cross"), registry.get("sma_cross")
    cfg = ExecutionConfig(cash=10_000, direction=direction, commission=percent(0.001),
                          slippage=0.0005)
    a = vectorized.run(bars, signal.signals(bars, signal.params(fast=10, slow=40)), cfg)
    b = backtrader_engine.run_native(bars, native, native.params(fast=10, slow=40), cfg)
    cols = ["entry_bar", "exit_bar", "side", "exit_reason"]
    assert len(a.trades) > 5
    pd.testing.assert_frame_equal(b.trades[cols], a.trades[cols])
    np.testing.assert_allclose(b.trades.qty, a.trades.qty, rtol=1e-9)
    assert b.equity.iloc[-1] == pytest.approx(a.equity.iloc[-1], rel=1e-9)


# --- the risk-managed base ----------------------------------------------------------

def test_orders_fill_at_the_next_open_and_the_end_closes_at_the_last_close():
    r = run(make_bars([100, 100, 102, 104, 106], close=[100, 100, 103, 105, 107]),
            {1: "long"})
    t = r.trades.iloc[0]
    assert (t.entry_bar, t.entry_price, t.exit_bar, t.exit_price, t.exit_reason) == \
        (2, 102.0, 4, 107.0, "end")
    assert t.qty == pytest.approx(CASH / 102)


def test_max_position_size_caps_the_units():
    r = run(make_bars([100] * 5), {1: "long"}, max_position_size=3)
    assert r.trades.qty.iloc[0] == 3


def test_max_concentration_caps_the_notional_as_a_share_of_equity():
    r = run(make_bars([100] * 5), {1: "long"}, max_concentration=0.5)
    assert r.trades.qty.iloc[0] == pytest.approx(5.0)


def test_short_wish_on_a_long_only_run_means_flat():
    r = run(make_bars([100, 100, 100, 100, 100]), {1: "long", 2: "short"})
    t = r.trades.iloc[0]
    assert (t.side, t.exit_bar, t.exit_reason) == ("long", 3, "signal")
    assert len(r.trades) == 1


def test_max_drawdown_flattens_and_stops_trading_for_good():
    bars = make_bars([100, 100, 100, 95, 85, 85, 85, 86, 87])
    r = run(bars, {1: "long", 6: "long"}, max_drawdown=0.1)
    t = r.trades.iloc[0]
    # close of bar 4 (85) is 15 % below the peak: flat at bar 5's open, never again
    assert (t.exit_bar, t.exit_price, t.exit_reason) == (5, 85.0, "signal")
    assert len(r.trades) == 1


def test_max_daily_loss_flattens_for_the_rest_of_the_day_only():
    # hourly bars from 18:00; 10 % loss by 20:00; a new entry wish at 21:00 is refused
    # until the next UTC day starts at 00:00
    bars = hourly([100, 100, 100, 90, 90, 90, 90, 90, 91, 92])
    r = run(bars, {0: "long", 4: "long", 6: "long"}, max_daily_loss=0.05)
    first, second = r.trades.iloc[0], r.trades.iloc[1]
    assert (first.entry_bar, first.exit_bar) == (1, 4)
    assert second.entry_bar == 7 and r.trades.entry_time.iloc[1].hour == 1
    assert len(r.trades) == 2


def test_flatten_hour_closes_at_that_hour_and_waits_for_the_next_day():
    bars = hourly([100] * 10)                     # 18:00 .. 03:00
    r = run(bars, {0: "long", 4: "long", 6: "long"}, flatten_hour=21)
    first, second = r.trades.iloc[0], r.trades.iloc[1]
    assert first.exit_time.hour == 21 and first.exit_reason == "signal"
    assert second.entry_time.hour == 1           # wish at 23:00 refused, at 00:00 taken


def test_bracket_from_the_config_stops_the_position():
    bars = make_bars([100, 100, 100, 99, 96], low=[99.5, 99.5, 99.5, 94, 95.5])
    r = run(bars, {1: "long"}, config=ExecutionConfig(cash=CASH, sl=0.05,
                                                       commission=ib_fixed()))
    t = r.trades.iloc[0]
    assert (t.exit_bar, t.exit_price, t.exit_reason) == (3, 95.0, "stop")


def test_a_limit_reached_at_the_last_close_does_not_trade_on_the_closing_bar():
    # the drawdown limit is hit at the last close: the end close flattens, and the
    # base must not send a second close on the synthetic bar (that would reverse)
    bars = make_bars([100, 100, 100, 100, 80])
    r = run(bars, {1: "long"}, max_drawdown=0.1)
    assert len(r.trades) == 1 and r.trades.exit_reason.iloc[0] == "end"
    assert r.position.iloc[-1] == 0
    assert r.equity.iloc[-1] == pytest.approx(CASH * 0.8)
