"""One bot: on each closed bar, let the broker apply it, record everything in the
ledger, compute the strategy's signals on the whole history, and send the orders that
the kernel's ``pending_action_nb`` asks for, each checked by the risk manager and
written to the ledger as an intent before the broker is called.

Bar steps (``Bot.on_bar``), each a crash point (``lab.live.crash``):

1. ``broker.process_bar``: fills of the orders queued for this open, stops, targets,
   liquidation (the broker commits them in its own books);
2. one ledger transaction: new fills, order states, position, cash and equity;
3. risk mark (daily loss, drawdown), end-of-day flattening;
4. signals at this close -> pending action -> exit / entry ``OrderRequest`` with
   deterministic client order ids ``<uid>-<bar>-x`` / ``-e`` (``-f<n>`` for flattening);
   each: risk check -> intent (ledger) -> ``broker.submit`` -> acknowledgement (ledger);
5. ``bars_seen`` and the heartbeat.

A restart redoes the first bar not finished: the broker ignores a bar it has processed,
fills come from ``broker.fills(after=n)``, and an intent already in the ledger is
looked up at the broker by its client order id before it is ever sent.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from lab.core import registry
from lab.costs.kernel_params import DIRECTION_CODE, params_vector
from lab.kernels import layout as L
from lab.live.broker import OPENING_REASONS, BrokerError, DuplicateOrderError, OrderRequest
from lab.live.config import BotConfig, RiskLimits
from lab.live.crash import crash_point
from lab.live.ledger import Ledger
from lab.live import account as account_risk
from lab.live.risk import AccountView, OrderCheck, RiskManager, RiskState

_COLS = ("open", "high", "low", "close", "volume")
#: Shortest interval between two heartbeat writes, seconds (a replay at full speed
#: would otherwise write one per bar).
HEARTBEAT_S = 0.5
_COLUMNS = pd.Index(_COLS, dtype=object)      # built once: a str Index per bar costs 0.1 ms


class History:
    """Growing OHLCV arrays (doubling capacity); ``frame()`` is a DataFrame over them."""

    def __init__(self, capacity: int = 1024):
        self.n = 0
        self.ts = np.empty(capacity, dtype=np.int64)
        self.v = np.empty((5, capacity), dtype=np.float64)

    def append(self, ts: pd.Timestamp, o, h, l, c, vol) -> None:
        if self.n == self.ts.shape[0]:
            self.ts = np.concatenate([self.ts, np.empty_like(self.ts)])
            self.v = np.concatenate([self.v, np.empty_like(self.v)], axis=1)
        self.ts[self.n] = pd.Timestamp(ts).value
        self.v[:, self.n] = (o, h, l, c, vol)
        self.n += 1

    def extend(self, frame: pd.DataFrame) -> None:
        for t, row in zip(frame.index, frame[list(_COLS)].to_numpy(dtype=np.float64)):
            self.append(t, *row)

    def frame(self) -> pd.DataFrame:
        """The bars so far as an OHLCV DataFrame (UTC ``ts_event`` index) over the arrays
        (no copy: later appends write past its rows)."""
        n = self.n
        return pd.DataFrame(self.v[:, :n].T, columns=_COLUMNS, index=_utc_index(self.ts[:n]),
                            copy=False)


def _utc_index(ns: np.ndarray) -> pd.DatetimeIndex:
    """A UTC ``DatetimeIndex`` named ``ts_event`` over int64 nanoseconds, without a copy.

    The public constructor plus ``tz_localize`` costs ~80 us per call, a tenth of a
    replayed bar; pandas' own ``_simple_new`` constructors (what its slicing uses) cost
    ~5 us. The public path is used when they are missing (another pandas).
    """
    try:
        arr = _DTA._simple_new(ns.view("M8[ns]"), dtype=_UTC)
        return pd.DatetimeIndex._simple_new(arr, name="ts_event")
    except (AttributeError, TypeError):            # pragma: no cover - other pandas
        return pd.DatetimeIndex(ns.view("M8[ns]"), name="ts_event").tz_localize("UTC")


try:                                               # see _utc_index
    from pandas.core.arrays import DatetimeArray as _DTA
except ImportError:                                # pragma: no cover - other pandas
    _DTA = None
_UTC = pd.DatetimeTZDtype(tz="UTC")


class Bot:
    """A bot bound to its ledger, broker and feed.

    Parameters
    ----------
    ledger : Ledger
    config : BotConfig
        As stored in the ledger (frozen).
    broker : Broker
    feed : ReplayFeed or CcxtFeed
    pid : int
        This process's id (heartbeats).
    """

    def __init__(self, ledger: Ledger, config: BotConfig, broker, feed, pid: int = 0):
        from lab.kernels import engine as k

        self._k = k
        self.ledger = ledger
        self.config = config
        self.name = config.name
        self.broker = broker
        self.feed = feed
        self.pid = pid
        row = ledger.bot(self.name)
        self.uid = row["uid"]
        self.spec = registry.get(config.strategy)
        self.params = self.spec.params_cls.from_dict(dict(config.params))
        self.p = params_vector(config.execution)
        self.direction = DIRECTION_CODE[config.execution.direction]
        self.risk = RiskManager(config.risk, row["risk_state"],
                                account_view=self._account_view)
        self.use_account_limits(ledger.account_limits())
        self.risk.reason = row["risk_reason"]
        self.paused = row["state"] == "paused"
        self.hist = History()
        self.first_bar = 0
        self.bars_seen = int(row["bars_seen"])
        self.last_time: pd.Timestamp | None = None
        self._n_fills = ledger.fill_count(self.name)
        self._pos_dirty = True
        self._beat_at = 0.0
        self._open = {o["client_order_id"] for o in ledger.orders(self.name, "submitted")}

    def use_account_limits(self, limits: dict) -> None:
        """Check orders against the account's limits ``limits`` (``RiskLimits.to_dict()``,
        {} = none) from now on; the runner calls this when they change in the ledger."""
        acc = RiskLimits.from_dict(limits) if limits else None
        self.risk.account_limits = acc
        #: the account's drawdown limit (its peak is raised after each bar) and whether
        #: entries carry a quantity decided at the close (limits on the order's size)
        self._account_dd = acc.max_drawdown if acc is not None else None
        self._sized = self.config.risk.sizes_orders or (acc is not None and acc.sizes_orders)

    # -- start-up -------------------------------------------------------------------------

    def rebuild(self) -> None:
        """History = warm-up + the bars recorded in the ledger (up to ``bars_seen``)."""
        warm = self.feed.warmup()
        self.hist.extend(warm)
        self.first_bar = len(warm)
        rows = [r for r in self.ledger.equity_rows(self.name)
                if r["bar"] < self.first_bar + self.bars_seen]
        for r in rows:
            self.hist.append(pd.Timestamp(r["time"]), r["open"], r["high"], r["low"],
                             r["close"], r["volume"])
            self.risk.mark(r["equity"], r["time"][:10])
            self.last_time = pd.Timestamp(r["time"])
        if self.risk.state is not RiskState(self.ledger.bot(self.name)["risk_state"]):
            self.risk.state = RiskState(self.ledger.bot(self.name)["risk_state"])

    def reconcile(self) -> str | None:
        """Bring the ledger in line with the broker before trading; returns None when
        consistent, else why not (the bot then stays HALTED).

        Fills the broker has and the ledger lacks are stored; open orders are
        refreshed; intents without acknowledgement are looked up by client order id
        (found: acknowledged; not found: left for ``on_bar`` to send); the position
        and cash implied by the ledger's fills must equal the broker's.
        """
        k = self._k
        with self.ledger.transaction():
            self._sync_fills()
            self._sync_orders()
            for intent in self.ledger.intents(self.name, status="new"):
                status = self.broker.order(intent["client_order_id"])
                if status is not None:
                    self.ledger.set_intent(intent["client_order_id"], "sent",
                                           "acknowledged at reconciliation")
                    self.ledger.upsert_order(self.name, intent["bar"], status.to_dict(),
                                             intent["request"].get("purpose", "signal"))
        fills = self.ledger.fills(self.name)
        qty, cash = 0.0, float(self.config.execution.cash)
        entry = None
        mult = self.p[L.P_MULT]
        for f in fills:
            cash -= f["fee"]
            if f["reason"] in OPENING_REASONS:
                qty = f["side"] * f["qty"]
                entry = f["price"]
            else:
                if entry is not None:     # an exit without an entry: cash will differ
                    cash += qty * mult * (f["price"] - entry)
                qty, entry = 0.0, None
        positions = self.broker.positions()
        broker_qty = positions[0].qty if positions else 0.0
        broker_cash = self.broker.account().cash
        problems = []
        unknown = list(getattr(self.broker, "unknown_orders", None) or [])
        if unknown:
            problems.append("orders at the broker the ledger does not know: "
                            + "; ".join(unknown) + " (adopt them, or cancel them at the "
                            "broker)")
        if abs(qty - broker_qty) > 1e-9 * max(1.0, abs(qty)):
            problems.append(f"ledger position {qty} != broker position {broker_qty}")
        if abs(cash - broker_cash) > 1e-6 * max(1.0, abs(cash)):
            problems.append(f"ledger cash {cash:.6f} != broker cash {broker_cash:.6f}")
        if problems:
            reason = ("reconciliation failed: " + "; ".join(problems)
                      + f" - adopt it (`python -m lab bot adopt {self.name}`) or flatten it "
                      f"(`python -m lab bot flatten {self.name}`)")
            repeated = self.risk.state == RiskState.HALTED and self.risk.reason == reason
            self.risk.halt(reason)
            if not repeated:        # the same difference again: one event, not one a bar
                self.ledger.update_bot(self.name, risk_state="HALTED", risk_reason=reason)
                self.ledger.event(self.name, "reconcile_failed", reason, ledger_qty=qty,
                                  broker_qty=broker_qty, ledger_cash=cash,
                                  broker_cash=broker_cash)
            return reason
        self.ledger.event(self.name, "reconciled", f"ledger matches broker: position {qty}, "
                          f"cash {cash:.2f}, {len(fills)} fills", position=qty, cash=cash)
        self._write_position(self.first_bar + self.bars_seen - 1)
        return None

    # -- per bar --------------------------------------------------------------------------

    def on_bar(self, bar) -> None:
        """Handle one closed bar ``(time, open, high, low, close, volume)``."""
        ts, o, h, l, c, v = bar
        i = self.hist.n
        iso = ts.isoformat()
        crash_point("bar_start", i)
        self.broker.process_bar(i, iso, o, h, l, c)
        crash_point("after_broker_bar", i)
        self.hist.append(ts, o, h, l, c, v)
        acct = self.broker.account()
        before = self.risk.state
        state = self.risk.mark(acct.equity, iso[:10])
        eod = self._eod_crossed(ts)
        plans = []
        if not eod and not self.paused and state is not RiskState.HALTED:
            plans = self._plan(i, c, acct.equity)
        self.bars_seen = i + 1 - self.first_bar
        self.last_time = ts
        quiet = not plans and not eod
        with self.ledger.transaction():
            n_before = self._n_fills
            self._sync_fills()
            self._sync_orders()
            if self._n_fills != n_before or self._pos_dirty:
                self._write_position(i)
                self._pos_dirty = False
            self.ledger.add_equity(self.name, i, iso, (o, h, l, c, v), acct.cash, self._qty(),
                                   acct.equity)
            if self._account_dd is not None:
                halt = account_risk.mark(self.ledger, self._account_dd)
                if halt is not None:
                    text = halt.pop("message")
                    self.ledger.event(self.name, "account_risk_state", "account risk state "
                                      f"ACTIVE -> HALTED: {text}", **halt)
            if state is not before:
                self.ledger.event(self.name, "risk_state", f"risk state {before.value} -> "
                                  f"{state.value}: {self.risk.reason}", reason=self.risk.reason)
            if quiet:
                self._finish_bar(iso)
        crash_point("after_ledger_bar", i)
        if quiet:
            return
        if eod:
            self.flatten(i, "end-of-day flattening at " + str(self.config.risk.flatten_at_utc))
        for plan in plans:
            self._send(*plan)
        with self.ledger.transaction():
            self._finish_bar(iso)
        crash_point("bar_end", i)

    def _finish_bar(self, iso: str) -> None:
        self.ledger.update_bot(self.name, bars_seen=self.bars_seen, last_bar_time=iso,
                               risk_state=self.risk.state.value, risk_reason=self.risk.reason)
        now = time.monotonic()
        if now - self._beat_at >= HEARTBEAT_S:
            self.ledger.heartbeat(self.name, self.pid, self.bars_seen)
            self._beat_at = now

    def _plan(self, i: int, close: float, equity: float) -> list[tuple]:
        """Orders for the pending action of this close: ``(request, price, position,
        equity)`` tuples for ``_send``."""
        k = self._k
        sig = self.spec.signals(self.hist.frame(), self.params)
        qty = self._qty()
        pend = k.pending_action_nb(self.direction, qty, bool(sig.entries_long[-1]),
                                   bool(sig.exits_long[-1]), bool(sig.entries_short[-1]),
                                   bool(sig.exits_short[-1]))
        if pend == L.PEND_NONE:
            return []
        plans = []
        want = {L.PEND_LONG: 1, L.PEND_SHORT: -1}.get(pend, 0)
        if qty != 0.0 and (pend == L.PEND_CLOSE or want * qty < 0):
            side = -1 if qty > 0 else 1
            plans.append((OrderRequest(f"{self.uid}-{i}-x", self.config.symbol, side, "exit",
                                       abs(qty), "open", i), close, qty, equity))
        if want:
            size = None
            if self._sized:
                size = float(k._entry_qty_nb(self.p, equity,
                                             close * (1.0 + want * self.p[L.P_SLIPPAGE]),
                                             float(want)))
                if size <= 0:
                    return plans
            plans.append((OrderRequest(f"{self.uid}-{i}-e", self.config.symbol, want, "entry",
                                       size, "open", i), close,
                          0.0 if qty * want < 0 else qty, equity))
        return plans

    def _send(self, req: OrderRequest, price: float, position: float, equity: float) -> None:
        coid = req.client_order_id
        known = self.ledger.intent(coid)
        if known is not None:
            if known["status"] != "new":
                return
            status = self.broker.order(coid)
            if status is not None:
                self._ack(req, status)
                return
        else:
            k = self._k
            est = req.qty
            if est is None:
                est = float(k._entry_qty_nb(self.p, max(equity, 0.0),
                                            price * (1.0 + req.side * self.p[L.P_SLIPPAGE]),
                                            float(req.side)))
            decision = self.risk.check(OrderCheck(req.side, est, price, position, equity,
                                                  self.p[L.P_MULT], req.kind == "exit"))
            if not decision.accepted:
                with self.ledger.transaction():
                    self.ledger.add_intent(self.name, req.to_dict(), "refused",
                                           f"{decision.rule}: {decision.message}")
                    self.ledger.event(self.name, "risk_refusal",
                                      f"{req.kind} {'buy' if req.side > 0 else 'sell'} refused "
                                      f"by {decision.rule}: {decision.message}",
                                      rule=decision.rule, client_order_id=coid,
                                      **decision.numbers)
                return
            self.ledger.add_intent(self.name, req.to_dict())
        crash_point("after_intent", req.bar)
        try:
            status = self.broker.submit(req)
        except DuplicateOrderError:
            status = self.broker.order(coid)
        except BrokerError as exc:
            # the fate of the order is unknown: keep the intent "new" so the next start
            # looks it up before anything is sent again
            self.ledger.event(self.name, "error", f"submit {coid} failed: {exc}",
                              client_order_id=coid)
            return
        crash_point("after_submit", req.bar)
        self._ack(req, status)

    def _ack(self, req: OrderRequest, status) -> None:
        with self.ledger.transaction():
            self.ledger.set_intent(req.client_order_id, "sent")
            self.ledger.upsert_order(self.name, req.bar, status.to_dict(), req.purpose)
            if status.status == "submitted":
                self._open.add(req.client_order_id)
            if status.status == "filled":
                self._sync_fills()

    # -- commands -------------------------------------------------------------------------

    def flatten(self, i: int, why: str) -> None:
        """Cancel open orders and close the position at once (``timing="now"``); a
        flattening passes the risk manager in every state."""
        for o in self.ledger.orders(self.name, status="submitted"):
            status = self.broker.cancel(o["client_order_id"])
            self.ledger.upsert_order(self.name, o["bar"], status.to_dict(), o["purpose"])
            self._open.discard(o["client_order_id"])
        qty = self._qty()
        self.ledger.event(self.name, "flatten", why, position=qty)
        if qty == 0.0:
            return
        n = sum(1 for x in self.ledger.intents(self.name)
                if x["client_order_id"].startswith(f"{self.uid}-{i}-f"))
        req = OrderRequest(f"{self.uid}-{i}-f{n}", self.config.symbol, -1 if qty > 0 else 1,
                           "exit", abs(qty), "now", i, "flatten")
        self._send(req, self.hist.v[3, self.hist.n - 1] if self.hist.n else 0.0, qty,
                   self.broker.account().equity)
        with self.ledger.transaction():
            self._sync_fills()
            acct = self._write_position(i)
            rows = self.ledger.equity_rows(self.name, last=1)
            if rows and rows[-1]["bar"] == i:
                r = rows[-1]
                self.ledger.add_equity(self.name, i, r["time"], (r["open"], r["high"],
                                       r["low"], r["close"], r["volume"]), acct.cash,
                                       self._qty(), acct.equity)

    # -- helpers --------------------------------------------------------------------------

    def _account_view(self) -> AccountView:
        return account_risk.view(self.ledger, self.name, self.config.symbol,
                                 time.time() - 60.0)

    def _qty(self) -> float:
        pos = self.broker.positions()
        return float(pos[0].qty) if pos else 0.0

    def _sync_fills(self) -> None:
        new = self.broker.fills(after=self._n_fills)
        if not new:
            return
        for f in new:
            self.ledger.add_fill(self.name, f.to_dict())
        self._n_fills = self.ledger.fill_count(self.name)

    def _sync_orders(self) -> None:
        if not self._open:
            return
        for o in self.ledger.orders(self.name, status="submitted"):
            status = self.broker.order(o["client_order_id"])
            if status is not None and status.status != "submitted":
                self.ledger.upsert_order(self.name, o["bar"], status.to_dict(), o["purpose"])
                self._open.discard(o["client_order_id"])

    def _write_position(self, i: int):
        pos = self.broker.positions()
        self.ledger.set_position(self.name, max(i, -1), pos[0].to_dict() if pos else None)
        return self.broker.account()

    def _eod_crossed(self, ts: pd.Timestamp) -> bool:
        at = self.config.risk.flatten_at_utc
        if at is None or self.last_time is None:
            return False
        hh, mm = (int(x) for x in at.split(":"))
        cut = ts.normalize() + pd.Timedelta(hours=hh, minutes=mm)
        return ts >= cut and self.last_time < cut
