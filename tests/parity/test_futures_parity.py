"""Parity of futures margin on real minute bars: fast engine, Backtrader engine and the
sweep kernel agree to 1e-9 (the paper broker: tests/unit/live/test_paper_parity.py).

ESZ13 and GCZ13 one-minute bars (CME / COMEX, October 2013, data/samples) with the
registry's contract specs: initial margin per contract sizes the entries, the
account-level margin call closes a position when equity falls to contracts x
maintenance margin, exchange fees per contract, stops and targets on the tick.
"""

from __future__ import annotations

import numpy as np
import pytest

from lab.core import ExecutionConfig, registry
from lab.costs import instrument, per_contract
from lab.engines import backtrader_engine, vectorized
from lab.engines.vectorized import params_vector
from lab.kernels.sweep import STAT_NAMES, simulate_many_nb

PPY = 252 * 6.5 * 60


def futures_config(symbol: str, cash: float, **kw) -> ExecutionConfig:
    spec = instrument(symbol)
    return ExecutionConfig(cash=cash, multiplier=spec.multiplier, tick_size=spec.tick_size,
                           initial_margin=spec.initial_margin,
                           maintenance_per_contract=spec.maintenance_margin,
                           exchange_fee=spec.exchange_fee, whole_units=True,
                           commission=per_contract(0.85), **kw)


CASES = {
    # ES: 30,000 buys 2 contracts (2 x 12,650 + fees); both directions, stops and
    # targets on the 0.25 tick, 1 bp slippage
    "es_both_sltp": ("ESZ13", "sma_cross", {"fast": 10, "slow": 40},
                     dict(cash=30_000.0, direction="both", sl=0.002, tp=0.004,
                          slippage=0.0001)),
    "es_long_nearest": ("ESZ13", "rsi", {},
                        dict(cash=60_000.0, sl=0.001, tp=0.001,
                             both_hit="nearest_to_open")),
    # GC: 9,500 buys 1 contract (9,185 initial); gold fell ~2 % that week: margin calls
    "gc_long_margin_calls": ("GCZ13", "buy_and_hold", {}, dict(cash=9_500.0)),
    "gc_both_margin_calls": ("GCZ13", "ema_cross", {}, dict(cash=9_500.0, direction="both")),
}


@pytest.fixture(scope="module")
def minute_bars(sample_catalog):
    return {s: sample_catalog.load(s, "1m") for s in ("ESZ13", "GCZ13")}


def _run(case, minute_bars):
    symbol, name, params, kw = CASES[case]
    bars = minute_bars[symbol]
    spec = registry.get(name)
    signals = spec.signals(bars, spec.params(**params))
    cfg = futures_config(symbol, **kw)
    return bars, signals, cfg


@pytest.mark.parametrize("case", list(CASES))
def test_backtrader_equals_the_fast_engine_to_1e9(case, minute_bars):
    bars, signals, cfg = _run(case, minute_bars)
    want = vectorized.run(bars, signals, cfg, periods_per_year=PPY)
    got = backtrader_engine.run(bars, signals, cfg, periods_per_year=PPY)
    a, b = want.trades, got.trades
    assert len(a) >= 1 and len(a) == len(b)
    cols = ["entry_bar", "exit_bar", "side", "exit_reason"]
    assert a[cols].values.tolist() == b[cols].values.tolist()
    for col in ("qty", "entry_price", "exit_price", "pnl", "fees", "return"):
        np.testing.assert_allclose(b[col].to_numpy(), a[col].to_numpy(), rtol=1e-9,
                                   atol=1e-9, err_msg=col)
    np.testing.assert_allclose(got.equity.to_numpy(), want.equity.to_numpy(), rtol=1e-9)
    # every entry is sized by margin: contracts x initial margin + fees <= equity
    assert (a.qty == a.qty.round()).all() and (a.qty >= 1).all()
    if cfg.sl is not None:
        # stop and target levels sit on the tick (a stop fill pays slippage on top; a
        # bar that opens beyond the level fills at the open)
        opens = set(bars.open.to_numpy().tolist())
        exits = a[a.exit_reason.isin(["stop", "target"])]
        assert len(exits) > 0
        for t in exits.itertuples():
            slip = cfg.slippage if t.exit_reason == "stop" else 0.0
            level = t.exit_price / (1.0 - (1.0 if t.side == "long" else -1.0) * slip)
            on_tick = abs(level / cfg.tick_size - round(level / cfg.tick_size)) < 1e-6
            assert on_tick or round(level, 6) in opens, (t.exit_reason, level)


def test_margin_calls_happen_on_real_gold(minute_bars):
    bars, signals, cfg = _run("gc_long_margin_calls", minute_bars)
    r = vectorized.run(bars, signals, cfg, periods_per_year=PPY)
    liq = r.trades[r.trades.exit_reason == "liquidation"]
    assert len(liq) == 1
    t = liq.iloc[0]
    # the call fires where equity = 1 x 8,350 (maintenance): cash after the entry fee
    # 9,500 - 2.47 less 100 x (entry - exit)
    equity_at_call = 9_500.0 - 2.47 + 100.0 * (t.exit_price - t.entry_price)
    assert equity_at_call == pytest.approx(8_350.0, rel=1e-12)
    assert bars.low.iloc[t.exit_bar] <= t.exit_price


def test_sweep_kernel_equals_single_runs(minute_bars):
    rows, cols = [], {}
    for case in CASES:
        bars, signals, cfg = _run(case, minute_bars)
        rows.append((case, bars, signals, cfg))
    for symbol in ("ESZ13", "GCZ13"):
        mine = [r for r in rows if r[1] is minute_bars[symbol]]
        bars = minute_bars[symbol]
        stack = lambda attr: np.column_stack([getattr(r[2], attr) for r in mine])  # noqa
        params = np.stack([params_vector(r[3]) for r in mine])
        stats = simulate_many_nb(*(bars[c].to_numpy() for c in ("open", "high", "low",
                                                                 "close")),
                                 np.asfortranarray(stack("entries_long")),
                                 np.asfortranarray(stack("exits_long")),
                                 np.asfortranarray(stack("entries_short")),
                                 np.asfortranarray(stack("exits_short")),
                                 np.arange(len(mine), dtype=np.int64), params, PPY)
        for (case, _, signals, cfg), row in zip(mine, stats):
            single = vectorized.run(bars, signals, cfg, periods_per_year=PPY)
            got = dict(zip(STAT_NAMES, row))
            for name in ("final_equity", "fees", "trades", "liquidations", "max_drawdown",
                         "sharpe", "total_return"):
                assert got[name] == pytest.approx(single.metrics[name], rel=1e-9,
                                                  abs=1e-12), (case, name)
            cols[case] = got


def test_configs_without_futures_margin_keep_their_results(minute_bars):
    # the same ES run as a plain contract at leverage 5 (isolated margin): unchanged
    # by the new fields at their defaults
    bars, signals, _ = _run("es_both_sltp", minute_bars)
    cfg = ExecutionConfig(cash=300_000.0, multiplier=50.0, leverage=5, direction="both",
                          whole_units=True, commission=per_contract(0.85))
    a = vectorized.run(bars, signals, cfg, periods_per_year=PPY)
    b = backtrader_engine.run(bars, signals, cfg, periods_per_year=PPY)
    np.testing.assert_allclose(b.equity.to_numpy(), a.equity.to_numpy(), rtol=1e-9)
    assert a.trades.qty.iloc[0] == np.floor(300_000 / (bars.open.iloc[1] * 50 / 5 + 0.85))
