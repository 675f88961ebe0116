"""Bars per second of one backtest: our fast engine vs backtesting.py vs Backtrader.

Same strategy (SMA 10/50 crossover, long only, all-in, no costs, signal at the close,
fill at the next open) on the same 100,000+ real-derived hourly bars, in one run.
Prints each engine's time, bars/s, number of trades, and our speed-up as ratios.

    .venv/bin/python benchmarks/backtest_speed.py [--bars 100000] [--skip-backtrader]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._data import chained_hourly_btc  # noqa: E402

FAST, SLOW, CASH = 10, 50, 100_000_000.0


def run_ours(bars):
    from lab.api import run_backtest
    from lab.core import ExecutionConfig

    cfg = ExecutionConfig(cash=CASH)
    run_backtest(bars.iloc[:500], "sma_cross", {"fast": FAST, "slow": SLOW}, cfg,
                 asset_class="crypto", timeframe="1h")          # compile / warm caches
    t = time.perf_counter()
    r = run_backtest(bars, "sma_cross", {"fast": FAST, "slow": SLOW}, cfg,
                     asset_class="crypto", timeframe="1h")
    return time.perf_counter() - t, len(r.trades), r.equity.iloc[-1]


def run_backtesting_py(bars):
    import warnings

    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):
        def init(self):
            self.fast = self.I(SMA, self.data.Close, FAST)
            self.slow = self.I(SMA, self.data.Close, SLOW)

        def next(self):
            if crossover(self.fast, self.slow):
                self.buy()
            elif crossover(self.slow, self.fast) and self.position:
                self.position.close()

    df = bars.rename(columns=str.capitalize)
    df.index = df.index.tz_localize(None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(df, SmaCross, cash=CASH, commission=0.0, finalize_trades=True)
        t = time.perf_counter()
        stats = bt.run()
    return time.perf_counter() - t, int(stats["# Trades"]), float(stats["Equity Final [$]"])


def run_backtrader(bars):
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
    cerebro.adddata(bt.feeds.PandasData(dataname=df))
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(CASH)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="ta")
    t = time.perf_counter()
    strat = cerebro.run()[0]
    elapsed = time.perf_counter() - t
    closed = strat.analyzers.ta.get_analysis().get("total", {}).get("closed", 0)
    return elapsed, int(closed), cerebro.broker.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=100_000)
    ap.add_argument("--skip-backtrader", action="store_true")
    args = ap.parse_args()
    bars = chained_hourly_btc(args.bars)
    n = len(bars)
    print(f"{n:,} hourly bars (real Coinbase BTC/USD, chained), SMA {FAST}/{SLOW} cross, long only")
    rows = [("lab vectorized (numba)",) + run_ours(bars),
            ("backtesting.py 0.6",) + run_backtesting_py(bars)]
    if not args.skip_backtrader:
        rows.append(("Backtrader 1.9",) + run_backtrader(bars))
    ours, our_final = rows[0][1], rows[0][3]
    print(f"{'engine':<24}{'seconds':>10}{'bars/s':>14}{'trades':>8}{'final/ours':>12}"
          f"{'our speed-up':>14}")
    for name, secs, trades, final in rows:
        print(f"{name:<24}{secs:>10.3f}{n / secs:>14,.0f}{trades:>8}{final / our_final:>12.4f}"
              f"{secs / ours:>13.0f}x")


if __name__ == "__main__":
    main()
