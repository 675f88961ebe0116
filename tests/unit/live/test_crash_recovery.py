"""kill -9 a replaying bot at 20 seeded points (between intent and broker call, between
fill and ledger write, ...), restart it each time: its trades equal the uninterrupted
backtest's, no client order id is used twice, and positions equal the ledger."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lab import costs
from lab.api import run_backtest
from lab.core.config import ExecutionConfig
from lab.live import control
from lab.live.config import BotConfig
from lab.live.feeds import ReplayFeed
from lab.live.runner import open_catalog
from lab.live.supervisor import REPO, child_env

CRASHES = 20
EXECUTION = ExecutionConfig(cash=10_000, direction="both", leverage=3, sl=0.02, tp=0.04,
                            commission=costs.percent(0.001), slippage=0.0005)
START, END = "2018-03-01", "2018-03-14"


def _plan(result, n_bars: int, seed: int = 7) -> list[dict]:
    """20 crash points: half at the order-path points of bars that trade, the rest
    spread over the per-bar points."""
    rng = random.Random(seed)
    orders = result.orders
    fill_bars = sorted(set(orders["bar"]))
    decide_bars = sorted({b - 1 for b, k in zip(orders["bar"], orders["kind"])
                          if k in ("entry", "signal") and b > 0})
    points = set()
    while len(points) < CRASHES:
        kind = rng.random()
        if kind < 0.25:
            points.add(("after_intent", rng.choice(decide_bars)))
        elif kind < 0.4:
            points.add(("after_submit", rng.choice(decide_bars)))
        elif kind < 0.55:
            points.add(("bar_end", rng.choice(decide_bars)))
        elif kind < 0.75:
            points.add(("after_broker_bar", rng.choice(fill_bars)))
        elif kind < 0.9:
            points.add(("bar_start", rng.randrange(n_bars)))
        else:
            points.add(("after_ledger_bar", rng.randrange(n_bars)))
    order = ["bar_start", "after_broker_bar", "after_ledger_bar", "after_intent",
             "after_submit", "bar_end"]
    return [{"point": p, "bar": b} for p, b in sorted(points, key=lambda x: (x[1],
                                                                             order.index(x[0])))]


@pytest.mark.slow
def test_kill_9_at_20_points_loses_and_duplicates_nothing(live_root):
    bars = ReplayFeed(open_catalog(live_root), "BTCUSD_COINBASE", "1h", START, END)._bars
    result = run_backtest(bars, "sma_cross", {"fast": 8, "slow": 21}, EXECUTION,
                          asset_class="crypto", timeframe="1h")
    assert len(result.trades) >= 10
    plan = _plan(result, len(bars))
    plan_file = live_root / "crash_plan.json"
    plan_file.write_text(json.dumps(plan))
    cfg = BotConfig(name="crashy", symbol="BTCUSD_COINBASE", timeframe="1h",
                    strategy="sma_cross", params={"fast": 8, "slow": 21}, execution=EXECUTION,
                    asset_class="crypto", track=False,
                    feed={"kind": "replay", "speed": 0, "start": START, "end": END})
    control.create(cfg, live_root)
    env = child_env(Path(live_root))
    env["LAB_BOT_CRASH_FILE"] = str(plan_file)
    kills = 0
    for _ in range(CRASHES + 2):
        proc = subprocess.run([sys.executable, "-m", "lab", "--store", str(live_root), "bot",
                               "run", "crashy"], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=300)
        if proc.returncode == -signal.SIGKILL:
            kills += 1
            continue
        assert proc.returncode == 0, proc.stdout + proc.stderr
        break
    assert kills == CRASHES and json.loads(plan_file.read_text()) == []
    status = control.status("crashy", live_root)
    assert status["state"] == "finished" and status["bars_seen"] == len(bars)
    # trades equal the uninterrupted run's
    closed = result.trades[result.trades["exit_reason"] != "end"].reset_index(drop=True)
    pd.testing.assert_frame_equal(control.trades("crashy", live_root), closed, rtol=1e-9,
                                  atol=1e-9, check_dtype=False)
    # no client order id used twice: the venue saw each one once, the same ones as the
    # ledger's intents, and nothing failed as a duplicate
    venue = sqlite3.connect(live_root / "live" / "paper_venue.sqlite")
    sent = [r[0] for r in venue.execute("SELECT client_order_id FROM orders")]
    assert len(sent) == len(set(sent))
    intents = control.orders("crashy", live_root)
    assert sorted(sent) == sorted(o["client_order_id"] for o in intents)
    events = control.events("crashy", live_root, last=10_000)
    assert not [e for e in events if "Duplicate" in e["message"]]
    assert sum(e["kind"] == "restart" for e in events) == CRASHES
    # positions equal the ledger, fills equal the venue's
    fills = control.fills("crashy", live_root)
    venue_fills = [json.loads(r[0]) for r in venue.execute("SELECT fill FROM fills ORDER BY seq")]
    assert [f["fill_id"] for f in fills] == [f["fill_id"] for f in venue_fills]
    state = json.loads(venue.execute("SELECT state FROM accounts").fetchone()[0])
    assert state[1] == pytest.approx(status["position"], abs=1e-12)
    end = result.trades[result.trades["exit_reason"] == "end"]
    want = 0.0 if not len(end) else (end.iloc[0]["qty"] * (1 if end.iloc[0]["side"] == "long"
                                                           else -1))
    assert status["position"] == pytest.approx(want, rel=1e-12)
    assert os.environ.get("LAB_BOT_CRASH_FILE") is None
