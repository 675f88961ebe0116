"""The parity matrix: datasets, execution configurations, parameter sets, comparison.

Every registered signal strategy, with its defaults and one other valid parameter
set, runs on three real samples; on each sample eight execution configurations cover
long / short / both, with and without stop-loss and take-profit (all three both-hit
rules), percent, per-share (IB fixed and tiered) and per-contract commission,
slippage, leverage with liquidations, fixed notional and fixed quantity, whole units,
and a futures multiplier (a daily stock series traded as a 100-unit contract).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lab.core import ExecutionConfig
from lab.costs import ib_fixed, ib_tiered, per_contract, percent

#: (symbol, timeframe, first bar, number of bars) of each sample slice. The AAPL slice
#: holds the unadjusted 2:1 split of 2005-02-28 (a -50 % gap).
DATASETS = {
    "aapl_1d": ("AAPL", "1d", 0, 1800),
    "eurusd_1h": ("EURUSD", "1h", 0, 1800),
    "btc_1h": ("BTCUSD_COINBASE", "1h", 0, 1800),
}


@dataclass(frozen=True)
class Case:
    """One execution configuration; ``vectorbt`` says whether vectorbt can run it
    (else it must refuse with a ConfigError naming ``refused_for``)."""

    name: str
    config: ExecutionConfig
    vectorbt: bool = True
    refused_for: str = ""


def _aapl() -> list[Case]:
    eq = dict(cash=100_000.0)
    fut = dict(cash=100_000.0, multiplier=100.0, size_type="quantity",
               commission=per_contract(0.85), whole_units=True)
    return [
        Case("long_ib_fixed_whole", ExecutionConfig(**eq, commission=ib_fixed(),
                                                    whole_units=True),
             False, "minimum"),
        Case("short_pct_sltp", ExecutionConfig(**eq, direction="short", sl=0.05, tp=0.10,
                                               commission=percent(0.0005))),
        Case("both_ib_fixed_sltp_slip", ExecutionConfig(
            **eq, direction="both", sl=0.05, tp=0.10, commission=ib_fixed(),
            slippage=0.0005, whole_units=True), False, "minimum"),
        Case("both_pct", ExecutionConfig(**eq, direction="both",
                                         commission=percent(0.0005))),
        Case("long_ib_tiered_half_nearest", ExecutionConfig(
            **eq, sl=0.03, tp=0.03, both_hit="nearest_to_open", commission=ib_tiered(),
            size=0.5), False, "minimum"),
        Case("future_x100_both_sltp", ExecutionConfig(**fut, direction="both", size=5,
                                                      sl=0.04, tp=0.08)),
        Case("future_x100_lev5_liquidation", ExecutionConfig(
            **fut, direction="both", size=10, leverage=5, maintenance_margin=0.05),
             False, "leverage"),
        Case("both_lev3_target_first", ExecutionConfig(
            **eq, direction="both", leverage=3, sl=0.05, tp=0.05,
            both_hit="target_first", commission=percent(0.0005), slippage=0.0005),
             False, "leverage"),
    ]


def _eurusd() -> list[Case]:
    fx = dict(cash=100_000.0, commission=percent(0.00002), slippage=0.00002)
    return [
        Case("long", ExecutionConfig(**fx)),
        Case("short_sltp", ExecutionConfig(**fx, direction="short", sl=0.002, tp=0.004)),
        Case("both_sltp", ExecutionConfig(**fx, direction="both", sl=0.002, tp=0.004)),
        Case("both", ExecutionConfig(**fx, direction="both")),
        Case("long_tp_target_first", ExecutionConfig(**fx, tp=0.003, sl=0.003,
                                                     both_hit="target_first")),
        Case("both_notional_sl", ExecutionConfig(**fx, direction="both",
                                                 size_type="notional", size=50_000,
                                                 sl=0.003)),
        Case("both_lev50_liquidation", ExecutionConfig(**fx, direction="both",
                                                       leverage=50), False, "leverage"),
        Case("both_lev20_nearest", ExecutionConfig(**fx, direction="both", leverage=20,
                                                   sl=0.01, tp=0.01,
                                                   both_hit="nearest_to_open"),
             False, "leverage"),
    ]


def _btc() -> list[Case]:
    cx = dict(cash=10_000.0, commission=percent(0.001), slippage=0.0005)
    return [
        Case("long", ExecutionConfig(**cx)),
        Case("short_sltp", ExecutionConfig(**cx, direction="short", sl=0.02, tp=0.04)),
        Case("both_sltp", ExecutionConfig(**cx, direction="both", sl=0.02, tp=0.04)),
        Case("both", ExecutionConfig(**cx, direction="both")),
        Case("short_target_first", ExecutionConfig(**cx, direction="short", sl=0.01,
                                                   tp=0.01, both_hit="target_first")),
        Case("micro_future_x0.1", ExecutionConfig(
            cash=10_000.0, direction="both", multiplier=0.1, size_type="quantity", size=2,
            commission=per_contract(2.5), slippage=0.0005, sl=0.03, tp=0.03,
            whole_units=True)),
        Case("both_lev10_liquidation", ExecutionConfig(**cx, direction="both",
                                                       leverage=10), False, "leverage"),
        Case("both_lev2_half_nearest", ExecutionConfig(
            **cx, direction="both", leverage=2, size=0.5, sl=0.015, tp=0.015,
            both_hit="nearest_to_open"), False, "leverage"),
    ]


CASES = {"aapl_1d": _aapl(), "eurusd_1h": _eurusd(), "btc_1h": _btc()}


def param_sets(spec) -> list:
    """Defaults, then one other valid parameter set drawn from the grids (seeded)."""
    base = spec.params_cls()
    specs = spec.params_cls.specs()
    out = [base]
    if not specs:
        return out
    rng = np.random.default_rng(2024)
    for _ in range(10_000):
        p = spec.params_cls(**{s.name: s.grid()[rng.integers(len(s.grid()))].item()
                               for s in specs})
        if p.is_valid() and p != base:
            return out + [p]
    raise AssertionError(f"{spec.name}: no second valid parameter set")


def differences(want, got, *, rtol: float = 1e-12) -> list[str]:
    """How ``got`` (a BacktestResult) differs from ``want``; [] when they agree.

    Trades must match in entry bar, exit bar, side and exit reason exactly, and in
    quantity and fill prices to ``rtol``; the equity at every close to 1e-6 relative
    (plus 1e-9 of the starting cash, for accounts wiped out to dust).
    """
    a, b = want.trades, got.trades
    out = []
    if len(a) != len(b):
        out.append(f"{len(b)} trades instead of {len(a)}")
    for k in range(min(len(a), len(b))):
        x, y = a.iloc[k], b.iloc[k]
        same = (x.entry_bar, x.exit_bar, x.side, x.exit_reason) == \
            (y.entry_bar, y.exit_bar, y.side, y.exit_reason)
        close = all(np.isclose(x[c], y[c], rtol=rtol, atol=0)
                    for c in ("qty", "entry_price", "exit_price"))
        if not (same and close):
            fields = ["entry_bar", "exit_bar", "side", "qty", "entry_price",
                      "exit_price", "exit_reason"]
            out.append(f"trade {k}: {tuple(y[fields])} instead of {tuple(x[fields])}")
            break
    ea, eb = want.equity.to_numpy(), got.equity.to_numpy()
    tol = 1e-6 * np.abs(ea) + 1e-9 * want.config.cash
    bad = np.flatnonzero(np.abs(ea - eb) > tol)
    if bad.size:
        i = int(bad[0])
        out.append(f"equity at bar {i}: {eb[i]!r} instead of {ea[i]!r}")
    return out
