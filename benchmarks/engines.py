"""Engine overhead: plain Backtrader vs our Backtrader engine vs the fast engine.

One strategy (SMA 10/50 crossover, long only, all of the equity, no costs, signal at
the close, fill at the next open) on the same real-derived hourly bars, in one run:

* plain Backtrader: a hand-written ``bt.Strategy`` (``bt.ind.SMA`` + ``CrossOver``,
  market orders, ``order_target_percent``), no adapters;
* our Backtrader engine: ``sma_cross`` signals (numba) + ``backtrader_engine.run``
  (cheat-on-open adapter, brackets, recorder, ``BacktestResult`` with metrics);
* the same engine running the native ``bt_sma_cross`` (``run_native``: Backtrader
  SMAs, the risk-managed base, limits off);
* the fast engine: ``sma_cross`` signals + ``vectorized.run`` (numba kernel).

Prints seconds, bars/s and trades of each, the Backtrader engine's overhead over plain
Backtrader (target: at most 1.3x) and the fast engine's speed-up over both. Each timing
is the best of ``--repeat`` runs.

    .venv/bin/python benchmarks/engines.py [--bars 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._data import chained_hourly_btc  # noqa: E402

FAST, SLOW, CASH = 10, 50, 100_000_000.0


def best_of(repeat: int, fn):
    """(best seconds, last result) of ``repeat`` calls of ``fn``."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def plain_backtrader(bars):
    """Hand-written Backtrader SMA cross; returns the number of closed trades."""
    import backtrader as bt

    class SmaCross(bt.Strategy):
        def __init__(self):
            self.cross = bt.ind.CrossOver(bt.ind.SMA(period=FAST), bt.ind.SMA(period=SLOW))

        def next(self):
            if not self.position and self.cross[0] > 0:
                self.order_target_percent(target=0.99)
            elif self.position and self.cross[0] < 0:
                self.close()

    cerebro = bt.Cerebro(stdstats=False)
    df = bars.copy()
    df.index = df.index.tz_localize(None)
    cerebro.adddata(bt.feeds.PandasData(dataname=df, openinterest=None))
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(CASH)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="ta")
    strat = cerebro.run()[0]
    return int(strat.analyzers.ta.get_analysis().get("total", {}).get("closed", 0))


def ours(engine_run, bars):
    """``sma_cross`` signals through ``engine_run``; returns the number of trades."""
    from lab.core import ExecutionConfig, registry

    spec = registry.get("sma_cross")
    signals = spec.signals(bars, spec.params(fast=FAST, slow=SLOW))
    result = engine_run(bars, signals, ExecutionConfig(cash=CASH),
                        periods_per_year=8760.0)
    return len(result.trades)


def native(bars):
    """``bt_sma_cross`` through ``run_native``; returns the number of trades."""
    from lab.core import ExecutionConfig, registry
    from lab.engines import backtrader_engine

    spec = registry.get("bt_sma_cross")
    result = backtrader_engine.run_native(bars, spec, spec.params(fast=FAST, slow=SLOW),
                                          ExecutionConfig(cash=CASH),
                                          periods_per_year=8760.0)
    return len(result.trades)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from lab.engines import backtrader_engine, vectorized

    bars = chained_hourly_btc(args.bars).iloc[: args.bars]
    n = len(bars)
    ours(vectorized.run, bars.iloc[:500])              # compile and warm caches
    ours(backtrader_engine.run, bars.iloc[:500])
    rows = [
        ("plain Backtrader", *best_of(args.repeat, lambda: plain_backtrader(bars))),
        ("lab backtrader engine", *best_of(args.repeat,
                                           lambda: ours(backtrader_engine.run, bars))),
        ("lab vectorized (numba)", *best_of(args.repeat, lambda: ours(vectorized.run, bars))),
        ("lab bt native bt_sma_cross", *best_of(args.repeat, lambda: native(bars))),
    ]
    print(f"{n:,} hourly bars (real Coinbase BTC/USD, chained), SMA {FAST}/{SLOW} cross, "
          f"long only, best of {args.repeat}")
    print(f"{'engine':<28}{'seconds':>10}{'bars/s':>12}{'trades':>8}")
    for name, secs, trades in rows:
        print(f"{name:<28}{secs:>10.3f}{n / secs:>12,.0f}{trades:>8}")
    plain, engine, fast, nat = (r[1] for r in rows)
    print(f"Backtrader engine overhead over plain Backtrader: {engine / plain:.2f}x with "
          f"signals, {nat / plain:.2f}x with the native strategy (target <= 1.30x)")
    print(f"fast engine speed-up: {plain / fast:,.0f}x over plain Backtrader, "
          f"{engine / fast:,.0f}x over the Backtrader engine")


if __name__ == "__main__":
    main()
