"""Backtrader engine: every golden rule of the fast engine holds with the same values,
and the stock Backtrader behaviours that the adapter changes are pinned down.

The golden tests (``test_vectorized_rules.py``) are rerun with
``lab.engines.backtrader_engine.run`` in place of the fast engine. The tests below
them document, on hand-made bars, what stock Backtrader does differently (see
docs/engines.md) and that the engine's broker does what the kernel does.
"""

from __future__ import annotations

import itertools

import backtrader as bt
import numpy as np
import pytest

from lab.core import DataError, ExecutionConfig
from lab.costs import CONTRACTS, commission_of, ib_fixed, ib_tiered, per_contract, percent
from lab.engines import backtrader_engine, vectorized
from tests.unit.engines import test_vectorized_rules as golden
from tests.unit.engines.conftest import make_bars, make_signals


def golden_params():
    """``pytest.param(test_fn, kwargs, id=...)`` for every golden test of the fast engine
    (each parametrized case separately)."""
    out = []
    for name in sorted(dir(golden)):
        fn = getattr(golden, name)
        if not (name.startswith("test_") and callable(fn)):
            continue
        marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
        if not marks:
            out.append(pytest.param(fn, {}, id=name))
            continue
        axes = []                          # stacked parametrize marks: every combination
        for m in marks:
            argnames, values = m.args[0], m.args[1]
            names = [a.strip() for a in argnames.split(",")] if isinstance(argnames, str) \
                else list(argnames)
            axes.append([dict(zip(names, v if len(names) > 1 else (v,))) for v in values])
        for k, combo in enumerate(itertools.product(*axes)):
            kwargs = {key: val for part in combo for key, val in part.items()}
            out.append(pytest.param(fn, kwargs, id=f"{name}[{k}]"))
    return out


def run_golden(fn, kwargs, engine_run, monkeypatch) -> None:
    """Run golden test ``fn`` with ``engine_run`` in place of the fast engine's ``run``."""
    monkeypatch.setattr(golden, "run", engine_run)
    fn(**kwargs)


@pytest.mark.parametrize("fn, kwargs", golden_params())
def test_golden_rule_holds_on_backtrader(fn, kwargs, monkeypatch):
    run_golden(fn, kwargs, backtrader_engine.run, monkeypatch)


def test_result_has_the_fast_engines_shape_and_engine_name():
    bars = make_bars([10, 10, 11, 12, 13, 14])
    sig = make_signals(6, el=[1], xl=[3])
    cfg = ExecutionConfig(cash=1000, commission=percent(0.001), slippage=0.001)
    a, b = vectorized.run(bars, sig, cfg), backtrader_engine.run(bars, sig, cfg)
    assert b.engine == "backtrader"
    assert list(b.trades.columns) == list(a.trades.columns)
    assert list(b.orders.columns) == list(a.orders.columns)
    assert set(b.metrics) == set(a.metrics)
    np.testing.assert_allclose(b.equity.to_numpy(), a.equity.to_numpy(), rtol=1e-12)
    assert b.equity.index.equals(bars.index) and b.position.index.equals(bars.index)


def test_signals_of_another_length_raise_data_error():
    with pytest.raises(DataError, match="signals cover 4 bars"):
        backtrader_engine.run(make_bars([1, 2, 3, 4, 5]), make_signals(4, el=[1]))


# --- stock Backtrader vs the engine's broker (docs/engines.md) ----------------------

def _bracket_fills(broker_cls, bars, stop):
    """Plain Cerebro: a market bracket buy at bar 2's open with a stop child at ``stop``;
    returns the fill prices."""
    class Once(bt.Strategy):
        def next(self):
            if len(self) == 2:
                self.buy_bracket(size=1, exectype=bt.Order.Market, stopprice=stop,
                                 limitprice=1e9)

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker = broker_cls(cash=1000)
    df = bars.copy()
    df.index = df.index.tz_localize(None)
    cerebro.adddata(bt.feeds.PandasData(dataname=df, openinterest=None))
    cerebro.addstrategy(Once)
    cerebro.run()
    return [o.executed.price for o in cerebro.broker.orders if o.status == o.Completed]


def test_stock_backtrader_ignores_a_stop_on_the_entry_bar_the_engine_does_not():
    from lab.engines.bt_broker import LabBroker

    # entry at bar 2's open (100); bar 2's low (94) is below the stop (95)
    bars = make_bars([100, 100, 100, 100, 100], low=[99.5, 99.5, 94, 99.5, 99.5])
    assert _bracket_fills(bt.brokers.BackBroker, bars, 95.0) == [100.0]   # child idle
    assert _bracket_fills(LabBroker, bars, 95.0) == [100.0, 95.0]
    t = backtrader_engine.run(bars, make_signals(5, el=[1]),
                              ExecutionConfig(cash=1000, sl=0.05)).trades.iloc[0]
    assert (t.entry_bar, t.exit_bar, t.exit_reason) == (2, 2, "stop")


def test_take_profit_gapped_through_fills_at_the_open_without_slippage():
    # stock Backtrader with slip_open slips a limit order that fills at the open
    bars = make_bars([100, 100, 100, 108, 108])
    cfg = ExecutionConfig(cash=1000, tp=0.05, slippage=0.01)
    t = backtrader_engine.run(bars, make_signals(5, el=[1]), cfg).trades.iloc[0]
    assert (t.exit_price, t.exit_reason) == (108.0, "target")


def test_liquidation_fills_at_its_level_without_slippage():
    liq = 100 * 1.001 * 0.9 / 0.995
    bars = make_bars([100, 100, 100, 95, 92], low=[99.5, 99.5, 99.5, 89, 91.5],
                     close=[100, 100, 100, 92, 92])
    cfg = ExecutionConfig(cash=1000, leverage=10, slippage=0.001)
    t = backtrader_engine.run(bars, make_signals(5, el=[1]), cfg).trades.iloc[0]
    assert t.exit_reason == "liquidation"
    assert t.exit_price == pytest.approx(liq, rel=1e-12)


def test_stop_between_entry_and_liquidation_fills_before_it_in_the_bar():
    bars = make_bars([100, 100, 100, 99.5, 92], low=[99.5, 99.5, 99.5, 80, 91.5],
                     close=[100, 100, 100, 92, 92])
    cfg = ExecutionConfig(cash=1000, leverage=10, sl=0.02)
    t = backtrader_engine.run(bars, make_signals(5, el=[1]), cfg).trades.iloc[0]
    assert (t.exit_reason, t.exit_price) == ("stop", 98.0)


def test_open_beyond_both_stop_and_liquidation_is_a_liquidation_at_the_open():
    bars = make_bars([100, 100, 100, 85, 85])
    cfg = ExecutionConfig(cash=1000, leverage=10, sl=0.02, slippage=0.001)
    t = backtrader_engine.run(bars, make_signals(5, el=[1]), cfg).trades.iloc[0]
    assert (t.exit_reason, t.exit_price) == ("liquidation", 85.0)


def test_gap_through_the_target_wins_over_a_stop_touched_later_in_the_bar():
    # open 108 is beyond the target (105); the low (90) also crosses the stop (95)
    bars = make_bars([100, 100, 100, 108, 100], low=[99.5, 99.5, 99.5, 90, 99.5])
    cfg = ExecutionConfig(cash=1000, sl=0.05, tp=0.05)
    t = backtrader_engine.run(bars, make_signals(5, el=[1]), cfg).trades.iloc[0]
    assert (t.exit_reason, t.exit_price) == ("target", 108.0)


def test_reversal_after_a_gap_stop_is_sized_on_the_equity_after_the_stop():
    bars = make_bars([100, 100, 100, 90, 90, 89])
    sig = make_signals(6, el=[1], es=[2])
    cfg = ExecutionConfig(cash=1000, direction="both", sl=0.05, commission=percent(0.001),
                          slippage=0.001)
    a, b = vectorized.run(bars, sig, cfg), backtrader_engine.run(bars, sig, cfg)
    assert list(b.trades.exit_reason) == ["stop", "end"]
    assert list(b.trades.side) == ["long", "short"]
    np.testing.assert_allclose(b.trades.qty, a.trades.qty, rtol=1e-12)
    assert b.equity.iloc[-1] == pytest.approx(a.equity.iloc[-1], rel=1e-12)


# --- commission through LabCommInfo --------------------------------------------------

@pytest.mark.parametrize("commission, multiplier", [
    (percent(0.001), 1.0), (ib_fixed(), 1.0), (ib_tiered(), 1.0),
    (per_contract(0.85), 1000.0), (per_contract(2.0, minimum=5.0), 100.0)])
@pytest.mark.parametrize("qty, price", [(1, 50.0), (3, 70.25), (250, 12.5), (10_000, 0.9)])
def test_comminfo_charges_exactly_lab_costs(commission, multiplier, qty, price):
    from lab.engines.bt_broker import LabCommInfo

    ci = LabCommInfo(lab_commission=commission, mult=multiplier, leverage=1.0)
    want = commission_of(commission, qty, price, multiplier)
    assert ci.getcommission(qty, price) == want
    assert ci.getcommission(-qty, price) == want


def test_ib_tiered_is_the_first_tier_with_its_minimum_and_cap():
    c = ib_tiered()
    assert commission_of(c, 50, 50.0) == pytest.approx(0.35)      # 0.175 -> $0.35 minimum
    assert commission_of(c, 1000, 50.0) == pytest.approx(3.5)     # $0.0035 per share
    assert commission_of(c, 20, 1.0) == pytest.approx(0.20)       # capped at 1 % of $20


def test_micro_crude_contracts_with_multiplier_and_per_contract_fees():
    mcl, cl = CONTRACTS["MCL"], CONTRACTS["CL"]
    assert (mcl.multiplier, mcl.tick_value) == (100.0, pytest.approx(1.0))
    assert (cl.multiplier, cl.tick_value) == (1000.0, pytest.approx(10.0))
    # 2 MCL from 70.00 to 70.50
    bars = make_bars([70, 70, 70, 70.5, 70.5])
    cfg = ExecutionConfig(cash=100_000, leverage=10, multiplier=mcl.multiplier,
                          commission=per_contract(0.85), size_type="quantity", size=2)
    t = backtrader_engine.run(bars, make_signals(5, el=[1], xl=[2]), cfg).trades.iloc[0]
    assert t.qty == 2 and t.fees == pytest.approx(4 * 0.85)
    assert t.pnl == pytest.approx(2 * 100 * 0.5 - 4 * 0.85)


def test_whole_units_rounded_up_within_the_kernels_tolerance_overdraw_like_it():
    # 1,000 buys 9.99999999995 units at 100.0000000005; the fast engine rounds to 10
    # (1e-9 tolerance) and spends 5e-9 more than the cash. Stock Backtrader refuses
    # any fill that leaves cash below zero; the engine lets that entry overdraw.
    bars = make_bars([100, 100, 100.0000000005, 101, 101])
    cfg = ExecutionConfig(cash=1000, whole_units=True)
    a = vectorized.run(bars, make_signals(5, el=[1]), cfg)
    b = backtrader_engine.run(bars, make_signals(5, el=[1]), cfg)
    assert a.trades.qty.iloc[0] == b.trades.qty.iloc[0] == 10
    np.testing.assert_allclose(b.equity.to_numpy(), a.equity.to_numpy(), rtol=1e-12)
