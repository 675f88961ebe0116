"""The bot process: ``python -m lab bot run NAME`` (started by ``lab.live.supervisor``).

It loads the frozen config from the ledger, opens the broker and the feed, rebuilds
the bot's history, reconciles with the broker, then handles closed bars until the
replay runs out (state ``finished``), a ``stop`` command or SIGTERM arrives (state
``stopped``), or it crashes (exception: exit status 1, the supervisor restarts it).
Commands (pause, resume, stop, flatten, halt, adopt) are read from the ledger between bars
and while the feed waits.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from pathlib import Path

from lab.core.errors import ConfigError, LabError
from lab.core.paths import data_root
from lab.core.processes import process_start
from lab.live import adopt as adoption
from lab.live.bot import Bot
from lab.live.config import BotConfig
from lab.live.feeds import make_feed
from lab.live.ledger import Ledger, ledger_path
from lab.live.paper import PaperBroker, venue_path


#: Between bars, pending commands are read at most this often (seconds): a replay at
#: full speed would otherwise query the ledger once per bar.
COMMAND_POLL_S = 0.05
#: WAL pages between automatic checkpoints of the bot's ledger connection.
WAL_CHECKPOINT_PAGES = 10_000


class StopRequested(Exception):
    """A stop command or SIGTERM arrived while the feed waited."""


def find_ledger(name: str, root: str | Path | None = None) -> Ledger:
    """The ledger (paper, else live) holding bot ``name``.

    Raises
    ------
    LabError
        No such bot, listing where it looked.
    """
    for account in ("paper", "live"):
        path = ledger_path(account, root)
        if path.exists():
            ledger = Ledger(path)
            if ledger.bot(name) is not None:
                return ledger
            ledger.close()
    raise LabError(f"no bot named {name!r} under {data_root(root) / 'live'}; see "
                   "`python -m lab bot list`")


def make_broker(config: BotConfig, uid: str, root: str | Path | None = None):
    """The broker of a bot: its paper sub-account, or IB (``lab.live.ib``)."""
    kind = config.broker["kind"]
    if kind == "paper":
        return PaperBroker(venue_path(data_root(root)), uid, config.symbol, config.execution)
    try:
        from lab.live.ib.factory import broker_from_config  # noqa: PLC0415 - ib_async inside
    except ImportError as exc:
        raise ConfigError(f"the IB broker is not available in this build ({exc}); use the "
                          "paper broker") from None
    return broker_from_config(config, uid, root)


def open_catalog(root: str | Path | None = None):
    """The bar catalog of the data folder (bundled samples on a fresh machine)."""
    from lab.data import Catalog, build_sample_store

    catalog = Catalog(data_root(root))
    if catalog.datasets().empty:
        build_sample_store(catalog)
    return catalog


class Runner:
    """The loop of one bot process (see the module docstring)."""

    def __init__(self, name: str, root: str | Path | None = None):
        self.name = name
        self.root = data_root(root)
        self.ledger = find_ledger(name, self.root)
        # a checkpoint (two fsyncs) every ~40 MB of WAL instead of every 4 MB (SQLite's
        # default): a replay writes a few pages per bar. Commits stay as durable as before.
        self.ledger.con.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        row = self.ledger.bot(name)
        self.config = BotConfig.from_dict(row["config"])
        self.uid = row["uid"]
        self.stop = False
        self.bot: Bot | None = None
        self._account_limits = self.ledger.account_limits()    # what the bot starts with

    def _on_sigterm(self, *_):
        self.stop = True

    def wait(self, seconds: float) -> None:
        """The feed's sleep: reads commands every 0.2 s; raises ``StopRequested``."""
        end = time.monotonic() + seconds
        while True:
            self.commands()
            if self.stop:
                raise StopRequested()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.2, left))

    def commands(self) -> None:
        """Apply pending commands (pause, resume, stop, flatten, halt, adopt)."""
        bot = self.bot
        limits = self.ledger.account_limits()          # account limits set meanwhile
        if bot is not None and limits != self._account_limits:
            bot.use_account_limits(limits)
            self._account_limits = limits
            self.ledger.event(self.name, "account_limits", "account risk limits now: "
                              + (", ".join(f"{k}={v}" for k, v in limits.items()
                                           if v not in (None, False)) or "none"),
                              limits=limits)
        for cmd in self.ledger.pending_commands(self.name):
            c = cmd["command"]
            if c == "pause":
                bot.paused = True
                self.ledger.update_bot(self.name, state="paused")
                self.ledger.event(self.name, "pause", "paused: bars are marked, no orders")
            elif c == "resume":
                bot.paused = False
                if bot.risk.state.value == "HALTED":
                    bot.risk.resume()
                self.ledger.update_bot(self.name, state="running", risk_state="ACTIVE",
                                       risk_reason="")
                self.ledger.event(self.name, "resume", "resumed")
            elif c == "stop":
                self.stop = True
            elif c in ("flatten", "halt"):
                i = max(bot.hist.n - 1, 0)
                if c == "halt":
                    bot.risk.halt("emergency stop")
                    self.ledger.update_bot(self.name, risk_state="HALTED",
                                           risk_reason="emergency stop")
                adoption.flatten(bot, i, "flatten requested" if c == "flatten"
                                 else "emergency stop")
            elif c == "adopt":
                adoption.adopt(bot, max(bot.hist.n - 1, 0))
            self.ledger.done_command(cmd["id"])

    def run(self) -> int:
        """Run until finished, stopped or crashed; returns the exit status."""
        signal.signal(signal.SIGTERM, self._on_sigterm)
        ledger, name = self.ledger, self.name
        row = ledger.bot(name)
        restart = row["state"] in ("running", "paused", "crashed")
        paused = row["state"] == "paused"
        try:
            broker = make_broker(self.config, self.uid, self.root)
            feed = make_feed(self.config, open_catalog(self.root))
            feed._sleep = self.wait
            self.bot = bot = Bot(ledger, self.config, broker, feed, pid=os.getpid())
            ledger.update_bot(name, state="paused" if paused else "running", pid=os.getpid(),
                              pid_start=process_start(os.getpid()))
            ledger.event(name, "restart" if restart else "start",
                         f"{'restarted' if restart else 'started'} (pid {os.getpid()})",
                         pid=os.getpid())
            bot.rebuild()
            why = bot.reconcile()
            if why:
                ledger.update_bot(name, last_error=why)
            elif hasattr(broker, "mark_reconciled"):    # a real broker waits for this
                broker.mark_reconciled()
            ledger.heartbeat(name, os.getpid(), bot.bars_seen)
            self.commands()
            finished = True
            try:
                polled = time.monotonic()
                for bar in feed.bars(after=bot.last_time):
                    if time.monotonic() - polled >= COMMAND_POLL_S:
                        self.commands()
                        polled = time.monotonic()
                    if self.stop:
                        finished = False
                        break
                    if getattr(broker, "reconcile_pending", False):
                        # reconnected (IB 1101/1102 or a new socket): ledger vs broker
                        # again before any order; a difference halts the bot
                        if bot.reconcile() is None:
                            broker.mark_reconciled()
                    bot.on_bar(bar)
            except StopRequested:
                finished = False
            if self.stop:
                finished = False
            state = "finished" if finished and feed.finite else "stopped"
            ledger.update_bot(name, state=state, pid=None)
            ledger.event(name, state, f"{state} after {bot.bars_seen} bars",
                         bars_seen=bot.bars_seen)
            return 0
        except Exception as exc:  # noqa: BLE001 - recorded, then the supervisor decides
            text = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
            ledger.update_bot(name, state="crashed", last_error=text, pid=None)
            ledger.event(name, "error", f"bot crashed: {text}")
            return 1


def main(name: str, root: str | Path | None = None) -> int:
    """Entry point of ``python -m lab bot run NAME``."""
    return Runner(name, root).run()
