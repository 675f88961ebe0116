"""Bot decision latency and replay speed, against the fast backtest as the peer.

1. Decision latency: a paper bot (SMA 10/50, both directions, 0.1 % commission) with
   50,000 bars of real-derived hourly history (``chained_hourly_btc``) handles 300 new
   bars; each ``Bot.on_bar`` (broker bar, ledger write, signals on the whole history,
   pending action, risk checks, intents) is timed. Target: under 10 ms.
2. Replay: the bot process (``python -m lab bot run``) replays 20,000 stored hourly
   bars at ``--speed 0``; wall time from process start to state ``finished``. Target:
   under 60 s. Peer: ``run_backtest`` on the same bars in this process (the ratio says
   how much a per-bar bot costs over one vectorized pass).

    .venv/bin/python benchmarks/bot_latency.py [--history 50000] [--replay 20000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._data import chained_hourly_btc  # noqa: E402

PARAMS = {"fast": 10, "slow": 50}


class _Feed:
    finite = True

    def __init__(self, warm, new):
        self._warm, self._new = warm, new

    def warmup(self):
        return self._warm

    def bars(self, after=None):
        for t, row in zip(self._new.index, self._new.to_numpy()):
            yield (t, *row)


def execution():
    from lab import costs
    from lab.core.config import ExecutionConfig

    return ExecutionConfig(cash=100_000, direction="both", commission=costs.percent(0.001))


def decision_latency(history: int, new: int = 300) -> list[float]:
    from lab.live import control
    from lab.live.bot import Bot
    from lab.live.config import BotConfig
    from lab.live.ledger import Ledger, ledger_path
    from lab.live.paper import PaperBroker, venue_path

    bars = chained_hourly_btc(history + new).iloc[:history + new]
    root = Path(tempfile.mkdtemp(prefix="bot-latency-"))
    cfg = BotConfig(name="lat", symbol="BTCUSD_CHAINED", timeframe="1h", strategy="sma_cross",
                    params=PARAMS, execution=execution(), asset_class="crypto", track=False)
    uid = control.create(cfg, root)
    ledger = Ledger(ledger_path("paper", root))
    broker = PaperBroker(venue_path(root), uid, cfg.symbol, cfg.execution)
    bot = Bot(ledger, cfg, broker, _Feed(bars.iloc[:history], bars.iloc[history:]))
    bot.rebuild()
    bot.reconcile()
    times, cpu, peer = [], [], []
    spec, params = bot.spec, bot.params
    for bar in bot.feed.bars():
        t, c = time.perf_counter(), time.process_time()
        bot.on_bar(bar)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        t = time.perf_counter()
        spec.signals(bot.hist.frame(), params)              # peer: the signals alone
        peer.append(time.perf_counter() - t)
    return times, cpu, peer


def replay(n: int) -> tuple[float, float, int]:
    from lab.api import run_backtest
    from lab.live import control
    from lab.live.config import BotConfig
    from lab.live.runner import open_catalog
    from lab.live.supervisor import REPO, child_env

    root = Path(tempfile.mkdtemp(prefix="bot-replay-"))
    catalog = open_catalog(root)
    bars = catalog.load("BTCUSD_COINBASE", "1h").iloc[:n]
    end = bars.index[-1].isoformat()
    cfg = BotConfig(name="replay", symbol="BTCUSD_COINBASE", timeframe="1h",
                    strategy="sma_cross", params=PARAMS, execution=execution(),
                    asset_class="crypto", track=False,
                    feed={"kind": "replay", "speed": 0, "end": end})
    control.create(cfg, root)
    import resource

    t = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "lab", "--store", str(root), "bot", "run",
                    "replay"], cwd=REPO, env=child_env(root), check=True,
                   capture_output=True)
    bot_s = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    bot_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    status = control.status("replay", root)
    assert status["state"] == "finished" and status["bars_seen"] == len(bars), status
    run_backtest(bars.iloc[:500], "sma_cross", PARAMS, cfg.execution, asset_class="crypto",
                 timeframe="1h")
    t = time.perf_counter()
    run_backtest(bars, "sma_cross", PARAMS, cfg.execution, asset_class="crypto",
                 timeframe="1h")
    return bot_s, bot_cpu, time.perf_counter() - t, len(bars)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--history", type=int, default=50_000)
    ap.add_argument("--replay", type=int, default=20_000)
    args = ap.parse_args()
    times, cpu, peer = decision_latency(args.history)
    ms = sorted(x * 1000 for x in times[5:])
    cpu_ms = statistics.median(x * 1000 for x in cpu[5:])
    peer_ms = statistics.median(x * 1000 for x in peer[5:])
    med = statistics.median(ms)
    p99 = ms[int(0.99 * (len(ms) - 1))]
    print(f"decision latency with {args.history:,} bars of history over {len(ms)} bars: "
          f"median {med:.2f} ms wall ({cpu_ms:.2f} ms CPU), p99 {p99:.2f} ms "
          f"(target < 10 ms: {'OK' if med < 10 else 'MISSED'})")
    print(f"peer: the strategy's signals alone on that history {peer_ms:.2f} ms; "
          f"bar / signals = {med / peer_ms:.2f}x")
    bot_s, bot_cpu, bt_s, n = replay(args.replay)
    print(f"replay of {n:,} bars at --speed 0 (bot process, start to finished): "
          f"{bot_s:.1f} s wall ({bot_cpu:.1f} s CPU) = {n / bot_s:,.0f} bars/s "
          f"(target < 60 s: {'OK' if bot_s < 60 else 'MISSED'})")
    print(f"peer: run_backtest on the same bars {bt_s * 1000:.1f} ms; bot / backtest = "
          f"{bot_s / bt_s:,.0f}x")
    import os

    print("load average (1, 5, 15 min) at the end: "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg())
          + f" on {os.cpu_count()} CPUs (wall above CPU time is time spent waiting)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
