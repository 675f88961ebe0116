"""The IB broker's own books: orders it placed and the executions IB reported for them.

IB keeps executions for the current day only (``reqExecutions``), so the broker
journals each execution of a bot's order the moment it learns of it (live, or at a
reconciliation after a reconnect), with IB's commission and the model's estimate, and
hands fills to the bot from here: ``fills(after=n)`` stays stable across restarts and
days. One fill per order: the executions of a partly filled order are combined when the
order is done (filled, or cancelled after a partial fill), so a bot sees one entry and
one exit as with every other broker.

Orders at IB that the user adopted for a bot (``adopt_order``, by ``permId``;
``lab.live.ib.adoption``) are no longer reported as unknown. Each fill also carries the
model's commission (``fee_model``) and price (``price_model``, in the fill's JSON).

It also keeps each bot's latest gateway status (``set_status``: connected, where,
paper/live, masked account, server version, last error, last health check), written on
every health check and every change: the IB heartbeat the Live page reads
(``gateway_status``).

SQLite in WAL mode at ``<data>/live/ib_journal.sqlite``, readable by the user alone
(0600), with a schema version and migrations (``MIGRATIONS``); every write commits
before the call returns, so a kill -9 loses nothing the journal acknowledged.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    uid TEXT NOT NULL,
    request TEXT NOT NULL,
    perm_id INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    exec_id TEXT PRIMARY KEY,
    uid TEXT NOT NULL,
    order_ref TEXT NOT NULL,
    perm_id INTEGER NOT NULL,
    time TEXT NOT NULL,
    side INTEGER NOT NULL,
    qty REAL NOT NULL,
    price REAL NOT NULL,
    commission REAL,
    commission_model REAL,
    recorded_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_ref ON executions (uid, order_ref);
CREATE TABLE IF NOT EXISTS gateway (
    bot TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
    uid TEXT NOT NULL,
    seq INTEGER NOT NULL,
    order_ref TEXT NOT NULL UNIQUE,
    fill TEXT NOT NULL,
    fee_model REAL,
    PRIMARY KEY (uid, seq)
);
CREATE TABLE IF NOT EXISTS adopted_orders (
    perm_id INTEGER NOT NULL,
    uid TEXT NOT NULL,
    description TEXT NOT NULL,
    adopted_at REAL NOT NULL,
    PRIMARY KEY (uid, perm_id)
);
"""


#: Migrations of the journal file (``lab.core.migrations``; append-only).
MIGRATIONS = {0: _SCHEMA}
#: Schema version this code writes (``PRAGMA user_version``).
SCHEMA_VERSION = 1


def journal_path(root: Path) -> Path:
    """``<data>/live/ib_journal.sqlite`` for data folder ``root``."""
    return Path(root) / "live" / "ib_journal.sqlite"


class Journal:
    """See the module docstring. ``uid`` separates bots sharing one file."""

    def __init__(self, path: Path, uid: str):
        from lab.core.private import private_dir
        from lab.live.ledger import connect

        path = Path(path)
        private_dir(path.parent)
        self.uid = uid
        # created 0600, WAL, schema version SCHEMA_VERSION via lab.core.migrations
        self.db = connect(path, MIGRATIONS, SCHEMA_VERSION, check_same_thread=False)

    def close(self) -> None:
        self.db.close()

    # -- orders ----------------------------------------------------------------------
    def add_order(self, client_order_id: str, request: dict) -> None:
        self.db.execute("INSERT INTO orders VALUES (?, ?, ?, NULL, ?)",
                        (client_order_id, self.uid, json.dumps(request), time.time()))

    def update_request(self, client_order_id: str, **values) -> None:
        """Set keys of a journaled order's request (e.g. the bracket levels once moved)."""
        rec = self.order(client_order_id)
        if rec is not None:
            self.db.execute("UPDATE orders SET request = ? WHERE client_order_id = ?",
                            (json.dumps({**rec["request"], **values}), client_order_id))

    def set_perm_id(self, client_order_id: str, perm_id: int) -> None:
        self.db.execute("UPDATE orders SET perm_id = ? WHERE client_order_id = ?",
                        (perm_id, client_order_id))

    def order(self, client_order_id: str) -> dict | None:
        row = self.db.execute("SELECT * FROM orders WHERE client_order_id = ?",
                              (client_order_id,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["request"] = json.loads(out["request"])
        return out

    # -- executions ------------------------------------------------------------------
    def add_execution(self, exec_id: str, order_ref: str, perm_id: int, time_iso: str,
                      side: int, qty: float, price: float, commission: float | None,
                      commission_model: float | None) -> bool:
        """Record one execution once; returns False when it was known already (the
        commission is filled in if it was missing)."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO executions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (exec_id, self.uid, order_ref, perm_id, time_iso, side, qty, price, commission,
             commission_model, time.time()))
        if cur.rowcount == 0 and commission is not None:
            self.db.execute("UPDATE executions SET commission = ? WHERE exec_id = ? AND "
                            "commission IS NULL", (commission, exec_id))
        return cur.rowcount == 1

    def set_commission(self, exec_id: str, commission: float) -> None:
        self.db.execute("UPDATE executions SET commission = ? WHERE exec_id = ?",
                        (commission, exec_id))

    def executions(self, order_ref: str | None = None) -> list[dict]:
        if order_ref is None:
            rows = self.db.execute("SELECT * FROM executions WHERE uid = ? ORDER BY time, "
                                   "exec_id", (self.uid,))
        else:
            rows = self.db.execute("SELECT * FROM executions WHERE uid = ? AND order_ref = ? "
                                   "ORDER BY time, exec_id", (self.uid, order_ref))
        return [dict(r) for r in rows]

    def executions_without_fill(self) -> list[str]:
        """``orderRef``s of the bot with executions but no fill yet (not done, or
        commission reports still missing)."""
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT order_ref FROM executions e WHERE uid = ? AND NOT EXISTS "
            "(SELECT 1 FROM fills f WHERE f.order_ref = e.order_ref)", (self.uid,))]

    def last_execution_time(self) -> str | None:
        row = self.db.execute("SELECT MAX(time) FROM executions WHERE uid = ?",
                              (self.uid,)).fetchone()
        return row[0]

    # -- fills -----------------------------------------------------------------------
    def has_fill(self, order_ref: str) -> bool:
        return self.db.execute("SELECT 1 FROM fills WHERE order_ref = ?",
                               (order_ref,)).fetchone() is not None

    def add_fill(self, order_ref: str, fill: dict, fee_model: float | None) -> None:
        seq = self.db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM fills WHERE uid = ?",
                              (self.uid,)).fetchone()[0]
        self.db.execute("INSERT OR IGNORE INTO fills VALUES (?, ?, ?, ?, ?)",
                        (self.uid, seq, order_ref, json.dumps(fill), fee_model))

    def fills(self, after: int = 0) -> list[dict]:
        rows = self.db.execute("SELECT fill, fee_model FROM fills WHERE uid = ? AND seq >= ? "
                               "ORDER BY seq", (self.uid, int(after)))
        return [dict(json.loads(r["fill"]), fee_model=r["fee_model"]) for r in rows]

    def fill_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM fills WHERE uid = ?",
                                   (self.uid,)).fetchone()[0])

    # -- adopted orders (orders at IB the user made the bot's own) ------------------------
    def adopt_order(self, perm_id: int, description: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO adopted_orders VALUES (?, ?, ?, ?)",
                        (int(perm_id), self.uid, description, time.time()))

    def adopted_perm_ids(self) -> set[int]:
        return {int(r[0]) for r in self.db.execute(
            "SELECT perm_id FROM adopted_orders WHERE uid = ?", (self.uid,))}

    # -- gateway status (the Live page's IB heartbeat) ---------------------------------
    def set_status(self, bot: str, status: dict) -> None:
        self.db.execute("INSERT INTO gateway VALUES (?, ?, ?) ON CONFLICT(bot) DO UPDATE "
                        "SET ts = excluded.ts, status = excluded.status",
                        (bot, time.time(), json.dumps(status)))


def gateway_status(root: Path, bot: str) -> dict | None:
    """The latest gateway status a bot's IB broker recorded, with ``age_s``; None if none.

    Read-only: opens the journal only if it exists.
    """
    path = journal_path(root)
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        row = db.execute("SELECT ts, status FROM gateway WHERE bot = ?", (bot,)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        db.close()
    if row is None:
        return None
    return dict(json.loads(row[1]), age_s=time.time() - row[0])
