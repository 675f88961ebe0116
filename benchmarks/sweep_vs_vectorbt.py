"""Sweep throughput: our sweep kernel vs vectorbt's ``Portfolio.from_signals``.

Same real hourly Bitcoin bars (``data/samples`` BTCUSD_COINBASE 1h), the same
``sma_cross`` signal sets (SMA crossover, long only, signal at the close executed at
the next open), the same stop-loss levels, commission and slippage, many parameter
columns in one call of each:

* our kernel: ``lab.kernels.sweep.simulate_many_nb`` (metrics on the fly, no curves);
* vectorbt native: one ``from_signals`` over all columns (signals shifted one bar,
  ``price=open``, ``sl_stop`` per column, percent fees, slippage, all the cash), one
  row per bar: vectorbt's fastest form of the same simulation;
* vectorbt exact: our "vectorbt" sweep engine (``lab.engines.vectorbt_batch``: 11 rows per
  bar so that every kernel rule holds), on a subset of the columns.

Agreement checks: the trade counts and final values of the kernel and native vectorbt
are compared column by column (the kernel closes at the last close with slippage and
commission, so vectorbt's open position is valued the same way). On the shared
configuration (no stop) every column agrees. With stops the counts agree but the
values do not: on a bar where a signal exits at the open and the low then reaches the
stop, native vectorbt (one price row per bar, stops checked before signals) fills the
stop, the kernel the signal at the open; the exact path (11 rows per bar) restores the
kernel's order and must equal the kernel on every metric (1e-9, asserted).

Prints bar x set steps per second of each and the ratios (target: kernel >= 50x
vectorbt native): against the simulation alone, and against the simulation plus the
same metrics table from vectorbt's analytics (what a sweep needs; the kernel's time
includes its metrics). Times are the best of ``--repeat`` warm runs; nothing is asserted
about time.

    .venv/bin/python benchmarks/sweep_vs_vectorbt.py [--sets 400] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._data import sample  # noqa: E402

FEE, SLIP, CASH = 0.001, 0.0005, 10_000.0
SL_LEVELS = (None, 0.02, 0.05)


def best_of(repeat, fn):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", type=int, default=400, help="signal sets (x 3 stop levels)")
    ap.add_argument("--exact-columns", type=int, default=30,
                    help="columns through the exact (11 rows per bar) vectorbt path")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import vectorbt as vbt

    from lab.core import registry
    from lab.core.config import Commission, ExecutionConfig
    from lab.kernels.sweep import STAT_NAMES
    from lab.engines.batch import params_matrix, run_many, signal_matrices
    from lab.engines.vectorbt_batch import vectorbt_stats

    bars = sample("BTCUSD_COINBASE", "1h").astype(np.float64)
    n = len(bars)
    spec = registry.get("sma_cross")
    pairs = [(f, s) for s in range(60, 400, 10) for f in range(2, 60, 2)][: args.sets]
    params = [spec.params(fast=f, slow=s) for f, s in pairs]
    signals = spec.signals_batch(bars, params)
    base = ExecutionConfig(commission=Commission(rate=FEE), slippage=SLIP, cash=CASH)
    configs = [base.replace(sl=sl) for sl in SL_LEVELS]
    m = len(signals) * len(configs)
    print(f"{n} bars x {len(signals)} signal sets x {len(configs)} stop levels = {m} "
          f"columns ({n * m / 1e6:.0f} M bar x set steps)")

    # -- our kernel -------------------------------------------------------------------
    from lab.kernels.sweep import simulate_many_nb

    p, col = params_matrix(configs, len(signals))
    el, xl, es, xs = signal_matrices(signals)
    o, h, lo, c = (np.ascontiguousarray(bars[k].to_numpy()) for k in
                   ("open", "high", "low", "close"))
    simulate_many_nb(o, h, lo, c, el, xl, es, xs, col[:4], p[:4], 8760.0)      # compile
    t_k, stats = best_of(args.repeat, lambda: simulate_many_nb(
        o, h, lo, c, el, xl, es, xs, col, p, 8760.0))

    # -- vectorbt native --------------------------------------------------------------
    def shifted(a):                                     # decided at i, executed at i + 1
        out = np.zeros_like(a)
        out[1:] = a[:-1]
        return out

    cols = np.repeat(np.arange(len(signals)), len(configs))
    entries = shifted(el[:, cols])
    exits = shifted(xl[:, cols])
    sl = np.array([np.nan if cf.sl is None else cf.sl for cf in configs] * len(signals))
    close2, open2 = c[:, None], o[:, None]

    def run_vbt(e=entries, x=exits, s=sl):
        return vbt.Portfolio.from_signals(
            close2, entries=e, exits=x, price=open2, open=open2, high=h[:, None],
            low=lo[:, None], sl_stop=s[None, :], stop_entry_price="fillprice",
            stop_exit_price="stopmarket", fees=FEE, slippage=SLIP,
            init_cash=CASH, size=np.inf, direction="longonly", freq=None)

    run_vbt(entries[:, :4], exits[:, :4], sl[:4])                                # compile
    t_v, pf = best_of(args.repeat, run_vbt)

    def vbt_metrics(pf=pf):
        """The kernel's table from vectorbt's own analytics (same simulation)."""
        pf = pf.replace(wrapper=pf.wrapper.replace(freq="1h"))
        tr = pf.trades
        return [pf.total_return(), pf.annualized_return(), pf.annualized_volatility(),
                pf.sharpe_ratio(), pf.sortino_ratio(), pf.calmar_ratio(), pf.max_drawdown(),
                tr.count(), tr.win_rate(), tr.profit_factor(), tr.expectancy(),
                pf.final_value(), pf.orders.fees.sum()]

    vbt_metrics(run_vbt(entries[:, :4], exits[:, :4], sl[:4]))                   # compile
    t_vm, _ = best_of(args.repeat, vbt_metrics)

    # -- agreement on the shared configuration (no stop) ------------------------------
    trades_k = stats[:, STAT_NAMES.index("trades")]
    final_k = stats[:, STAT_NAMES.index("final_equity")]
    tr = pf.trades.values
    counts_v = np.bincount(tr["col"], minlength=m)
    cash_v = pf.cash().to_numpy()[-1]
    assets_v = pf.assets().to_numpy()[-1]
    final_v = cash_v + assets_v * c[-1] * (1 - SLIP) * (1 - FEE)       # closed like ours
    no_stop = np.arange(m) % len(configs) == 0
    for label, sel in (("shared configuration (no stop)", no_stop), ("with stops", ~no_stop)):
        same = (counts_v[sel] == trades_k[sel]).mean()
        rel = np.abs(final_v[sel] - final_k[sel]) / np.abs(final_k[sel])
        print(f"{label}, {sel.sum()} columns: trade counts equal in {same:.1%}, final "
              f"values equal to 1e-9 in {(rel <= 1e-9).mean():.1%} (max relative "
              f"difference {rel.max():.1e})")

    # -- vectorbt exact layout (our vectorbt sweep engine) ----------------------------
    k_sets = max(1, args.exact_columns // len(configs))
    vectorbt_stats(bars.iloc[:200], signals[:1], configs[:1], 8760.0)          # compile
    t_x, exact = best_of(1, lambda: vectorbt_stats(bars, signals[:k_sets], configs, 8760.0))
    ref = run_many(bars, signals[:k_sets], configs, 8760.0)
    np.testing.assert_allclose(exact, ref, rtol=1e-9, atol=1e-12)
    m_x = k_sets * len(configs)
    print(f"exact vectorbt layout, {m_x} columns: every metric equals the kernel (1e-9)")

    rate_k, rate_v, rate_x = n * m / t_k, n * m / t_v, n * m_x / t_x
    print()
    print(f"{'':<28}{'seconds':>10}{'M steps/s':>12}")
    print(f"{'sweep kernel':<28}{t_k:>10.3f}{rate_k / 1e6:>12.1f}")
    print(f"{'vectorbt from_signals':<28}{t_v:>10.3f}{rate_v / 1e6:>12.1f}")
    print(f"{'  + vectorbt metrics':<28}{t_v + t_vm:>10.3f}{n * m / (t_v + t_vm) / 1e6:>12.1f}"
          "   (same 13 metrics from its analytics)")
    print(f"{'vectorbt exact (batch)':<28}{t_x:>10.3f}{rate_x / 1e6:>12.2f}"
          f"   ({m_x} columns, incl. metrics)")
    print(f"\nkernel / vectorbt from_signals: {rate_k / rate_v:.0f}x simulation only, "
          f"{rate_k * (t_v + t_vm) / (n * m):.0f}x with the metrics table (target >= 50x)")
    print(f"kernel / vectorbt exact layout: {rate_k / rate_x:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
