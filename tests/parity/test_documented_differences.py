"""The differences written in docs/engines.md, each shown on hand-made bars.

Where stock Backtrader (or a native strategy, which keeps Backtrader's conventions)
does not follow the fast engine's rule, these tests pin down what each side does, so
the documentation cannot drift from the code.
"""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pytest

from lab.core import ExecutionConfig
from lab.engines import backtrader_engine, vectorized
from tests.unit.engines.conftest import make_bars, make_signals
from tests.unit.engines.test_backtrader_native import scripted


def _cerebro(bars, strategy, **broker):
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker = bt.brokers.BackBroker(cash=1000, **broker)
    df = bars.copy()
    df.index = df.index.tz_localize(None)
    cerebro.adddata(bt.feeds.PandasData(dataname=df, openinterest=None))
    cerebro.addstrategy(strategy)
    return cerebro


def test_native_brackets_try_the_stop_first_even_when_the_open_gapped_past_the_target():
    # open 108 is beyond the target (105); the low (90) crosses the stop (95) later
    bars = make_bars([100, 100, 100, 108, 100], low=[99.5, 99.5, 99.5, 90, 99.5])
    cfg = ExecutionConfig(cash=1000, sl=0.05, tp=0.05)
    kernel = vectorized.run(bars, make_signals(5, el=[1]), cfg).trades.iloc[0]
    spec = scripted({1: "long"})
    native = backtrader_engine.run_native(bars, spec, spec.params(), cfg).trades.iloc[0]
    assert (kernel.exit_reason, kernel.exit_price) == ("target", 108.0)
    assert (native.exit_reason, native.exit_price) == ("stop", 95.0)


def test_native_strategies_are_not_liquidated():
    bars = make_bars([100, 100, 100, 85, 85])
    cfg = ExecutionConfig(cash=1000, leverage=10)
    kernel = vectorized.run(bars, make_signals(5, el=[1]), cfg)
    spec = scripted({1: "long"})
    native = backtrader_engine.run_native(bars, spec, spec.params(), cfg)
    assert kernel.trades.exit_reason.iloc[0] == "liquidation"
    assert native.trades.exit_reason.iloc[0] == "end"
    assert native.equity.iloc[-1] == pytest.approx(1000 - 100 * 15)


def test_backtrader_crossover_ignores_a_touch_that_bounces_the_kernel_rule_does_not():
    # fast - slow: -1, +1, 0, +1, +1. Both see the cross above at bar 1; at bar 3 the
    # kernel sees another (fast[2] <= slow[2]), bt.ind.CrossOver does not: it needs
    # the last non-zero difference to be negative. bt_sma_cross states the kernel's rule.
    from lab.kernels.crosses import cross_above_nb

    fast = np.array([4.0, 6.0, 5.0, 6.0, 6.0])
    slow = np.array([5.0, 5.0, 5.0, 5.0, 5.0])
    assert cross_above_nb(fast, slow).tolist() == [False, True, False, True, False]
    seen = {}

    class Probe(bt.Strategy):
        def __init__(self):
            self.cross = bt.ind.CrossOver(self.data.close, self.data.open)

        def next(self):
            seen[len(self) - 1] = self.cross[0]

    bars = make_bars(slow, close=fast, high=np.maximum(fast, slow) + 1,
                     low=np.minimum(fast, slow) - 1)
    _cerebro(bars, Probe).run()
    assert (seen[1], seen[3]) == (1.0, 0.0)


def test_stock_slippage_stops_at_the_bar_high_the_engine_pays_it_in_full():
    # bar 2 opens at its high (100): stock Backtrader caps the slipped buy at 100,
    # the fast engine (and the Backtrader engine) pay 100 x 1.01
    bars = make_bars([100, 100, 100, 100, 100], high=[100.5, 100.5, 100, 100.5, 100.5])
    fills = []

    class Buy(bt.Strategy):
        def next(self):
            if len(self) == 2:
                self.buy(size=1)

        def notify_order(self, order):
            if order.status == order.Completed:
                fills.append(order.executed.price)

    cerebro = _cerebro(bars, Buy)
    cerebro.broker.set_slippage_perc(0.01)
    cerebro.run()
    assert fills == [100.0]
    cfg = ExecutionConfig(cash=1000, slippage=0.01)
    for run in (vectorized.run, backtrader_engine.run):
        t = run(bars, make_signals(5, el=[1]), cfg).trades.iloc[0]
        assert t.entry_price == pytest.approx(101.0)


def test_stock_backtrader_cannot_fill_an_order_placed_at_the_last_bar():
    bars = make_bars([100, 100, 101, 102, 103])

    class HoldThenClose(bt.Strategy):
        def next(self):
            if len(self) == 2:
                self.buy(size=1)
            if len(self) == 5:                     # the last bar
                self.close()

    cerebro = _cerebro(bars, HoldThenClose)
    strat = cerebro.run()[0]
    assert strat.position.size == 1               # the close never filled
    r = backtrader_engine.run(bars, make_signals(5, el=[1]), ExecutionConfig(cash=1000))
    assert r.trades.exit_reason.iloc[0] == "end" and r.position.iloc[-1] == 0


def test_order_executed_price_is_an_average_that_can_miss_the_fill_by_one_ulp():
    # Backtrader stores (size x price) / size; the engine reports the fill itself
    q, p = 9.803921568627452, 107.0
    assert (q * p) / q != p
    bars = make_bars([100, 100, 102, 104, 106], close=[100, 100, 103, 105, 107])
    spec = scripted({1: "long"})
    r = backtrader_engine.run_native(bars, spec, spec.params(), ExecutionConfig(cash=1000))
    assert r.trades.exit_price.iloc[0] == 107.0
