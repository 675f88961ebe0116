"""``PaperBroker``: simulated fills by the fast engine's own per-bar rules.

Each bar goes through the kernel's functions in the kernel's order
(``lab.kernels.engine.simulate_nb``): ``gap_check_nb`` at the open (liquidation, stop or
target the open gaps through), ``execute_pending_nb`` for the orders queued for this
open (exit, entry, or reversal), ``intrabar_check_nb`` for liquidation / stop-loss /
take-profit from the high and low, then the close is the new mark. The state vector is
the kernel's (``S_*`` columns), so cash, position, entry price, levels, commission and
slippage are exactly those of ``lab backtest`` on the same bars and orders. There is
no second copy of any rule here: this module only maps orders to the kernel's pending
action and the kernel's fill records back to orders.

The simulated venue keeps its own SQLite file (``<data>/live/paper_venue.sqlite``),
separate from the bots' ledger, as a real broker keeps its own books: every bar and
every order is committed there before the call returns, so a bot killed between a
fill and its ledger write finds the fill again through ``fills(after=...)``.
Each bot has its own paper sub-account (``account``) with the ``ExecutionConfig``'s
starting cash. A bar that fills nothing and finds no queued order changes only the
mark; such bars are written at most once per ``QUIET_SAVE_S`` (processing one again
after a crash gives the same empty result).
"""

from __future__ import annotations

import json
import math
import time
import time as time_module
from pathlib import Path

import numpy as np

from lab.core.config import ExecutionConfig
from lab.core.types import SizeType
from lab.costs.kernel_params import SIZE_CODE, params_vector
from lab.kernels import layout as L
from lab.live.broker import (Account, BrokerError, DuplicateOrderError, Fill, OrderRequest,
                             OrderStatus, Position)
from lab.live.ledger import connect

VENUE_SCHEMA_VERSION = 1
#: A bar that changes nothing but the mark is written at most this often (seconds).
QUIET_SAVE_S = 1.0
_REASONS = {0: "signal", 1: "stop", 2: "target", 3: "liquidation", 4: "end"}

_VENUE_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account TEXT PRIMARY KEY,
    symbol TEXT NOT NULL,
    config TEXT NOT NULL,
    state TEXT NOT NULL,
    last_bar INTEGER NOT NULL,
    last_time TEXT,
    last_close REAL,
    next_order INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    broker_order_id TEXT NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    filled_qty REAL NOT NULL DEFAULT 0,
    avg_price REAL,
    fee REAL NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_account ON orders (account, status);
CREATE TABLE IF NOT EXISTS fills (
    account TEXT NOT NULL,
    seq INTEGER NOT NULL,
    fill TEXT NOT NULL,
    PRIMARY KEY (account, seq)
);
"""


def venue_path(root: Path) -> Path:
    """``<data>/live/paper_venue.sqlite`` for data folder ``root``."""
    return Path(root) / "live" / "paper_venue.sqlite"


class PaperBroker:
    """A simulated broker account for one bot and one symbol (see the module docstring).

    Parameters
    ----------
    path : Path
        The venue's SQLite file (``venue_path``); created 0600 when missing.
    account : str
        Sub-account key (the bot's uid); created on first use with ``config.cash``.
    symbol : str
    config : ExecutionConfig
        The backtest's execution configuration: sizing, leverage, maintenance margin,
        SL / TP and the both-hit rule, commission, slippage, multiplier, minimum
        notional.

    Raises
    ------
    BrokerError
        The account exists with another symbol or configuration.
    """

    simulated = True

    def __init__(self, path: str | Path, account: str, symbol: str, config: ExecutionConfig):
        from lab.kernels import engine as k

        self._k = k
        self.path = Path(path)
        self.account_id = account
        self.symbol = symbol
        self.config = config
        self.p = params_vector(config)
        self.con = connect_venue(self.path)
        row = self.con.execute("SELECT * FROM accounts WHERE account = ?",
                               (account,)).fetchone()
        cfg_json = json.dumps(config.to_dict(), sort_keys=True)
        if row is None:
            st = np.zeros(L.N_STATE)
            st[L.S_CASH] = self.p[L.P_CASH]
            st[L.S_SL] = np.nan
            st[L.S_TP] = np.nan
            self.con.execute("INSERT INTO accounts (account, symbol, config, state, last_bar) "
                             "VALUES (?, ?, ?, ?, -1)",
                             (account, symbol, cfg_json, _dump_state(st)))
            row = self.con.execute("SELECT * FROM accounts WHERE account = ?",
                                   (account,)).fetchone()
        if row["symbol"] != symbol or row["config"] != cfg_json:
            raise BrokerError(f"paper account {account!r} trades {row['symbol']} with another "
                              "execution config; a bot's config is frozen, create a new bot")
        self.st = _load_state(row["state"])
        self.last_bar = int(row["last_bar"])
        self.last_time = row["last_time"]
        self.last_close = row["last_close"]
        self._has_queued = True          # read the book at the next bar
        self._saved_at = 0.0
        self._n_fills = self.con.execute("SELECT COUNT(*) FROM fills WHERE account = ?",
                                         (account,)).fetchone()[0]

    # -- protocol -------------------------------------------------------------------------

    def submit(self, order: OrderRequest) -> OrderStatus:
        """See ``Broker.submit``. A "now" order fills at the latest close (with
        slippage for a market order); before any bar it is rejected."""
        if order.symbol != self.symbol:
            raise BrokerError(f"this paper account trades {self.symbol}, not {order.symbol}")
        self.con.execute("BEGIN IMMEDIATE")
        try:
            if self.con.execute("SELECT 1 FROM orders WHERE client_order_id = ?",
                                (order.client_order_id,)).fetchone():
                raise DuplicateOrderError(f"client order id {order.client_order_id!r} was "
                                          "submitted before; look it up with order()")
            n = self.con.execute("SELECT next_order FROM accounts WHERE account = ?",
                                 (self.account_id,)).fetchone()[0]
            self.con.execute("UPDATE accounts SET next_order = ? WHERE account = ?",
                             (n + 1, self.account_id))
            self.con.execute("INSERT INTO orders (client_order_id, account, broker_order_id, "
                             "request, status, created_at) VALUES (?, ?, ?, ?, 'submitted', ?)",
                             (order.client_order_id, self.account_id, f"P-{n}",
                              json.dumps(order.to_dict()), time.time()))
            if order.timing == "now":
                self._fill_now(order)
            # the bars processed lazily so far are written with the order: after a
            # crash the venue must not process them again with this order in the book
            self._save_state()
            self.con.execute("COMMIT")
            self._saved_at = time_module.monotonic()
            self._has_queued = True
        except BaseException:
            self.con.execute("ROLLBACK")
            self._reload()
            raise
        return self.order(order.client_order_id)

    def order(self, client_order_id: str) -> OrderStatus | None:
        row = self.con.execute("SELECT * FROM orders WHERE client_order_id = ? AND account = ?",
                               (client_order_id, self.account_id)).fetchone()
        return _status(row) if row is not None else None

    def cancel(self, client_order_id: str) -> OrderStatus:
        self.con.execute("BEGIN IMMEDIATE")
        self.con.execute("UPDATE orders SET status = 'cancelled', reason = 'cancelled by "
                         "request' WHERE client_order_id = ? AND account = ? AND status = "
                         "'submitted'", (client_order_id, self.account_id))
        self._save_state()
        self.con.execute("COMMIT")
        status = self.order(client_order_id)
        if status is None:
            raise BrokerError(f"no order with client order id {client_order_id!r}")
        return status

    def open_orders(self) -> list[OrderStatus]:
        rows = self.con.execute("SELECT * FROM orders WHERE account = ? AND status = "
                                "'submitted' ORDER BY rowid", (self.account_id,)).fetchall()
        return [_status(r) for r in rows]

    def positions(self) -> list[Position]:
        k, st = self._k, self.st
        if st[L.S_QTY] == 0.0:
            return []
        return [Position(self.symbol, float(st[L.S_QTY]), float(st[L.S_ENTRY]),
                         int(st[L.S_ENTRY_IDX]), float(st[L.S_ENTRY_FEE]),
                         _opt(st[L.S_SL]), _opt(st[L.S_TP]), _opt(st[L.S_LIQ]))]

    def account(self) -> Account:
        k, st = self._k, self.st
        equity = st[L.S_CASH]
        if st[L.S_QTY] != 0.0 and self.last_close is not None:
            equity = st[L.S_CASH] + st[L.S_QTY] * self.p[L.P_MULT] * (
                self.last_close - st[L.S_ENTRY])
        return Account(float(st[L.S_CASH]), float(equity))

    def fills(self, after: int = 0) -> list[Fill]:
        if after >= self._n_fills:
            return []
        rows = self.con.execute("SELECT fill FROM fills WHERE account = ? AND seq >= ? "
                                "ORDER BY seq", (self.account_id, int(after))).fetchall()
        return [Fill(**json.loads(r[0])) for r in rows]

    def process_bar(self, bar: int, time: str, open_: float, high: float, low: float,
                    close: float) -> list[Fill]:
        """See ``Broker.process_bar``: the kernel's bar order on this sub-account."""
        if bar <= self.last_bar:
            return []
        k, st, p = self._k, self.st, self.p
        trades = np.zeros((4, L.N_TRADE_COLS))
        recs = np.zeros((8, L.N_ORDER_COLS))
        cnt = np.zeros(2, dtype=np.int64)
        queued = []
        if self._has_queued:
            queued = self.con.execute(
                "SELECT * FROM orders WHERE account = ? AND status = 'submitted' ORDER BY rowid",
                (self.account_id,)).fetchall()
        entry = exit_ = None
        for row in queued:
            req = json.loads(row["request"])
            if req["kind"] == "entry":
                entry = row
            else:
                exit_ = row
        pend = L.PEND_NONE
        pe = p
        if entry is not None:
            req = json.loads(entry["request"])
            pend = L.PEND_LONG if req["side"] > 0 else L.PEND_SHORT
            if req["qty"] is not None:
                pe = p.copy()
                pe[L.P_SIZE_TYPE] = SIZE_CODE[SizeType.QUANTITY]
                pe[L.P_SIZE] = float(req["qty"])
        elif exit_ is not None:
            pend = L.PEND_CLOSE
        k.gap_check_nb(st, p, open_, bar, trades, recs, cnt)
        n_gap = int(cnt[1])
        k.execute_pending_nb(st, pe, pend, open_, bar, trades, recs, cnt)
        n_exec = int(cnt[1])
        k.intrabar_check_nb(st, p, open_, high, low, bar, trades, recs, cnt)
        fills = []
        now = time_module.monotonic()
        if not cnt[1] and not queued and now - self._saved_at < QUIET_SAVE_S:
            # nothing happened: the books are unchanged but for the mark; replaying this
            # bar after a crash gives the same (empty) result, so it is saved lazily
            self.last_bar, self.last_time, self.last_close = bar, time, float(close)
            return fills
        self.con.execute("BEGIN IMMEDIATE")
        try:
            for j in range(int(cnt[1])):
                reason = int(recs[j, L.O_REASON])
                coid = None
                if n_gap <= j < n_exec:
                    coid = (entry if reason < 0 else exit_)["client_order_id"]
                fills.append(self._record_fill(recs[j], coid, bar, time,
                                               _purpose(entry if reason < 0 else exit_)))
            for row in queued:
                done = [f for f in fills if f.client_order_id == row["client_order_id"]]
                if done:
                    f = done[0]
                    self.con.execute("UPDATE orders SET status = 'filled', filled_qty = ?, "
                                     "avg_price = ?, fee = ? WHERE client_order_id = ?",
                                     (f.qty, f.price, f.fee, row["client_order_id"]))
                else:
                    why = ("nothing to close: the position was already closed"
                           if json.loads(row["request"])["kind"] == "exit" else
                           "not placed: the budget buys nothing or less than the minimum "
                           "notional")
                    self.con.execute("UPDATE orders SET status = 'cancelled', reason = ? "
                                     "WHERE client_order_id = ?", (why, row["client_order_id"]))
            self.last_bar, self.last_time, self.last_close = bar, time, float(close)
            self._save_state()
            self.con.execute("COMMIT")
            self._has_queued = False
            self._saved_at = now
        except BaseException:
            self.con.execute("ROLLBACK")
            self._reload()
            raise
        return fills

    def close(self) -> None:
        try:
            self.con.close()
        except Exception:  # noqa: BLE001 - closing twice is fine
            pass

    # -- internals ------------------------------------------------------------------------

    def _reload(self) -> None:
        """Back to the committed books after a failed transaction."""
        row = self.con.execute("SELECT * FROM accounts WHERE account = ?",
                               (self.account_id,)).fetchone()
        self.st = _load_state(row["state"])
        self.last_bar = int(row["last_bar"])
        self.last_time, self.last_close = row["last_time"], row["last_close"]
        self._n_fills = self.con.execute("SELECT COUNT(*) FROM fills WHERE account = ?",
                                         (self.account_id,)).fetchone()[0]
        self._has_queued = True

    def _fill_now(self, order: OrderRequest) -> None:
        k, st, p = self._k, self.st, self.p
        if self.last_close is None:
            self.con.execute("UPDATE orders SET status = 'rejected', reason = 'no price yet: "
                             "the account has seen no bar' WHERE client_order_id = ?",
                             (order.client_order_id,))
            return
        trades = np.zeros((2, L.N_TRADE_COLS))
        recs = np.zeros((4, L.N_ORDER_COLS))
        cnt = np.zeros(2, dtype=np.int64)
        qty = st[L.S_QTY]
        if order.kind == "exit":
            if qty != 0.0 and (qty > 0) == (order.side < 0):
                side = 1.0 if qty > 0 else -1.0
                k.close_position_nb(st, p, self.last_close * (1.0 - side * p[L.P_SLIPPAGE]),
                                    self.last_bar, L.R_SIGNAL, trades, recs, cnt)
        elif qty == 0.0:
            pe = p
            if order.qty is not None:
                pe = p.copy()
                pe[L.P_SIZE_TYPE] = SIZE_CODE[SizeType.QUANTITY]
                pe[L.P_SIZE] = float(order.qty)
            k.open_position_nb(st, pe, float(order.side), self.last_close, self.last_bar,
                               recs, cnt)
        if cnt[1] == 0:
            self.con.execute("UPDATE orders SET status = 'cancelled', reason = ? WHERE "
                             "client_order_id = ?", ("nothing to do for this order",
                                                     order.client_order_id))
        else:
            f = self._record_fill(recs[0], order.client_order_id, self.last_bar,
                                  self.last_time, order.purpose)
            self.con.execute("UPDATE orders SET status = 'filled', filled_qty = ?, avg_price = "
                             "?, fee = ? WHERE client_order_id = ?",
                             (f.qty, f.price, f.fee, order.client_order_id))
        self._save_state()

    def _record_fill(self, rec, coid, bar, time_, purpose) -> Fill:
        k = self._k
        seq = self._n_fills
        reason = int(rec[L.O_REASON])
        name = "entry" if reason < 0 else _REASONS[reason]
        if name == "signal" and purpose == "flatten":
            name = "flatten"
        fill = Fill(fill_id=f"{self.account_id}:{seq}", client_order_id=coid,
                    symbol=self.symbol, bar=int(bar), time=str(time_),
                    side=int(rec[L.O_SIDE]), qty=float(rec[L.O_QTY]),
                    price=float(rec[L.O_PRICE]), fee=float(rec[L.O_FEE]), reason=name)
        self.con.execute("INSERT INTO fills (account, seq, fill) VALUES (?, ?, ?)",
                         (self.account_id, seq, json.dumps(fill.to_dict())))
        self._n_fills += 1
        return fill

    def _save_state(self) -> None:
        self.con.execute("UPDATE accounts SET state = ?, last_bar = ?, last_time = ?, "
                         "last_close = ? WHERE account = ?",
                         (_dump_state(self.st), self.last_bar, self.last_time, self.last_close,
                          self.account_id))


def connect_venue(path: Path):
    """Open the venue file (0600, WAL) and create its tables."""
    return connect(path, {0: _VENUE_SCHEMA}, VENUE_SCHEMA_VERSION)


def _purpose(row) -> str:
    if row is None:
        return "signal"
    return json.loads(row["request"]).get("purpose", "signal")


def _status(row) -> OrderStatus:
    req = json.loads(row["request"])
    return OrderStatus(client_order_id=row["client_order_id"],
                       broker_order_id=row["broker_order_id"], status=row["status"],
                       side=int(req["side"]), kind=req["kind"], qty=req["qty"],
                       filled_qty=float(row["filled_qty"]), avg_price=row["avg_price"],
                       fee=float(row["fee"]), reason=row["reason"])


def _dump_state(st: np.ndarray) -> str:
    return json.dumps([None if math.isnan(x) else float(x) for x in st])


def _load_state(text: str) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in json.loads(text)], dtype=np.float64)


def _opt(x: float) -> float | None:
    return None if x != x else float(x)
