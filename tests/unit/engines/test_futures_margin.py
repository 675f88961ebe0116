"""Futures margin per contract, account-level margin call, exchange and SEC fees, ticks.

Golden values on hand-made bars, worked out in the comments (Micro WTI: 100 barrels,
initial 583 / maintenance 530 USD per contract, CME FAQ of 2021-05-10; IB commission
0.85 + exchange fee 0.52 per contract). Each case runs on the fast engine and the
Backtrader engine; the sweep kernel is checked against the single run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.costs import INSTRUMENTS, SEC_FEE_RATE, per_contract, per_share
from lab.engines import backtrader_engine, vectorbt_engine, vectorized
from tests.unit.engines.conftest import make_bars, make_signals

MCL = INSTRUMENTS["MCL"]
FUT = dict(cash=10_000.0, multiplier=100.0, commission=per_contract(0.85),
           exchange_fee=0.52, whole_units=True, initial_margin=583.0,
           maintenance_per_contract=530.0)


def both(bars, signals, cfg):
    a = vectorized.run(bars, signals, cfg)
    b = backtrader_engine.run(bars, signals, cfg)
    assert len(a.trades) == len(b.trades)
    np.testing.assert_allclose(b.equity.to_numpy(), a.equity.to_numpy(), rtol=1e-9)
    for col in ("qty", "entry_price", "exit_price", "pnl", "fees"):
        np.testing.assert_allclose(b.trades[col].to_numpy(), a.trades[col].to_numpy(),
                                   rtol=1e-9, err_msg=col)
    assert a.trades.exit_reason.tolist() == b.trades.exit_reason.tolist()
    return a


def test_contracts_sized_by_initial_margin_not_by_notional():
    bars = make_bars([70.0] * 5)
    sig = make_signals(5, el=[0])
    # margin: 10,000 / (583 + 0.85 + 0.52) = 17.11 -> 17 contracts (119,000 notional)
    by_margin = both(bars, sig, ExecutionConfig(**FUT))
    t = by_margin.trades.iloc[0]
    # trade return is on the margin committed: contracts x initial margin
    assert t.qty == 17 and t["return"] == pytest.approx(t.pnl / (17 * 583.0), rel=1e-12)
    assert t.fees == pytest.approx(2 * 17 * (0.85 + 0.52))
    # notional (cash account): 10,000 / (7,000 + 1.37) -> 1 contract
    cash_account = {k: v for k, v in FUT.items()
                    if k not in ("initial_margin", "maintenance_per_contract")}
    by_notional = both(bars, sig, ExecutionConfig(**cash_account))
    assert by_notional.trades.qty.iloc[0] == 1


def test_margin_call_closes_when_equity_falls_to_contracts_x_maintenance():
    # 17 long at 70.00; cash after the entry fee 10,000 - 17 x 1.37 = 9,976.71;
    # equity = 9,976.71 + 17 x 100 x (p - 70) falls to 17 x 530 = 9,010 at
    # p = 70 - 966.71 / 1,700 = 69.43134...
    liq = 70.0 - (10_000.0 - 17 * 1.37 - 17 * 530.0) / 1_700.0
    bars = make_bars([70, 70, 70, 69.8, 69.5], low=[69.5, 69.5, 69.5, 69.5, 69.0],
                     high=[70.5] * 5, close=[70, 70, 70, 69.6, 69.2])
    r = both(bars, make_signals(5, el=[0]), ExecutionConfig(**FUT))
    t = r.trades.iloc[0]
    assert t.exit_reason == "liquidation" and t.exit_bar == 4
    assert t.exit_price == pytest.approx(liq, rel=1e-12)
    # the account keeps the maintenance margin less the exit fees
    assert r.equity.iloc[-1] == pytest.approx(17 * 530.0 - 17 * 1.37, rel=1e-12)


def test_short_margin_call_and_the_default_maintenance_is_initial_over_1_1():
    cfg = ExecutionConfig(**{**FUT, "maintenance_per_contract": 0.0}, direction="short")
    assert cfg.maintenance_per_contract_effective == pytest.approx(583.0 / 1.1)
    liq = 70.0 + (10_000.0 - 17 * 1.37 - 17 * 583.0 / 1.1) / 1_700.0
    bars = make_bars([70, 70, 70, 70.2, 70.4], high=[70.5, 70.5, 70.5, 70.5, 71.5],
                     low=[69.5] * 5, close=[70, 70, 70, 70.3, 70.9])
    r = both(bars, make_signals(5, es=[0]), cfg)
    t = r.trades.iloc[0]
    assert t.exit_reason == "liquidation" and t.exit_price == pytest.approx(liq, rel=1e-12)


def test_stop_and_target_are_rounded_to_the_tick():
    # entry 70.00 + 5 bps slippage = 70.035; stop 70.035 x 0.99 = 69.33465 -> 69.33;
    # target 70.035 x 1.013 = 70.945455 -> 70.95 (tick 0.01)
    cfg = ExecutionConfig(**FUT, slippage=0.0005, sl=0.01, tp=0.013, tick_size=0.01)
    bars = make_bars([70, 70, 70.5, 70.5], high=[70.5, 70.5, 71.0, 71.0],
                     low=[69.9, 69.9, 70.2, 70.2], close=[70, 70.2, 70.8, 70.9])
    r = both(bars, make_signals(4, el=[0]), cfg)
    t = r.trades.iloc[0]
    assert t.exit_reason == "target" and t.exit_price == pytest.approx(70.95, abs=1e-12)
    assert math.isclose(t.exit_price / 0.01, round(t.exit_price / 0.01), abs_tol=1e-9)


def test_sec_fee_is_charged_on_sales_only():
    # 100 shares bought at 100, sold at 110: commission 0.005/share with $1 minimum
    # both ways ($1 each); SEC fee on the sale only: 11,000 x 27.80e-6 = 0.3058
    cfg = ExecutionConfig(cash=100_000.0, size_type="quantity", size=100,
                          commission=per_share(0.005, minimum=1.0), sec_fee=SEC_FEE_RATE)
    bars = make_bars([100, 100, 110, 110])
    r = both(bars, make_signals(4, el=[0], xl=[1]), cfg)
    assert r.orders.fee.tolist() == pytest.approx([1.0, 1.0 + 11_000 * 27.80e-6])
    # a short entry is a sale: its entry pays the fee, the buy-to-cover does not
    short = both(bars, make_signals(4, es=[0], xs=[1]), cfg.replace(direction="short"))
    assert short.orders.fee.tolist() == pytest.approx([1.0 + 10_000 * 27.80e-6, 1.0])


def test_sweep_kernel_agrees_with_the_single_run():
    from lab.kernels.sweep import STAT_NAMES, simulate_many_nb

    bars = make_bars([70, 70, 70, 69.8, 69.5, 69.9, 70.3, 70.1],
                     low=[69.5] * 8, high=[70.5] * 8,
                     close=[70, 70, 70, 69.6, 69.9, 70.2, 70.0, 70.1])
    sig = make_signals(8, el=[0, 5], xl=[2])
    cfgs = [ExecutionConfig(**FUT), ExecutionConfig(**FUT, tick_size=0.01, sl=0.003),
            ExecutionConfig(**{**FUT, "cash": 9_500.0}, direction="both")]
    params = np.stack([vectorized.params_vector(c) for c in cfgs])
    as_col = lambda a: a.reshape(-1, 1)  # noqa: E731
    stats = simulate_many_nb(*(bars[c].to_numpy() for c in ("open", "high", "low", "close")),
                             as_col(sig.entries_long), as_col(sig.exits_long),
                             as_col(sig.entries_short), as_col(sig.exits_short),
                             np.zeros(3, dtype=np.int64), params, 252.0)
    for row, cfg in zip(stats, cfgs):
        single = vectorized.run(bars, sig, cfg)
        got = dict(zip(STAT_NAMES, row))
        assert got["final_equity"] == pytest.approx(single.equity.iloc[-1], rel=1e-12)
        assert got["trades"] == len(single.trades)
        assert got["fees"] == pytest.approx(single.trades.fees.sum(), rel=1e-12)


def test_configs_without_the_new_settings_are_unchanged():
    cfg = ExecutionConfig(cash=10_000.0, multiplier=100.0, leverage=5,
                          commission=per_contract(0.85), whole_units=True)
    assert cfg.initial_margin == 0 and cfg.exchange_fee == 0 and cfg.sec_fee == 0
    bars = make_bars([70, 70, 71, 69, 70])
    r = both(bars, make_signals(5, el=[0]), cfg)
    # leverage 5: 10,000 / (7,000 / 5 + 0.85) -> 7 contracts, margin = notional / 5
    assert r.trades.qty.iloc[0] == 7
    t = r.trades.iloc[0]
    assert t["return"] == pytest.approx(t.pnl / (7 * 70.0 * 100 / 5), rel=1e-12)


def test_bad_futures_settings_are_refused_with_the_fix():
    with pytest.raises(ConfigError, match="use leverage=1"):
        ExecutionConfig(**FUT, leverage=2)
    with pytest.raises(ConfigError, match="above the initial margin"):
        ExecutionConfig(**{**FUT, "maintenance_per_contract": 600.0})
    with pytest.raises(ConfigError, match="needs initial_margin"):
        ExecutionConfig(maintenance_per_contract=100.0)
    with pytest.raises(ConfigError, match="sec_fee"):
        ExecutionConfig(sec_fee=27.80)
    with pytest.raises(ConfigError, match="exchange_fee"):
        ExecutionConfig(exchange_fee=-1)


@pytest.mark.parametrize("change, word", [
    (dict(initial_margin=583.0), "initial_margin"), (dict(exchange_fee=0.52), "exchange_fee"),
    (dict(sec_fee=SEC_FEE_RATE), "sec_fee"), (dict(tick_size=0.01, sl=0.01), "tick_size")])
def test_vectorbt_refuses_what_it_cannot_model(change, word):
    bars = make_bars([70.0] * 5)
    cfg = ExecutionConfig(cash=10_000.0, multiplier=100.0, whole_units=True,
                          commission=per_contract(0.85)).replace(**change)
    with pytest.raises(ConfigError, match=word):
        vectorbt_engine.run(bars, make_signals(5, el=[0]), cfg)
