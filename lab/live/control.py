"""Control of bots from the CLI and the Live page: create, start, pause, resume, stop,
flatten, adopt, emergency stop, and read their status, trades, orders, fills (with the
cost model's commission and price beside the broker's), events and logs.

Nothing here trades on the Streamlit thread: ``start`` spawns the supervisor process
(``lab.live.supervisor``) detached from the caller, and commands are rows in the
ledger that the bot process reads between bars. When a bot process is dead, ``flatten``
and ``emergency_stop`` act themselves: they reconcile the bot's ledger with its broker
and close the position through the broker.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from lab.core.errors import LabError
from lab.core.paths import data_root
from lab.core.processes import pid_alive
from lab.live.config import BotConfig, RiskLimits, check_name
from lab.live.fill_costs import cost_totals, with_costs
from lab.live.ledger import Ledger, ledger_path
from lab.live.runner import find_ledger, make_broker
from lab.live.supervisor import REPO, child_env, log_path
from lab.live.trades import trades_from_fills

#: A heartbeat older than this many seconds is stale (shown red).
STALE_AFTER_S = 30.0


def create(config: BotConfig, root: str | Path | None = None) -> str:
    """Record a new bot (state ``created``); returns its uid.

    Raises
    ------
    LedgerError
        A bot of that name exists (in either ledger).
    """
    check_name(config.name)
    for account in ("paper", "live"):
        path = ledger_path(account, root)
        if path.exists():
            with _open(path) as other:
                if other.bot(config.name) is not None:
                    raise LabError(f"a bot named {config.name!r} exists already; pick another "
                                   "name or delete it (`python -m lab bot delete NAME`)")
    uid = secrets.token_hex(4)
    with _open(ledger_path(config.account, root)) as ledger:
        ledger.add_bot(config.name, uid, config.to_dict())
        ledger.event(config.name, "created", f"created: {config.strategy} on "
                     f"{config.symbol} {config.timeframe}", config=config.to_dict())
    return uid


def start(name: str, root: str | Path | None = None) -> int:
    """Start (or restart) bot ``name`` under its supervisor; returns the supervisor pid.

    Raises
    ------
    LabError
        The bot is running already, or has failed / been halted by an emergency stop
        and must be resumed first.
    """
    root = data_root(root)
    with _find(name, root) as ledger:
        row = ledger.bot(name)
        if _alive(row.get("supervisor_pid")) or _alive(row.get("pid")):
            raise LabError(f"bot {name!r} is running already (pid {row['pid']})")
        ledger.update_bot(name, state="starting" if row["state"] in ("created", "stopped",
                                                                     "failed", "finished")
                          else row["state"], crashes=[], last_error=None)
    log = log_path(name, root)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "lab.live.supervisor", name, "--root",
                                 str(root)], cwd=REPO, env=child_env(root),
                                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    threading.Thread(target=proc.wait, name=f"reap-{name}", daemon=True).start()
    with _find(name, root) as ledger:
        ledger.update_bot(name, supervisor_pid=proc.pid)
    return proc.pid


def command(name: str, what: str, root: str | Path | None = None) -> str:
    """Send ``pause``, ``resume``, ``stop`` or ``flatten`` to bot ``name``; returns what
    happened. For a bot whose process is not running the action is applied at once
    (flatten goes through the broker from the ledger)."""
    if what not in ("pause", "resume", "stop", "flatten"):
        raise LabError(f"unknown bot command {what!r}; use pause, resume, stop or flatten")
    with _find(name, root) as ledger:
        row = ledger.bot(name)
        if _alive(row.get("pid")):
            ledger.add_command(name, what)
            return f"{what} sent to bot {name} (pid {row['pid']})"
        if what == "pause":
            ledger.update_bot(name, state="paused")
        elif what == "resume":
            ledger.update_bot(name, risk_state="ACTIVE", risk_reason="",
                              state="stopped" if row["state"] in ("halted",) else row["state"])
            ledger.event(name, "resume", "resumed (bot not running)")
        elif what == "stop":
            _terminate(row.get("supervisor_pid"))
            ledger.update_bot(name, state="stopped" if row["state"] not in (
                "finished", "failed") else row["state"])
            ledger.event(name, "stopped", "stopped (bot not running)")
        else:
            return flatten_offline(ledger, name, root, "flatten requested (bot not running)")
        return f"{what} applied to bot {name} (not running)"


def flatten_offline(ledger: Ledger, name: str, root, why: str) -> str:
    """Reconcile a dead bot's ledger with its broker and close its position there (an
    unknown position is adopted first, ``lab.live.adopt``); returns what happened."""
    from lab.live import adopt as adoption

    return _offline(ledger, name, root, lambda bot, i: adoption.flatten(bot, i, why))


def adopt(name: str, root: str | Path | None = None) -> str:
    """Adopt what bot ``name``'s broker holds and its ledger does not know (a position,
    orders; ``lab.live.adopt``): the running bot does it between bars, for a bot whose
    process is not running it happens here. Returns what happened.

    Raises
    ------
    LabError
        No such bot; the broker cannot be reached (not running).
    """
    from lab.live import adopt as adoption

    with _find(name, root) as ledger:
        row = ledger.bot(name)
        if _alive(row.get("pid")):
            ledger.add_command(name, "adopt")
            return f"adopt sent to bot {name} (pid {row['pid']}); see its events"
        return _offline(ledger, name, root, adoption.adopt)


def _offline(ledger: Ledger, name: str, root, act) -> str:
    """``act(bot, bar)`` on a bot whose process is not running, through its broker."""
    from lab.live.bot import Bot

    row = ledger.bot(name)
    config = BotConfig.from_dict(row["config"])
    broker = make_broker(config, row["uid"], root)
    try:
        bot = Bot(ledger, config, broker, feed=None)
        bot.bars_seen = 0
        bot.reconcile()
        last = ledger.equity_rows(name, last=1)
        if last:                 # the last bar's close is the mark (the model's reference)
            r = last[-1]
            broker.process_bar(r["bar"], r["time"], r["open"], r["high"], r["low"],
                               r["close"])
        return act(bot, last[-1]["bar"] if last else 0)
    finally:
        broker.close()


def emergency_stop(root: str | Path | None = None, wait_s: float = 10.0) -> list[str]:
    """Flatten every bot and halt it: each supervisor and bot process is terminated
    (SIGTERM, then SIGKILL after ``wait_s``), then the position is closed from the
    ledger through the broker, and the bot is left ``halted`` / HALTED. Works for bots
    whose process is dead. Returns one line per bot."""
    out = []
    for account in ("paper", "live"):
        path = ledger_path(account, root)
        if not path.exists():
            continue
        with _open(path) as ledger:
            for row in ledger.bots():
                name = row["name"]
                for key in ("supervisor_pid", "pid"):
                    _terminate(row.get(key), wait_s)
                ledger.update_bot(name, risk_state="HALTED", risk_reason="emergency stop",
                                  state="halted", pid=None, supervisor_pid=None)
                ledger.event(name, "emergency_stop", "emergency stop: flatten and halt")
                try:
                    flatten_offline(ledger, name, root, "emergency stop")
                    pos = ledger.position(name)
                    out.append(f"{name}: halted, position {pos['qty'] if pos else 0.0:g}")
                except Exception as exc:  # noqa: BLE001 - report and go on with the others
                    ledger.event(name, "error", f"emergency flatten failed: {exc}")
                    out.append(f"{name}: halted, FLATTEN FAILED: {exc}")
    return out


def delete(name: str, root: str | Path | None = None) -> None:
    """Remove a stopped bot and its ledger rows (its paper account stays in the venue).

    Raises
    ------
    LabError
        The bot is running.
    """
    with _find(name, root) as ledger:
        row = ledger.bot(name)
        if _alive(row.get("pid")) or _alive(row.get("supervisor_pid")):
            raise LabError(f"bot {name!r} is running; stop it first")
        ledger.delete_bot(name)


def set_account_limits(limits: RiskLimits, account: str = "paper",
                       root: str | Path | None = None) -> None:
    """Set the account-wide risk limits of a ledger (every bot of that account checks
    them; a running bot reads them between bars, at most ``lab.live.runner.COMMAND_POLL_S`` later, and
    records an ``account_limits`` event). Clearing every limit also lifts the account's
    HALTED state (``lab.live.account``): with no limit there is no account check."""
    from lab.live import account as account_risk

    with _open(ledger_path(account, root)) as ledger:
        ledger.set_account_limits(limits.to_dict())
        if not limits.any_set:
            account_risk.resume(ledger)


def account_limits(account: str = "paper", root: str | Path | None = None) -> RiskLimits:
    """The account-wide risk limits (all off when none were set)."""
    path = ledger_path(account, root)
    if not path.exists():
        return RiskLimits()
    with _open(path) as ledger:
        return RiskLimits.from_dict(ledger.account_limits())


def account_status(account: str = "paper", root: str | Path | None = None) -> dict:
    """The account's risk state and numbers (``lab.live.account.summary``): ``state``
    (ACTIVE, REDUCING, HALTED), ``reason``, ``equity``, ``peak_equity``, ``drawdown``,
    ``day_loss``, ``gross_notional``, ``orders_last_minute``, ``limits``."""
    from lab.live import account as account_risk

    ledger = account_risk.open_account(account, root)
    if ledger is None:
        return {"state": "ACTIVE", "reason": "", "equity": None, "peak_equity": None,
                "drawdown": None, "day_loss": None, "gross_notional": 0.0,
                "orders_last_minute": 0,
                "limits": {k: None for k in RiskLimits().to_dict()
                           if k not in ("flatten_at_utc", "waived")}}
    with _Close(ledger):
        return account_risk.summary(ledger)


def resume_account(account: str = "paper", root: str | Path | None = None) -> None:
    """A person's resume of an account HALTED by its drawdown: ACTIVE again, the
    drawdown counted from the present equity."""
    from lab.live import account as account_risk

    with _open(ledger_path(account, root)) as ledger:
        account_risk.resume(ledger)
        for row in ledger.bots():
            ledger.event(row["name"], "account_resume", "account risk state -> ACTIVE "
                         "(resumed by a person)")


# -- reading ------------------------------------------------------------------------------

def status(name: str, root: str | Path | None = None) -> dict:
    """A bot's status: ``state``, ``pid`` (the bot process), ``bars_seen``, ``position``,
    ``cash``, ``equity``, ``realized_pnl`` (cash - starting cash), ``unrealized_pnl``
    (equity - cash), ``pnl_today``, ``risk_state``, ``risk_reason``,
    ``last_heartbeat`` (epoch s), ``heartbeat_age_s``, ``stale``, config fields."""
    with _find(name, root) as ledger:
        return _status(ledger, ledger.bot(name))


def list_bots(root: str | Path | None = None) -> list[dict]:
    """``status`` of every bot, paper then live."""
    out = []
    for account in ("paper", "live"):
        path = ledger_path(account, root)
        if path.exists():
            with _open(path) as ledger:
                out.extend(_status(ledger, row) for row in ledger.bots())
    return out


def _status(ledger: Ledger, row: dict) -> dict:
    name = row["name"]
    cfg = row["config"]
    cash0 = float(cfg["execution"]["cash"])
    last = ledger.equity_rows(name, last=1)
    pos = ledger.position(name)
    hb = ledger.last_heartbeat(name)
    cash = last[-1]["cash"] if last else cash0
    equity = last[-1]["equity"] if last else cash0
    today = None
    if last:
        day = last[-1]["time"][:10]
        first = ledger.con.execute("SELECT equity FROM equity WHERE bot = ? AND time >= ? "
                                   "ORDER BY bar LIMIT 1", (name, day)).fetchone()
        prev = ledger.con.execute("SELECT equity FROM equity WHERE bot = ? AND time < ? "
                                  "ORDER BY bar DESC LIMIT 1", (name, day)).fetchone()
        base = prev[0] if prev else (first[0] if first else cash0)
        today = equity - base
    state = row["state"]
    alive = _alive(row.get("pid"))
    if state in ("running", "paused") and not alive and not _alive(row.get("supervisor_pid")):
        state = "crashed"
    age = time.time() - hb["ts"] if hb else None
    return {
        "name": name, "symbol": cfg["symbol"], "timeframe": cfg["timeframe"],
        "strategy": cfg["strategy"], "params": cfg["params"], "account": cfg["account"],
        "feed": cfg["feed"]["kind"], "state": state, "pid": row["pid"] if alive else None,
        "supervisor_pid": row.get("supervisor_pid"), "bars_seen": row["bars_seen"],
        "last_bar_time": row["last_bar_time"], "position": pos["qty"] if pos else 0.0,
        "entry_price": pos["avg_price"] if pos and pos["qty"] else None,
        "cash": cash, "equity": equity, "realized_pnl": cash - cash0,
        "unrealized_pnl": equity - cash, "pnl_total": equity - cash0, "pnl_today": today,
        "risk_state": row["risk_state"], "risk_reason": row["risk_reason"],
        "last_heartbeat": hb["ts"] if hb else None, "heartbeat_age_s": age,
        "stale": bool(state in ("running", "paused") and (age is None or age > STALE_AFTER_S)),
        "last_error": row["last_error"], "from_run": cfg.get("from_run"),
        "session_run_id": row.get("session_run_id"),
    }


def trades(name: str, root: str | Path | None = None) -> pd.DataFrame:
    """Closed trades with the columns of ``lab backtest``'s trades."""
    with _find(name, root) as ledger:
        row = ledger.bot(name)
        ex = row["config"]["execution"]
        first = ledger.con.execute("SELECT MIN(bar) FROM equity WHERE bot = ?",
                                   (name,)).fetchone()[0] or 0
        return trades_from_fills(ledger.fills(name), float(ex["multiplier"]),
                                 float(ex["leverage"]), first_bar=int(first),
                                 initial_margin=float(ex.get("initial_margin", 0.0)))


def orders(name: str, root: str | Path | None = None) -> list[dict]:
    """Orders as acknowledged by the broker, each with its ``client_order_id``, plus
    refused intents (``status`` "refused")."""
    with _find(name, root) as ledger:
        out = ledger.orders(name)
        for intent in ledger.intents(name, status="refused"):
            req = intent["request"]
            out.append({"client_order_id": intent["client_order_id"], "bot": name,
                        "bar": intent["bar"], "broker_order_id": None, "status": "refused",
                        "side": req["side"], "kind": req["kind"], "qty": req["qty"],
                        "filled_qty": 0.0, "avg_price": None, "fee": 0.0,
                        "reason": intent["detail"], "purpose": req["purpose"],
                        "created_at": intent["created_at"], "updated_at": intent["created_at"]})
        return sorted(out, key=lambda o: (o["bar"], o["created_at"]))


def fills(name: str, root: str | Path | None = None) -> list[dict]:
    """The bot's fills in execution order (ledger rows), each with the cost model's
    commission and price beside the broker's and the drift between them
    (``lab.live.fill_costs.with_costs``: ``fee_drift``, ``slippage``,
    ``slippage_cost``)."""
    with _find(name, root) as ledger:
        mult = float(ledger.bot(name)["config"]["execution"]["multiplier"])
        return with_costs(ledger.fills(name), mult)


def fill_costs(name: str, root: str | Path | None = None) -> dict:
    """``{"fills": fills(name), "totals": cost_totals(...)}``: the broker's commissions
    and prices against the model's, per fill and in total (account currency)."""
    rows = fills(name, root)
    return {"fills": rows, "totals": cost_totals(rows)}


def events(name: str, root: str | Path | None = None, last: int = 200) -> list[dict]:
    with _find(name, root) as ledger:
        return ledger.events(name, last=last)


def equity(name: str, root: str | Path | None = None) -> pd.DataFrame:
    """Bars the bot has seen with its cash, position and equity (UTC index)."""
    with _find(name, root) as ledger:
        rows = ledger.equity_rows(name)
    frame = pd.DataFrame(rows, columns=["bar", "time", "open", "high", "low", "close",
                                        "volume", "cash", "position", "equity"])
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("time"), utc=True),
                                   name="ts_event")
    return frame


def config(name: str, root: str | Path | None = None) -> BotConfig:
    with _find(name, root) as ledger:
        return BotConfig.from_dict(ledger.bot(name)["config"])


def logs(name: str, root: str | Path | None = None, lines: int = 50) -> str:
    """The last ``lines`` lines of the bot's log file."""
    path = log_path(name, root)
    if not path.exists():
        return ""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - 64_000))
        text = fh.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def set_session_run(name: str, run_id: str, root: str | Path | None = None) -> None:
    """Remember the MLflow run of the bot's current session."""
    with _find(name, root) as ledger:
        ledger.update_bot(name, session_run_id=run_id)


# -- helpers ------------------------------------------------------------------------------

class _open:
    def __init__(self, path: Path):
        self.ledger = Ledger(path)

    def __enter__(self) -> Ledger:
        return self.ledger

    def __exit__(self, *exc) -> None:
        self.ledger.close()


class _Close(_open):
    def __init__(self, ledger: Ledger):
        self.ledger = ledger


class _find(_open):
    def __init__(self, name: str, root=None):
        self.ledger = find_ledger(name, root)


def _alive(pid: int | None) -> bool:
    """Is process ``pid`` running (``lab.core.processes.pid_alive``)? No pid: no."""
    return bool(pid) and pid_alive(int(pid))


def _terminate(pid: int | None, wait_s: float = 10.0) -> None:
    """SIGTERM ``pid``, wait up to ``wait_s``, then SIGKILL."""
    if not _alive(pid):
        return
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        if not _alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(int(pid), signal.SIGKILL)
    except ProcessLookupError:
        pass

