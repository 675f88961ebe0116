"""The bot ledger: SQLite in WAL mode under ``<data>/live/``, written before the broker
is called so that a crash loses nothing.

One file per account kind: ``paper.sqlite`` for paper bots, ``live.sqlite`` for bots on
a live account (``ledger_path``). Files are created with mode 0600 (SQLite gives its
``-wal`` and ``-shm`` files the database file's permissions). ``synchronous=NORMAL``
in WAL mode: a committed transaction survives the death of the process (kill -9); only
a power loss may drop the last transactions.

Tables (schema ``SCHEMA_VERSION``; ``MIGRATIONS`` upgrades older files in place):

``bots``        one row per bot: frozen config (JSON), uid, state, risk state and
                reason, pids, bars seen, last error, crash times
``intents``     each order the bot decided to send, with its unique client order id,
                inserted BEFORE the broker call; ``status`` new -> sent / refused /
                failed
``orders``      the broker's acknowledgement of each intent (``OrderStatus``)
``fills``       executions (``Fill``), once each by ``fill_id``, with the cost model's
                commission and price beside the broker's (schema v3; None on paper)
``positions``   the bot's position after its latest bar (signed qty, entry, levels)
``equity``      cash, position, close and equity at every bar the bot has seen
``events``      start, stop, pause, resume, restarts, risk refusals, errors (JSON data)
``heartbeats``  latest sign of life of each bot process
``commands``    pause / resume / stop / flatten requests for a running bot
``account``     account-wide settings: the account's risk limits and risk state
                (``lab.live.account``; schema v2)
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from lab.core.errors import LabError
from lab.core.migrations import SchemaError, migrate as migrate_schema
from lab.core.paths import data_root
from lab.core.private import sqlite_private

SCHEMA_VERSION = 3

_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS bots (
    name TEXT PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    state TEXT NOT NULL,
    risk_state TEXT NOT NULL DEFAULT 'ACTIVE',
    risk_reason TEXT NOT NULL DEFAULT '',
    pid INTEGER,
    pid_start REAL,
    supervisor_pid INTEGER,
    bars_seen INTEGER NOT NULL DEFAULT 0,
    last_bar_time TEXT,
    last_error TEXT,
    crashes TEXT NOT NULL DEFAULT '[]',
    session_run_id TEXT
);
CREATE TABLE IF NOT EXISTS intents (
    client_order_id TEXT PRIMARY KEY,
    bot TEXT NOT NULL,
    bar INTEGER NOT NULL,
    created_at REAL NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS intents_bot ON intents (bot, bar);
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    bot TEXT NOT NULL,
    bar INTEGER NOT NULL,
    broker_order_id TEXT,
    status TEXT NOT NULL,
    side INTEGER NOT NULL,
    kind TEXT NOT NULL,
    qty REAL,
    filled_qty REAL NOT NULL DEFAULT 0,
    avg_price REAL,
    fee REAL NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    purpose TEXT NOT NULL DEFAULT 'signal',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_bot ON orders (bot, bar);
CREATE TABLE IF NOT EXISTS fills (
    fill_id TEXT PRIMARY KEY,
    bot TEXT NOT NULL,
    seq INTEGER NOT NULL,
    client_order_id TEXT,
    bar INTEGER NOT NULL,
    time TEXT NOT NULL,
    side INTEGER NOT NULL,
    qty REAL NOT NULL,
    price REAL NOT NULL,
    fee REAL NOT NULL,
    reason TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    UNIQUE (bot, seq)
);
CREATE TABLE IF NOT EXISTS positions (
    bot TEXT PRIMARY KEY,
    qty REAL NOT NULL,
    avg_price REAL,
    entry_bar INTEGER,
    entry_fee REAL NOT NULL DEFAULT 0,
    stop REAL,
    target REAL,
    liquidation REAL,
    bar INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS equity (
    bot TEXT NOT NULL,
    bar INTEGER NOT NULL,
    time TEXT NOT NULL,
    open REAL NOT NULL,
    high REAL NOT NULL,
    low REAL NOT NULL,
    close REAL NOT NULL,
    volume REAL NOT NULL,
    cash REAL NOT NULL,
    position REAL NOT NULL,
    equity REAL NOT NULL,
    PRIMARY KEY (bot, bar)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bot TEXT NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS events_bot ON events (bot, id);
CREATE TABLE IF NOT EXISTS heartbeats (
    bot TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    pid INTEGER NOT NULL,
    bars_seen INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bot TEXT NOT NULL,
    command TEXT NOT NULL,
    created_at REAL NOT NULL,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS commands_bot ON commands (bot, done_at);
"""

# v2: account-wide settings (the account's risk limits)
_SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS account (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# v3: the model's commission and fill price beside the broker's on each fill (IB's
# commission reports vs the bot's ExecutionConfig: cost drift and slippage)
_SCHEMA_V3 = """
ALTER TABLE fills ADD COLUMN fee_model REAL;
ALTER TABLE fills ADD COLUMN price_model REAL;
"""

#: ``MIGRATIONS[v]`` upgrades a file at schema version ``v`` to ``v + 1``.
MIGRATIONS: dict[int, str] = {0: _SCHEMA_V1, 1: _SCHEMA_V2, 2: _SCHEMA_V3}

BOT_STATES = ("created", "starting", "running", "paused", "stopped", "finished",
              "crashed", "failed", "halted")


class LedgerError(LabError):
    """The ledger file is unusable (newer schema, inconsistent rows); says which."""


def ledger_path(account: str = "paper", root: str | Path | None = None) -> Path:
    """``<data>/live/paper.sqlite`` or ``<data>/live/live.sqlite``."""
    if account not in ("paper", "live"):
        raise LedgerError(f"account={account!r} must be 'paper' or 'live'")
    return data_root(root) / "live" / f"{account}.sqlite"


def connect(path: Path, migrations: dict[int, str] | None = None,
            target: int | None = None, *, check_same_thread: bool = True
            ) -> sqlite3.Connection:
    """Open (creating, 0600) and migrate a SQLite file in WAL mode.

    Parameters
    ----------
    path : Path
    migrations, target : optional
        ``migrations[v]`` brings the file from version ``v`` to ``v + 1`` up to
        ``target``; default: the ledger's (``MIGRATIONS``, ``SCHEMA_VERSION``).
    check_same_thread : bool
        As ``sqlite3.connect`` (False for a connection shared by an event loop's
        threads, e.g. the IB journal's).

    Raises
    ------
    LedgerError
        When the file has a newer schema than this code knows.
    """
    path = Path(path)
    sqlite_private(path)                 # 0600 (and -wal / -shm), folder 0700
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None,
                          check_same_thread=check_same_thread)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA busy_timeout = 30000")
    if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    if migrations is None:
        migrations, target = MIGRATIONS, SCHEMA_VERSION
    migrate(con, migrations, target, path)
    return con


def migrate(con: sqlite3.Connection, migrations: dict[int, str], target: int,
            path: Path) -> None:
    """Bring ``con`` to schema ``target`` (``PRAGMA user_version``) with
    ``lab.core.migrations.migrate`` (all missing migrations in one transaction).

    Raises
    ------
    LedgerError
        The file is newer than this code, or a migration failed (nothing changed).
    """
    try:
        migrate_schema(con, [migrations[v] for v in range(target)], name=str(path))
    except SchemaError as exc:
        raise LedgerError(str(exc)) from None


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class Ledger:
    """A bot ledger file (see the module docstring).

    Parameters
    ----------
    path : Path
        SQLite file (``ledger_path``).

    Notes
    -----
    Each method commits on its own unless called inside ``with ledger.transaction():``,
    which groups writes into one atomic commit.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.con = connect(self.path)
        self._depth = 0

    def close(self) -> None:
        """Close the connection; idempotent."""
        try:
            self.con.close()
        except sqlite3.Error:
            pass

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Group writes into one commit (nested calls join the outer transaction)."""
        if self._depth:
            self._depth += 1
            try:
                yield self.con
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.con
        except BaseException:
            self._depth = 0
            self.con.execute("ROLLBACK")
            raise
        self._depth = 0
        self.con.execute("COMMIT")

    # -- bots ---------------------------------------------------------------------------

    def add_bot(self, name: str, uid: str, config: dict) -> None:
        """Insert a new bot in state "created".

        Raises
        ------
        LedgerError
            A bot of that name exists already.
        """
        now = time.time()
        try:
            with self.transaction() as con:
                con.execute("INSERT INTO bots (name, uid, config, created_at, updated_at, "
                            "state) VALUES (?, ?, ?, ?, ?, 'created')",
                            (name, uid, _dumps(config), now, now))
        except sqlite3.IntegrityError:
            raise LedgerError(f"a bot named {name!r} exists already; pick another name "
                              "or delete it first") from None

    def bot(self, name: str) -> dict | None:
        """The bot row as a dict (``config`` and ``crashes`` decoded), or None."""
        row = self.con.execute("SELECT * FROM bots WHERE name = ?", (name,)).fetchone()
        return _bot_row(row) if row is not None else None

    def bots(self) -> list[dict]:
        """Every bot row, by creation time."""
        rows = self.con.execute("SELECT * FROM bots ORDER BY created_at").fetchall()
        return [_bot_row(r) for r in rows]

    def update_bot(self, name: str, **values: Any) -> None:
        """Set columns of a bot (dicts / lists stored as JSON)."""
        values["updated_at"] = time.time()
        for k in ("config", "crashes"):
            if k in values and not isinstance(values[k], str):
                values[k] = _dumps(values[k])
        sets = ", ".join(f"{k} = :{k}" for k in values)
        with self.transaction() as con:
            con.execute(f"UPDATE bots SET {sets} WHERE name = :_name", {**values, "_name": name})

    def delete_bot(self, name: str) -> None:
        """Remove a bot and all its rows."""
        with self.transaction() as con:
            for table in ("intents", "orders", "fills", "positions", "equity", "events",
                          "heartbeats", "commands"):
                con.execute(f"DELETE FROM {table} WHERE bot = ?", (name,))
            con.execute("DELETE FROM bots WHERE name = ?", (name,))

    # -- intents and orders -------------------------------------------------------------

    def add_intent(self, bot: str, request: dict, status: str = "new",
                   detail: str = "") -> None:
        """Insert an intent (``OrderRequest.to_dict()``) under its client order id.

        Raises
        ------
        LedgerError
            The client order id was used before (never reuse one).
        """
        try:
            with self.transaction() as con:
                con.execute("INSERT INTO intents (client_order_id, bot, bar, created_at, "
                            "request, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (request["client_order_id"], bot, int(request["bar"]),
                             time.time(), _dumps(request), status, detail))
        except sqlite3.IntegrityError:
            raise LedgerError(f"client order id {request['client_order_id']!r} is in the "
                              "ledger already; it must never be reused") from None

    def intent(self, coid: str) -> dict | None:
        row = self.con.execute("SELECT * FROM intents WHERE client_order_id = ?",
                               (coid,)).fetchone()
        return _intent_row(row) if row is not None else None

    def intents(self, bot: str, status: str | None = None) -> list[dict]:
        """Intents of ``bot`` in creation order, optionally of one status."""
        sql = "SELECT * FROM intents WHERE bot = ?"
        args: tuple = (bot,)
        if status is not None:
            sql += " AND status = ?"
            args += (status,)
        rows = self.con.execute(sql + " ORDER BY created_at, client_order_id", args)
        return [_intent_row(r) for r in rows.fetchall()]

    def set_intent(self, coid: str, status: str, detail: str = "") -> None:
        with self.transaction() as con:
            con.execute("UPDATE intents SET status = ?, detail = ? WHERE client_order_id = ?",
                        (status, detail, coid))

    def upsert_order(self, bot: str, bar: int, status: dict, purpose: str = "signal") -> None:
        """Record or update the broker's view of an order (``OrderStatus.to_dict()``)."""
        now = time.time()
        with self.transaction() as con:
            con.execute(
                "INSERT INTO orders (client_order_id, bot, bar, broker_order_id, status, side, "
                "kind, qty, filled_qty, avg_price, fee, reason, purpose, created_at, updated_at) "
                "VALUES (:client_order_id, :bot, :bar, :broker_order_id, :status, :side, :kind, "
                ":qty, :filled_qty, :avg_price, :fee, :reason, :purpose, :now, :now) "
                "ON CONFLICT (client_order_id) DO UPDATE SET broker_order_id = "
                "excluded.broker_order_id, status = excluded.status, filled_qty = "
                "excluded.filled_qty, avg_price = excluded.avg_price, fee = excluded.fee, "
                "reason = excluded.reason, updated_at = excluded.updated_at",
                {**status, "bot": bot, "bar": int(bar), "purpose": purpose, "now": now})

    def orders(self, bot: str, status: str | None = None) -> list[dict]:
        sql = "SELECT * FROM orders WHERE bot = ?"
        args: tuple = (bot,)
        if status is not None:
            sql += " AND status = ?"
            args += (status,)
        return [dict(r) for r in self.con.execute(sql + " ORDER BY created_at, rowid", args)]

    # -- fills, positions, equity ---------------------------------------------------------

    def fill_count(self, bot: str) -> int:
        return int(self.con.execute("SELECT COUNT(*) FROM fills WHERE bot = ?",
                                    (bot,)).fetchone()[0])

    def add_fill(self, bot: str, fill: dict) -> bool:
        """Store a fill (``Fill.to_dict()``; ``fee_model`` / ``price_model`` optional)
        once; returns False when already stored."""
        with self.transaction() as con:
            if con.execute("SELECT 1 FROM fills WHERE fill_id = ?",
                           (fill["fill_id"],)).fetchone():
                return False
            seq = con.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM fills WHERE bot = ?",
                              (bot,)).fetchone()[0]
            con.execute("INSERT INTO fills (fill_id, bot, seq, client_order_id, bar, time, "
                        "side, qty, price, fee, reason, recorded_at, fee_model, price_model) "
                        "VALUES (:fill_id, :bot, :seq, :client_order_id, :bar, :time, :side, "
                        ":qty, :price, :fee, :reason, :now, :fee_model, :price_model)",
                        {"fee_model": None, "price_model": None, **fill, "bot": bot,
                         "seq": seq, "now": time.time()})
        return True

    def fills(self, bot: str) -> list[dict]:
        return [dict(r) for r in self.con.execute(
            "SELECT * FROM fills WHERE bot = ? ORDER BY seq", (bot,))]

    def set_position(self, bot: str, bar: int, position: dict | None) -> None:
        """The bot's position after ``bar`` (``Position.to_dict()``; None = flat)."""
        p = position or {}
        with self.transaction() as con:
            con.execute(
                "INSERT INTO positions (bot, qty, avg_price, entry_bar, entry_fee, stop, "
                "target, liquidation, bar, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (bot) DO UPDATE SET qty = excluded.qty, avg_price = "
                "excluded.avg_price, entry_bar = excluded.entry_bar, entry_fee = "
                "excluded.entry_fee, stop = excluded.stop, target = excluded.target, "
                "liquidation = excluded.liquidation, bar = excluded.bar, updated_at = "
                "excluded.updated_at",
                (bot, float(p.get("qty", 0.0)), p.get("avg_price"), p.get("entry_bar"),
                 float(p.get("entry_fee", 0.0)), p.get("stop"), p.get("target"),
                 p.get("liquidation"), int(bar), time.time()))

    def position(self, bot: str) -> dict | None:
        row = self.con.execute("SELECT * FROM positions WHERE bot = ?", (bot,)).fetchone()
        return dict(row) if row is not None else None

    def add_equity(self, bot: str, bar: int, time_: str, ohlcv: tuple, cash: float,
                   position: float, equity: float) -> None:
        """Mark of ``bar`` (its OHLCV, cash, signed position, equity at the close)."""
        o, h, l, c, v = (float(x) for x in ohlcv)
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO equity VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (bot, int(bar), time_, o, h, l, c, v, float(cash), float(position),
                         float(equity)))

    def equity_rows(self, bot: str, last: int | None = None) -> list[dict]:
        """Equity rows by bar (the last ``last`` ones when given)."""
        if last is None:
            rows = self.con.execute("SELECT * FROM equity WHERE bot = ? ORDER BY bar", (bot,))
            return [dict(r) for r in rows]
        rows = self.con.execute("SELECT * FROM equity WHERE bot = ? ORDER BY bar DESC "
                                "LIMIT ?", (bot, int(last))).fetchall()
        return [dict(r) for r in reversed(rows)]

    # -- events, heartbeats, commands ---------------------------------------------------

    def event(self, bot: str, kind: str, message: str, **data: Any) -> None:
        """Append an event (start, stop, pause, resume, restart, risk_refusal, error...)."""
        with self.transaction() as con:
            con.execute("INSERT INTO events (bot, ts, kind, message, data) VALUES (?, ?, ?, ?, ?)",
                        (bot, time.time(), kind, message, _dumps(data)))

    def events(self, bot: str, kind: str | None = None, last: int = 200) -> list[dict]:
        sql = "SELECT * FROM events WHERE bot = ?"
        args: tuple = (bot,)
        if kind is not None:
            sql += " AND kind = ?"
            args += (kind,)
        rows = self.con.execute(sql + " ORDER BY id DESC LIMIT ?", args + (int(last),))
        out = [dict(r) for r in rows.fetchall()]
        for r in out:
            r["data"] = json.loads(r["data"])
        return list(reversed(out))

    def heartbeat(self, bot: str, pid: int, bars_seen: int) -> None:
        with self.transaction() as con:
            con.execute("INSERT INTO heartbeats VALUES (?, ?, ?, ?) ON CONFLICT (bot) DO UPDATE "
                        "SET ts = excluded.ts, pid = excluded.pid, bars_seen = "
                        "excluded.bars_seen", (bot, time.time(), int(pid), int(bars_seen)))

    def last_heartbeat(self, bot: str) -> dict | None:
        row = self.con.execute("SELECT * FROM heartbeats WHERE bot = ?", (bot,)).fetchone()
        return dict(row) if row is not None else None

    def add_command(self, bot: str, command: str) -> None:
        with self.transaction() as con:
            con.execute("INSERT INTO commands (bot, command, created_at) VALUES (?, ?, ?)",
                        (bot, command, time.time()))

    def pending_commands(self, bot: str) -> list[dict]:
        return [dict(r) for r in self.con.execute(
            "SELECT * FROM commands WHERE bot = ? AND done_at IS NULL ORDER BY id", (bot,))]

    def done_command(self, command_id: int) -> None:
        with self.transaction() as con:
            con.execute("UPDATE commands SET done_at = ? WHERE id = ?", (time.time(), command_id))


    # -- the account --------------------------------------------------------------------

    def account_limits(self) -> dict:
        """The account's risk limits (``RiskLimits.to_dict()``; {} when none set)."""
        row = self.con.execute("SELECT value FROM account WHERE key = 'risk'").fetchone()
        return json.loads(row[0]) if row else {}

    def set_account_limits(self, limits: dict) -> None:
        with self.transaction() as con:
            con.execute("INSERT INTO account VALUES ('risk', ?) ON CONFLICT (key) DO UPDATE "
                        "SET value = excluded.value", (_dumps(limits),))


def _bot_row(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["config"] = json.loads(d["config"])
    d["crashes"] = json.loads(d["crashes"])
    return d


def _intent_row(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["request"] = json.loads(d["request"])
    return d
