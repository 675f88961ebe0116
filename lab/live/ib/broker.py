"""``IBBroker``: the ``Broker`` protocol (``lab.live.broker``) at Interactive Brokers.

- Entries and exits are market orders. An entry with a stop-loss / take-profit in the
  bot's ``ExecutionConfig`` goes as an IB bracket: the market parent, a ``LMT`` target
  and a ``STP`` stop as its children in one OCA group (``ocaType`` 1: a fill of one
  cancels the other), ``GTC``, so they live at IB while the bot is down. Levels are
  fractions of the entry price as in every engine: placed from the last close, then
  moved to the actual fill price once the parent has filled.
- Every order carries the client order id in ``orderRef`` (children: ``<id>.sl``,
  ``<id>.tp``). It is journaled (``journal.Journal``) before ``placeOrder``; an order
  whose acknowledgement did not arrive is looked up at IB by ``orderRef`` (open orders,
  completed orders, executions) and never resent while IB knows it.
- Start and every reconnect: executions since the last journaled one, completed and
  open orders are read; fills that happened while the bot was away are journaled;
  orders on the bot's contract that are not the bot's are listed in ``unknown_orders``
  (the bot halts on them, as on a position its ledger does not know). Until the bot
  has reconciled (``mark_reconciled``) nothing is sent; nor between IB's 1100 and
  1101/1102.
- Commissions are IB's (commission reports), journaled beside the model's estimate;
  each fill also carries the price the model gives it (``cost_model``): the ledger
  shows both, so cost drift and slippage are visible (``fee_comparison``).
- A position at IB that the bot's books do not explain, and orders on its contract that
  are not the bot's, can be adopted on the user's request (``adopt``, see
  ``lab.live.ib.adoption``): the bot then owns them.
- Orders to a live account are refused unless live trading is switched on and the
  account id was typed as confirmation (``settings.check_live_allowed``).
"""

from __future__ import annotations

import math
import time

from lab.live.broker import (Account, BrokerError, DuplicateOrderError, Fill, OrderRequest,
                             OrderStatus, Position)
from lab.live.ib.contracts import qualify
from lab.live.ib.cost_model import model_fee
from lab.live.ib.executions import order_fill
from lab.live.ib.orders import (bracket_levels, bracket_levels_of, build_orders,
                                describe_order)
from lab.live.ib.settings import IBError, check_live_allowed, mask_account
from lab.live.ib.vocabulary import EXEC_SIDE, our_status


class IBBroker:
    """See the module docstring.

    Parameters
    ----------
    conn : IBConnection
    spec : ContractSpec
    uid : str
        The bot's uid: client order ids start with ``<uid>-``.
    symbol : str
        The bot's symbol (reported in fills and positions).
    execution : ExecutionConfig
        Levels (sl, tp), sizing, the commission model for the estimate, multiplier.
    journal : Journal
    live, live_enabled : bool
        Bot configured for a live account; the live-trading switch.
    confirm : str or None
        The typed account id.
    """

    simulated = False

    def __init__(self, conn, spec, *, uid: str, symbol: str, execution, journal,
                 live: bool = False, live_enabled: bool = False, confirm: str | None = None,
                 name: str = ""):
        self.conn = conn
        self.spec = spec
        self.uid = uid
        self.symbol = symbol
        self.execution = execution
        self.journal = journal
        self.live, self.live_enabled, self.confirm = live, live_enabled, confirm
        self.contract = None
        self.min_tick = 0.0
        self._reconcile_pending = True
        self.unknown_orders: list[str] = []
        self.unknown_trades: list = []
        self._bar = -1
        self._mark: float | None = None
        self.name = name or uid
        self._last_status: dict | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "IBBroker":
        """Connect, check the live switch, qualify the contract, catch up with IB.

        Raises
        ------
        BrokerError
            No gateway (host, port, what to start), unknown contract, live refused.
        """
        try:
            if not self.conn.connected:
                self.conn.connect()
            check_live_allowed(self.conn.account, live=self.live,
                               live_enabled=self.live_enabled, confirm=self.confirm)
            self.contract = qualify(self.conn, self.spec)
            details = self.conn.request(self.conn.ib.reqContractDetailsAsync(self.contract),
                                        "contract details")
            self.min_tick = float(details[0].minTick) if details else 0.0
            ib = self.conn.ib
            ib.execDetailsEvent += self._on_exec
            ib.commissionReportEvent += self._on_commission
            self.sync()
        except IBError as exc:
            self.conn.disconnect()          # a refused start leaves no connection behind
            raise BrokerError(str(exc)) from None
        except BaseException:
            self.conn.disconnect()
            raise
        return self

    def close(self) -> None:
        self.conn.disconnect()

    def mark_reconciled(self) -> None:
        """The bot compared its ledger with ``positions``/``fills``/``order``: trade on."""
        self._reconcile_pending = False
        self.conn.mark_reconciled()

    @property
    def reconcile_pending(self) -> bool:
        """True after a (re)connect until the bot has reconciled (``mark_reconciled``),
        and while IB's position differs from the bot's books for no order of the bot's
        (``adoption.unexplained_position``)."""
        from lab.live.ib.adoption import unexplained_position

        return (self._reconcile_pending or self.conn.needs_reconcile
                or not self.conn.connected or bool(unexplained_position(self)))

    def _catch_up(self) -> None:
        """Before answering the bot: reconnect and read what happened while away."""
        if self.conn.needs_reconcile or not self.conn.connected:
            self.tick()

    # -- catching up ---------------------------------------------------------------------
    def sync(self) -> None:
        """Read executions since the last journaled one, completed and open orders;
        journal what happened while away; list orders that are not the bot's."""
        from ib_async import ExecutionFilter

        ib = self.conn.ib
        last = self.journal.last_execution_time()
        since = ""
        if last:
            since = last[:19].replace("-", "").replace("T", "-")
        for f in self.conn.request(ib.reqExecutionsAsync(ExecutionFilter(time=since)),
                                   "executions since the last fill"):
            if self._ours(f.execution.orderRef):
                self._record(f.execution, f.commissionReport.commission
                             if f.commissionReport.execId else None)
        self.conn.request(ib.reqCompletedOrdersAsync(False), "completed orders")
        opened = self.conn.request(ib.reqAllOpenOrdersAsync(), "open orders")
        adopted = self.journal.adopted_perm_ids()
        self.unknown_trades = [t for t in opened if t.contract.conId == self.contract.conId
                               and not self._ours(t.order.orderRef) and not t.isDone()
                               and t.order.permId not in adopted]
        self.unknown_orders = sorted(describe_order(t) for t in self.unknown_trades)
        for ref in {e["order_ref"] for e in self.journal.executions()}:
            self._complete(ref)
        self._reconcile_pending = True
        self.conn.needs_reconcile = False

    def tick(self) -> None:
        """Process IB's messages; reconnect (and catch up) if the socket dropped; health
        check every 30 s.

        Raises
        ------
        BrokerError
            IB cannot be reached after the retries.
        """
        try:
            if self.conn.ensure_connected():
                self.sync()
            self.conn.pump(0)
            if self.conn.needs_reconcile and self.conn.connectivity == "ok":
                self.sync()
            self.conn.health_check()
        except IBError as exc:
            self._heartbeat()
            raise BrokerError(str(exc)) from None
        self._heartbeat()

    def _heartbeat(self) -> None:
        """Record the gateway status for the Live page when it changed."""
        status = self.conn.status().to_dict()
        if status != self._last_status:
            self.journal.set_status(self.name, status)
            self._last_status = status

    # -- Broker protocol -------------------------------------------------------------
    def submit(self, order: OrderRequest) -> OrderStatus:
        coid = order.client_order_id
        self.tick()
        if self._trade(coid) is not None or self.journal.executions(coid):
            raise DuplicateOrderError(f"order {coid} is already known at IB; look it up "
                                      "instead of sending it again")
        if not self.conn.trading_allowed:
            raise BrokerError("IB reports connectivity lost (1100): nothing is sent until "
                              "it is restored (1101/1102) and the bot has reconciled")
        if self.reconcile_pending and order.kind == "entry":
            raise BrokerError("the connection to IB was (re)established, or IB's position "
                              "changed without an order of the bot: the bot reconciles "
                              "before it sends orders")
        try:
            check_live_allowed(self.conn.account, live=self.live,
                               live_enabled=self.live_enabled, confirm=self.confirm)
        except IBError as exc:
            raise BrokerError(str(exc)) from None
        qty = float(order.qty) if order.qty is not None else self._size(order)
        if not qty > 0:
            self._journal_order(coid, order, 0.0)
            return OrderStatus(coid, "", "cancelled", order.side, order.kind, order.qty,
                               reason="the sizing rule buys nothing at the last close")
        if order.kind == "exit":
            self._cancel_children()
            pos = self._position_qty()
            if pos == 0 or math.copysign(1, pos) == order.side:
                self._journal_order(coid, order, 0.0)
                return OrderStatus(coid, "", "cancelled", order.side, order.kind, order.qty,
                                   reason="nothing to close")
            qty = abs(pos)
        orders = self._orders(order, qty)
        self._journal_order(coid, order, qty, bracket_levels_of(orders))
        for o in orders:
            self.conn.ib.placeOrder(self.contract, o)
        parent = self._trade(coid)
        deadline = time.monotonic() + self.conn.settings.timeout_s
        while parent.orderStatus.status in ("PendingSubmit", "ApiPending") \
                and self.conn.connected:
            if time.monotonic() > deadline:
                raise BrokerError(f"IB did not acknowledge order {coid} within "
                                  f"{self.conn.settings.timeout_s:g} s; its fate is unknown: "
                                  "it is looked up by orderRef, never resent blindly")
            self._pump(0.05)
        self._pump(0.1)
        if not self.conn.connected:
            raise BrokerError(f"the connection to IB dropped after order {coid} was sent; "
                              "it is looked up by orderRef after the reconnect")
        if len(orders) > 1 and parent.orderStatus.status == "Filled":
            self._move_levels(coid, orders)
        return self._status(coid)

    def order(self, client_order_id: str) -> OrderStatus | None:
        try:
            self.tick()
        except BrokerError:
            raise
        return self._status(client_order_id)

    def cancel(self, client_order_id: str) -> OrderStatus:
        trade = self._trade(client_order_id)
        if trade is not None and not trade.isDone():
            self.conn.ib.cancelOrder(trade.order)
            for child in self._children(client_order_id):
                self.conn.ib.cancelOrder(child.order)
            deadline = time.monotonic() + self.conn.settings.timeout_s
            while not trade.isDone() and time.monotonic() < deadline:
                self._pump(0.05)
        status = self._status(client_order_id)
        if status is None:
            raise BrokerError(f"IB knows no order {client_order_id}")
        return status

    def open_orders(self) -> list[OrderStatus]:
        self._catch_up()
        out = []
        for t in self.conn.ib.trades():
            ref = t.order.orderRef
            if self._ours(ref) and "." not in ref and not t.isDone():
                out.append(self._status(ref))
        return out

    def positions(self) -> list[Position]:
        self._catch_up()
        qty, avg = self._position()
        if not qty:
            return []
        stop = target = None
        for t in self.conn.ib.openTrades():
            ref = t.order.orderRef
            if self._ours(ref) and ref.endswith(".sl"):
                stop = t.order.auxPrice
            elif self._ours(ref) and ref.endswith(".tp"):
                target = t.order.lmtPrice
        return [Position(self.symbol, qty, avg, stop=stop, target=target)]

    def account(self) -> Account:
        """The bot's own money: its starting cash, realized PnL and IB's commissions of
        its fills (not the whole IB account's); equity marks the position at the last
        close."""
        cash, qty, entry = self.books()
        mult = float(self.execution.multiplier)
        mark = self._mark if self._mark is not None else entry
        return Account(cash, cash + qty * mult * (mark - entry) if qty else cash)

    def books(self) -> tuple[float, float, float]:
        """``(cash, signed qty, average entry price)`` implied by the journaled fills of
        the bot (adopted ones included): account currency, units, quote currency."""
        mult = float(self.execution.multiplier)
        cash, qty, entry = float(self.execution.cash), 0.0, 0.0
        for f in self.journal.fills():
            cash -= f["fee"]
            signed = f["side"] * f["qty"]
            if qty == 0 or math.copysign(1, qty) == math.copysign(1, signed):
                entry = (entry * abs(qty) + f["price"] * f["qty"]) / (abs(qty) + f["qty"])
                qty += signed
            else:
                closed = min(abs(qty), f["qty"])
                cash += math.copysign(closed, qty) * mult * (f["price"] - entry)
                qty += signed
                if abs(qty) < 1e-12:
                    qty, entry = 0.0, 0.0
        return cash, qty, entry

    def fills(self, after: int = 0) -> list[Fill]:
        self._catch_up()
        keys = Fill.__dataclass_fields__
        return [Fill(**{k: v for k, v in f.items() if k in keys})
                for f in self.journal.fills(after)]

    def process_bar(self, bar, time_, open_, high, low, close) -> list[Fill]:
        """Real broker: remember the bar and its close as the mark; process IB's messages."""
        self._bar = int(bar)
        self._mark = float(close)
        self.tick()
        return []

    def fee_comparison(self) -> list[dict]:
        """Per fill: IB's commission and the model's estimate (account currency), the
        fill price and the model's (quote currency)."""
        return [{"fill_id": f["fill_id"], "fee": f["fee"], "fee_model": f["fee_model"],
                 "price": f["price"], "price_model": f.get("price_model")}
                for f in self.journal.fills()]

    def adopt(self, bar: int) -> dict:
        """Take over what IB holds beyond the bot's books (``adoption.adopt``)."""
        from lab.live.ib.adoption import adopt

        return adopt(self, bar)

    def unknown_position(self) -> float:
        """IB's position on the contract minus the bot's books, units."""
        from lab.live.ib.adoption import unknown_position

        return unknown_position(self)

    # -- IB events -------------------------------------------------------------------------
    def _on_exec(self, trade, fill) -> None:
        if self._ours(fill.execution.orderRef):
            self._record(fill.execution, None)

    def _on_commission(self, trade, fill, report) -> None:
        ref = fill.execution.orderRef
        if self._ours(ref):
            self._record(fill.execution, report.commission)
            self._complete(ref)

    def _record(self, ex, commission) -> None:
        model = model_fee(self.execution, ex.shares, ex.price)
        self.journal.add_execution(ex.execId, ex.orderRef, ex.permId, ex.time.isoformat(),
                                   EXEC_SIDE[ex.side], ex.shares, ex.price, commission, model)

    def _complete(self, ref: str) -> None:
        """Journal one fill for order ``ref`` once it is done and its commissions are in."""
        if self.journal.has_fill(ref):
            return
        execs = self.journal.executions(ref)
        if not execs or any(e["commission"] is None for e in execs):
            return
        base = ref.rsplit(".", 1)[0] if ref.endswith((".sl", ".tp")) else ref
        fill = order_fill(ref, execs, self.journal.order(base), self._trade(ref),
                          self.symbol, self._bar + 1, self.execution)
        if fill is not None:
            self.journal.add_fill(ref, fill.to_dict(), fill.fee_model)

    # -- helpers -----------------------------------------------------------------------
    def _ours(self, ref: str) -> bool:
        return bool(ref) and ref.startswith(self.uid + "-")

    def _pump(self, seconds: float) -> None:
        try:
            self.conn.pump(seconds)
        except IBError as exc:
            raise BrokerError(str(exc)) from None

    def _trade(self, ref: str):
        found = [t for t in self.conn.ib.trades() if t.order.orderRef == ref]
        live = [t for t in found if not t.isDone()]
        return (live or found or [None])[-1]

    def _children(self, ref: str) -> list:
        return [t for t in self.conn.ib.openTrades()
                if t.order.orderRef in (ref + ".sl", ref + ".tp")]

    def _cancel_children(self) -> None:
        kids = [t for t in self.conn.ib.openTrades() if self._ours(t.order.orderRef)
                and t.order.orderRef.endswith((".sl", ".tp"))]
        for t in kids:
            self.conn.ib.cancelOrder(t.order)
        deadline = time.monotonic() + self.conn.settings.timeout_s
        while any(not t.isDone() for t in kids) and time.monotonic() < deadline:
            self._pump(0.05)

    def _position(self) -> tuple[float, float]:
        mult = float(self.contract.multiplier or 1) if self.contract else 1.0
        for p in self.conn.ib.positions(self.conn.account):
            if p.contract.conId == self.contract.conId and p.position:
                return float(p.position), float(p.avgCost) / mult
        return 0.0, 0.0

    def _position_qty(self) -> float:
        return self._position()[0]

    def _journal_order(self, coid: str, order: OrderRequest, qty: float,
                       levels: tuple[float | None, float | None] = (None, None)) -> None:
        """Journal the order before it is placed, with the model's reference: the last
        close and the bracket's stop / target levels."""
        request = dict(order.to_dict(), sent_qty=qty, ref_price=self._mark,
                       stop=levels[0], target=levels[1])
        if self.journal.order(coid) is None:
            self.journal.add_order(coid, request)

    def _orders(self, req: OrderRequest, qty: float) -> list:
        stop = target = None
        if req.kind == "entry" and self._mark is not None:
            stop, target = bracket_levels(self.execution, req.side, self._mark, self.min_tick)
        return build_orders(self.conn.ib, req, qty, self.conn.account, stop, target)

    def _move_levels(self, coid: str, orders: list) -> None:
        """Re-anchor the stop and target on the parent's actual fill price."""
        parent = self._trade(coid)
        if parent is None:
            return
        side = 1 if parent.order.action == "BUY" else -1
        stop, target = bracket_levels(self.execution, side, parent.orderStatus.avgFillPrice,
                                      self.min_tick)
        self.journal.update_request(coid, stop=stop, target=target)
        for o in orders[1:]:
            t = self._trade(o.orderRef)
            if t is None or t.isDone():
                continue
            if o.orderRef.endswith(".sl") and stop is not None and t.order.auxPrice != stop:
                t.order.auxPrice = stop
                self.conn.ib.placeOrder(self.contract, t.order)
            elif o.orderRef.endswith(".tp") and target is not None \
                    and t.order.lmtPrice != target:
                t.order.lmtPrice = target
                self.conn.ib.placeOrder(self.contract, t.order)
        self._pump(0.1)

    def _size(self, order: OrderRequest) -> float:
        """Units of an entry by the engines' own sizing rule (``_entry_qty_nb``) at the
        last close with slippage, on the bot's equity, rounded down to whole units for
        stocks and futures (IB's API orders are whole shares / contracts); exits close
        what is held."""
        if order.kind == "exit":
            return abs(self._position_qty())
        if self._mark is None:
            raise BrokerError("no bar has been seen yet: the entry cannot be sized")
        from lab.costs.kernel_params import params_vector
        from lab.kernels import engine as k

        p = params_vector(self.execution)
        price = self._mark * (1.0 + order.side * p[k.P_SLIPPAGE])
        qty = float(k._entry_qty_nb(p, max(self.account().equity, 0.0), price))
        if self.spec.sec_type in ("STK", "FUT"):
            qty = math.floor(qty + 1e-9)      # IB takes whole shares and contracts only
        return qty

    def _status(self, coid: str) -> OrderStatus | None:
        trade = self._trade(coid)
        execs = self.journal.executions(coid)
        rec = self.journal.order(coid)
        if trade is None and not execs:
            return None
        req = rec["request"] if rec else {}
        filled = sum(e["qty"] for e in execs)
        if trade is not None:
            status = our_status(trade.orderStatus.status)
            side = 1 if trade.order.action == "BUY" else -1
            perm = trade.order.permId or trade.orderStatus.permId
            qty = float(trade.order.totalQuantity)
        else:
            status = "filled" if filled >= (req.get("sent_qty") or filled) else "submitted"
            side, perm, qty = execs[0]["side"], execs[0]["perm_id"], req.get("sent_qty")
        reason = ""
        if trade is not None:
            errors = [e for e in trade.log if e.errorCode and e.errorCode not in (0,)]
            if errors and status == "cancelled":
                status, reason = "rejected", f"IB {errors[-1].errorCode}: {errors[-1].message}"
        avg = sum(e["qty"] * e["price"] for e in execs) / filled if filled else None
        fee = sum(e["commission"] or 0.0 for e in execs)
        return OrderStatus(coid, str(perm or ""), status, side, req.get("kind", "entry"),
                           qty, filled, avg, fee, reason)

    def describe(self) -> str:
        return f"IB {self.spec.describe()} at {self.conn.settings.where} account " \
               f"{mask_account(self.conn.account)}"
