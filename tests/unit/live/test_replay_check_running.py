"""The replay check of a bot that is still running compares like with like: the bars the
bot has finished, its trades, fills and equity cut at the same bar, and the trade the
backtest closes only because its data ends against the bot's open position."""

from __future__ import annotations

import time

import pytest

from lab import costs
from lab.core.config import ExecutionConfig
from lab.jobs.bot_check import replay_check
from lab.live import bot as bot_module
from lab.live import control
from lab.live.config import BotConfig
from lab.live.runner import Runner
from lab.live.snapshot import snapshot

EX = ExecutionConfig(cash=10_000, direction="both", commission=costs.percent(0.001),
                     slippage=0.0005, sl=0.01, tp=0.02)
BARS = 1201                         # BTCUSD_COINBASE 1h, 2018-01-01 .. 2018-02-20


def _config(name, speed, warmup=0):
    return BotConfig(name=name, symbol="BTCUSD_COINBASE", timeframe="1h",
                     strategy="sma_cross", params={"fast": 5, "slow": 15}, execution=EX,
                     asset_class="crypto", track=False,
                     feed={"kind": "replay", "speed": speed, "start": "2018-01-01",
                           "end": "2018-02-20", "warmup": warmup})


@pytest.mark.slow
def test_replay_check_of_a_running_bot_process_says_same_at_any_moment(live_root):
    control.create(_config("running", speed=100, warmup=30), live_root)
    control.start("running", live_root)
    checks = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            state = control.status("running", live_root)["state"]
            check = replay_check("running", live_root)
            checks.append((state, check))
            assert check.match, (state, check.bars, check.differences)
            if state == "finished":
                break
        else:
            raise AssertionError("the replay did not finish")
    finally:
        control.command("running", "stop", live_root)
    mid = {c.bars for state, c in checks if state == "running" and 2 <= c.bars < BARS}
    assert len(mid) >= 2, f"too few checks while the bot ran: {sorted(mid)}"
    assert max(c.bot_trades for _, c in checks if c.bars in mid) > 0
    final = replay_check("running", live_root)
    assert final.match and final.bars == BARS and final.bot_trades >= 20


def test_snapshot_is_cut_at_the_last_finished_bar(live_root, monkeypatch):
    """Mid-bar (intent written and sent, ``bars_seen`` not yet), the ledger holds the
    equity of a bar the bot has not finished and, one bar later, a fill of it; the
    snapshot leaves both out, and the check over it still matches."""
    seen = []
    real = bot_module.crash_point

    def probe(point, bar):
        real(point, bar)
        if point == "after_submit" and len(seen) < 3:
            snap = snapshot("mid", live_root)
            eq = control.equity("mid", live_root)
            check = replay_check("mid", live_root)
            seen.append((bar, snap, eq, check))

    monkeypatch.setattr(bot_module, "crash_point", probe)
    control.create(_config("mid", speed=0), live_root)
    assert Runner("mid", live_root).run() == 0
    assert len(seen) == 3
    for bar, snap, eq, check in seen:
        assert int(eq["bar"].iloc[-1]) == bar          # the ledger has this bar's equity
        assert snap.last_bar == bar - 1                # ...but the bot has not finished it
        assert int(snap.equity["bar"].iloc[-1]) == bar - 1
        assert all(f["bar"] <= bar - 1 for f in snap.fills)
        assert snap.position == float(snap.equity["position"].iloc[-1])
        assert check.match and check.bars == bar, check.differences
