"""A minimum order notional stops a blown account from trading dust.

Regression on real data: at high leverage the BTC hourly sample liquidates the
account again and again; without a minimum the remaining equity keeps opening
positions down to ~1e-226 of the starting cash, and those dust trades make up most of
the trade count (and the win rate / profit factor of a sweep row).
"""

from __future__ import annotations

import numpy as np
import pytest

from lab.core import registry
from lab.core.config import Commission, ExecutionConfig
from lab.engines import backtrader_engine, vectorized

LEVERAGE = 50.0
MIN_NOTIONAL = 10.0


@pytest.fixture(scope="module")
def blown(btc_hourly):
    """sma_cross 5/20, both directions at 50x, without and with a minimum notional."""
    spec = registry.get("sma_cross")
    signals = spec.signals(btc_hourly, spec.params(fast=5, slow=20))
    base = ExecutionConfig(direction="both", leverage=LEVERAGE,
                           commission=Commission(rate=0.0004))
    runs = {mn: vectorized.run(btc_hourly, signals, base.replace(min_notional=mn),
                               periods_per_year=8760.0)
            for mn in (0.0, MIN_NOTIONAL)}
    return btc_hourly, signals, base, runs


def notional(trades):
    return (trades.qty * trades.entry_price).to_numpy()


def test_blown_account_trades_dust_without_a_minimum_and_stops_with_one(blown):
    _, _, _, runs = blown
    free, floored = runs[0.0], runs[MIN_NOTIONAL]
    assert floored.metrics["liquidations"] >= 5, "the case should liquidate several times"
    # flat, and all of the equity at 50x buys less than 10: no entry can be placed again
    eq, pos = floored.equity.to_numpy(), floored.position.to_numpy()
    stuck = np.flatnonzero((pos == 0) & (eq * LEVERAGE < MIN_NOTIONAL))[0]
    assert (floored.trades.entry_bar > stuck).sum() == 0
    assert (notional(floored.trades) >= MIN_NOTIONAL).all()
    # without the minimum the same account goes on trading dust after that bar
    dust = notional(free.trades) < MIN_NOTIONAL
    assert (free.trades.entry_bar > stuck).sum() > 1000
    assert dust.sum() > 1000 and notional(free.trades).min() < 1e-100
    assert free.metrics["trades"] > 10 * floored.metrics["trades"]


def test_minimum_notional_only_removes_the_dust_trades(blown):
    # until the first entry below the minimum, both runs trade identically
    _, _, _, runs = blown
    free, floored = runs[0.0], runs[MIN_NOTIONAL]
    first_dust = int(np.flatnonzero(notional(free.trades) < MIN_NOTIONAL)[0])
    assert first_dust == len(floored.trades)
    cols = ["entry_bar", "exit_bar", "side", "qty", "pnl", "exit_reason"]
    assert free.trades[cols].iloc[:first_dust].equals(floored.trades[cols])


def test_backtrader_refuses_the_same_dust_entries(blown):
    bars, signals, base, runs = blown
    cfg = base.replace(min_notional=MIN_NOTIONAL)
    b = backtrader_engine.run(bars, signals, cfg, periods_per_year=8760.0)
    a = runs[MIN_NOTIONAL]
    assert len(b.trades) == len(a.trades)
    np.testing.assert_allclose(b.equity.to_numpy(), a.equity.to_numpy(), rtol=1e-9,
                               atol=1e-9)


def test_a_stuck_account_is_told_the_largest_order_it_can_still_place(blown, btc_hourly):
    from lab.costs.rules import min_notional_block

    _, _, _, runs = blown
    cfg = runs[MIN_NOTIONAL].config
    equity = float(runs[MIN_NOTIONAL].equity.iloc[-1])
    price = float(btc_hourly["close"].iloc[-1])
    reachable = min_notional_block(cfg, equity, price)
    # all of the equity at 50x, less the 0.04 % commission: 1 / (1/50 + 0.0004) x equity
    assert reachable == pytest.approx(equity / (1 / LEVERAGE + 0.0004), rel=1e-9)
    assert 0 < reachable < MIN_NOTIONAL
    assert min_notional_block(cfg.replace(min_notional=0.0), equity, price) is None
    assert min_notional_block(cfg, 10_000.0, price) is None        # an entry fits


def test_one_unit_block_names_what_one_contract_needs():
    """An ES contract needs its initial margin (registry: 12,650) plus fees; with 10,000
    of cash the whole-contract rule buys nothing, and the helper says what one costs."""
    from lab.costs import per_contract
    from lab.costs.rules import one_unit_block

    cfg = ExecutionConfig(cash=10_000.0, multiplier=50.0, initial_margin=12_650.0,
                          maintenance_per_contract=11_500.0, whole_units=True,
                          commission=per_contract(0.85))
    need = one_unit_block(cfg, 10_000.0, 1690.0)
    assert need == pytest.approx(12_650.0 + 0.85, rel=1e-6)
    assert one_unit_block(cfg, 20_000.0, 1690.0) is None                 # one fits
    assert one_unit_block(cfg.replace(whole_units=False), 10_000.0, 1690.0) is None
