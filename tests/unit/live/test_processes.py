"""Real processes: the supervisor restarts a killed bot with backoff and gives up after
5 crashes in 10 minutes; an emergency stop flattens a bot whose process is dead and
leaves it HALTED, after which it places nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from lab import costs
from lab.api import run_backtest
from lab.core.config import ExecutionConfig
from lab.live import control
from lab.live.config import BotConfig
from lab.live.feeds import ReplayFeed
from lab.live.runner import Runner, open_catalog
from lab.live.supervisor import REPO, child_env

EX = ExecutionConfig(cash=10_000, commission=costs.percent(0.001))
FEED = {"kind": "replay", "speed": 0, "start": "2018-01-01", "end": "2018-01-31"}


def _config(name, **kw):
    return BotConfig(name=name, symbol="BTCUSD_COINBASE", timeframe="1h",
                     strategy="sma_cross", params={"fast": 8, "slow": 21}, execution=EX,
                     asset_class="crypto", feed=kw.pop("feed", FEED), track=False, **kw)


def _wait(pred, timeout=180.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        out = pred()
        if out:
            return out
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_supervisor_restarts_a_killed_bot_then_gives_up_after_5_crashes(live_root,
                                                                        monkeypatch):
    plan = live_root / "plan.json"
    plan.write_text(json.dumps([{"point": "after_ledger_bar", "bar": b}
                                for b in (20, 40, 60, 80, 100)]))
    monkeypatch.setenv("LAB_BOT_CRASH_FILE", str(plan))
    monkeypatch.setenv("LAB_BOT_BACKOFF_S", "0.05")
    control.create(_config("sup"), live_root)
    sup_pid = control.start("sup", live_root)
    st = _wait(lambda: (s := control.status("sup", live_root))["state"] == "failed" and s)
    assert "5 crashes" in st["last_error"] and "signal 9" in st["last_error"]
    events = control.events("sup", live_root)
    pids = [e["data"]["pid"] for e in events if e["kind"] in ("start", "restart")]
    assert len(pids) == 5 and len(set(pids)) == 5         # a new bot process each time
    assert sup_pid not in pids                             # status pid = the bot itself
    delays = [e["data"]["delay_s"] for e in events if e["kind"] == "restart_scheduled"]
    assert delays == [0.05, 0.1, 0.2, 0.4]                 # backoff doubles
    assert st["bars_seen"] == 101          # killed after bar 100 was recorded
    _wait(lambda: not control._alive(sup_pid), 30)          # the supervisor has exited


def test_emergency_stop_flattens_a_dead_bot_from_its_ledger_and_halts_it(live_root):
    cfg = _config("dead")
    bars = ReplayFeed(open_catalog(live_root), cfg.symbol, "1h", FEED["start"], FEED["end"])._bars
    res = run_backtest(bars, "sma_cross", cfg.params, EX, asset_class="crypto", timeframe="1h")
    first = res.trades.iloc[0]
    kill_bar = int(first["entry_bar"]) + 1                 # holding a position
    plan = live_root / "plan.json"
    plan.write_text(json.dumps([{"point": "after_ledger_bar", "bar": kill_bar}]))
    control.create(cfg, live_root)
    env = child_env(live_root)
    env["LAB_BOT_CRASH_FILE"] = str(plan)
    proc = subprocess.run([sys.executable, "-m", "lab", "--store", str(live_root), "bot",
                           "run", "dead"], cwd=REPO, env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL
    before = control.status("dead", live_root)
    assert before["state"] == "crashed" and before["pid"] is None      # process is gone
    assert before["position"] == pytest.approx(first["qty"])
    out = control.emergency_stop(live_root)
    assert out == ["dead: halted, position 0"]
    after = control.status("dead", live_root)
    assert after["position"] == 0.0 and after["risk_state"] == "HALTED"
    assert after["state"] == "halted"
    last = control.fills("dead", live_root)[-1]
    assert last["reason"] == "flatten" and last["side"] == -1
    assert last["qty"] == pytest.approx(first["qty"])
    # restarted, a HALTED bot places nothing for the rest of the replay
    n_orders = len(control.orders("dead", live_root))
    assert Runner("dead", live_root).run() == 0
    st = control.status("dead", live_root)
    assert st["bars_seen"] == len(bars) and st["risk_state"] == "HALTED"
    assert len(control.orders("dead", live_root)) == n_orders
    assert len(res.trades) > 3                               # the backtest kept trading
