"""The stand-in gateway's order book: orders, brackets with OCA children, fills, positions.

Pure state, no sockets: each call returns *notices* the server turns into messages
(``("order", rec)`` -> openOrder + orderStatus to the owner, ``("fill", execution)`` ->
execDetails + commissionReport, ``("position", account, inst)`` -> a position update).

Rules (as IB executes them):
- an order with ``transmit=0`` is held until an order of the same bracket is sent with
  ``transmit=1``; then the parent goes first and the children wait (PreSubmitted) until
  it is filled;
- a market order fills at the instrument's current (scripted) price; a limit order when
  the price reaches the limit, at the limit; a stop when the price reaches the stop, at
  the current price (so a gap fills through the stop);
- a fill of one order of an OCA group (or of a bracket's children) cancels the others;
- commissions follow IB's fixed schedule (ibkr.com "Commissions - Stocks, ETFs":
  USD 0.005 per share, minimum USD 1.00, maximum 1 % of trade value; "Futures": USD 0.85
  per contract; "Forex": 0.2 bps of value, minimum USD 2.00).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OrderRec:
    order_id: int
    client_id: int
    perm_id: int
    contract: object
    action: str
    total_quantity: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    oca_group: str
    oca_type: int
    account: str
    order_ref: str
    parent_id: int
    transmit: bool
    status: str = "PendingSubmit"
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    commission: float | None = None
    currency: str = "USD"
    completed_time: float | None = None
    completed_status: str = ""
    children: list = field(default_factory=list)

    @property
    def remaining(self) -> float:
        return self.total_quantity - self.filled

    @property
    def done(self) -> bool:
        return self.status in ("Filled", "Cancelled", "ApiCancelled", "Inactive")


@dataclass
class Execution:
    exec_id: str
    order_id: int
    perm_id: int
    client_id: int
    contract: object
    time: float
    account: str
    exchange: str
    side: str
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    order_ref: str
    commission: float
    currency: str
    realized_pnl: float | None


def commission_for(inst, shares: float, price: float) -> float:
    """IB fixed-rate commission of one fill, USD (see module docstring for the source)."""
    value = abs(shares) * price * inst.multiplier_value
    if inst.secType == "FUT":
        return round(0.85 * abs(shares), 2)
    if inst.secType == "CASH":
        return round(max(2.0, 0.00002 * value), 2)
    return round(min(max(1.0, 0.005 * abs(shares)), 0.01 * value), 2)


class Book:
    """Orders, executions and positions of every account at the stand-in."""

    def __init__(self, clock):
        self.clock = clock
        self.orders: dict[int, OrderRec] = {}          # perm_id -> order
        self.by_key: dict[tuple[int, int], OrderRec] = {}
        self.held: dict[tuple[int, int], OrderRec] = {}
        self.executions: list[Execution] = []
        self.positions: dict[tuple[str, int], list] = {}   # (account, conId) -> [qty, avg]
        self.instruments: dict[int, object] = {}
        self.prices: dict[int, float] = {}
        self.next_perm = 1_410_000_001
        self.next_exec = 1
        self.reject_next: str | None = None
        self.partial_next: float | None = None

    # -- placing ---------------------------------------------------------------------
    def place(self, rec: OrderRec) -> list:
        """Accept (or reject) an order; returns notices."""
        key = (rec.client_id, rec.order_id)
        old = self.by_key.get(key)
        if old is not None and not old.done:       # a modification: new prices/quantity
            old.total_quantity, old.lmt_price, old.aux_price = (
                rec.total_quantity, rec.lmt_price, rec.aux_price)
            return [("order", old)] + self.match(old.contract.conId)
        if self.reject_next is not None:
            reason, self.reject_next = self.reject_next, None
            rec.perm_id = self._perm()
            rec.status = "Inactive"
            self.by_key[key] = rec
            self.orders[rec.perm_id] = rec
            return [("error", rec.client_id, rec.order_id, 201,
                     f"Order rejected - reason:{reason}")]
        rec.perm_id = self._perm()
        self.by_key[key] = rec
        self.orders[rec.perm_id] = rec
        self.instruments[rec.contract.conId] = rec.contract
        if rec.parent_id:
            parent = self.by_key.get((rec.client_id, rec.parent_id))
            if parent is not None:
                parent.children.append(rec)
        if not rec.transmit:
            self.held[key] = rec
            return []
        group = [rec]
        root = self.by_key.get((rec.client_id, rec.parent_id)) if rec.parent_id else None
        if root is not None and not root.done:
            group = [root, *root.children]
        notices: list = []
        for o in group:
            self.held.pop((o.client_id, o.order_id), None)
            if o.status == "PendingSubmit":
                o.status = "PreSubmitted" if o.parent_id and not self._parent_filled(o) \
                    else "Submitted"
                notices.append(("order", o))
        return notices + self.match(rec.contract.conId)

    def cancel(self, client_id: int, order_id: int) -> list:
        o = self.by_key.get((client_id, order_id))
        if o is None or o.done:
            return [("error", client_id, order_id, 10148 if o else 135,
                     f"OrderId {order_id} that needs to be cancelled cannot be cancelled"
                     if o else f"Can't find order with id ={order_id}")]
        return self._finish(o, "Cancelled")

    # -- market ----------------------------------------------------------------------
    def set_price(self, con_id: int, price: float) -> list:
        self.prices[con_id] = price
        return self.match(con_id)

    def match(self, con_id: int) -> list:
        """Fill whatever the current price lets fill, until nothing changes."""
        notices: list = []
        price = self.prices.get(con_id)
        if price is None:
            return notices
        progressed = True
        while progressed:
            progressed = False
            for o in list(self.orders.values()):
                if o.done or o.contract.conId != con_id or o.status != "Submitted":
                    continue
                fill_at = self._fill_price(o, price)
                if fill_at is None:
                    continue
                qty = o.remaining
                if self.partial_next is not None and o.order_type == "MKT":
                    qty, self.partial_next = min(qty, self.partial_next), None
                    notices += self._fill(o, qty, fill_at)
                    return notices          # the rest fills on the next price
                notices += self._fill(o, qty, fill_at)
                progressed = True
        return notices

    def _fill_price(self, o: OrderRec, price: float) -> float | None:
        buy = o.action == "BUY"
        if o.order_type == "MKT":
            return price
        if o.order_type == "LMT":
            ok = price <= o.lmt_price if buy else price >= o.lmt_price
            return o.lmt_price if ok else None
        if o.order_type == "STP":
            ok = price >= o.aux_price if buy else price <= o.aux_price
            return price if ok else None
        return None

    def _fill(self, o: OrderRec, qty: float, price: float) -> list:
        inst = o.contract
        now = self.clock()
        signed = qty if o.action == "BUY" else -qty
        realized = self._apply_position(o.account, inst, signed, price)
        comm = commission_for(inst, qty, price)
        o.avg_fill_price = (o.avg_fill_price * o.filled + price * qty) / (o.filled + qty)
        o.filled += qty
        o.last_fill_price = price
        o.commission = (o.commission or 0.0) + comm
        x = Execution(
            exec_id=f"0000e0d5.{o.perm_id:08x}.{self.next_exec:02d}.01", order_id=o.order_id,
            perm_id=o.perm_id, client_id=o.client_id, contract=inst, time=now,
            account=o.account, exchange=inst.primaryExchange or inst.exchange,
            side="BOT" if o.action == "BUY" else "SLD", shares=qty, price=price,
            cum_qty=o.filled, avg_price=o.avg_fill_price, order_ref=o.order_ref,
            commission=comm, currency=inst.currency,
            realized_pnl=None if realized is None else realized - comm)
        self.next_exec += 1
        self.executions.append(x)
        notices: list = [("fill", x), ("position", o.account, inst)]
        if o.remaining <= 1e-12:
            notices += self._finish(o, "Filled")
            for child in o.children:
                if child.status == "PreSubmitted":
                    child.status = "Submitted"
                    notices.append(("order", child))
            for other in self._oca_siblings(o):
                notices += self._finish(other, "Cancelled")
        else:
            notices.append(("order", o))
        return notices

    def _finish(self, o: OrderRec, status: str) -> list:
        o.status = status
        o.completed_status = status
        o.completed_time = self.clock()
        self.held.pop((o.client_id, o.order_id), None)
        notices = [("order", o)]
        if status == "Cancelled":
            for child in o.children:
                if not child.done:
                    notices += self._finish(child, "Cancelled")
        return notices

    def _oca_siblings(self, o: OrderRec) -> list[OrderRec]:
        out = []
        for other in self.orders.values():
            if other is o or other.done:
                continue
            same_oca = o.oca_group and other.oca_group == o.oca_group
            same_bracket = o.parent_id and other.parent_id == o.parent_id \
                and other.client_id == o.client_id
            if same_oca or same_bracket:
                out.append(other)
        return out

    def _parent_filled(self, o: OrderRec) -> bool:
        parent = self.by_key.get((o.client_id, o.parent_id))
        return parent is None or parent.status == "Filled"

    def _apply_position(self, account: str, inst, signed: float, price: float):
        """Update the position; realized PnL of the closed part (USD), None if none closed."""
        pos = self.positions.setdefault((account, inst.conId), [0.0, 0.0])
        qty, avg = pos
        mult = inst.multiplier_value
        unit = price * mult              # IB's avgCost of a future includes the multiplier
        realized = None
        if qty == 0 or (qty > 0) == (signed > 0):
            new = qty + signed
            pos[1] = (avg * abs(qty) + unit * abs(signed)) / abs(new)
            pos[0] = new
        else:
            closed = min(abs(qty), abs(signed))
            realized = (unit - avg) * closed * (1 if qty > 0 else -1)
            new = qty + signed
            pos[0] = new
            if new == 0:
                pos[1] = 0.0
            elif (new > 0) != (qty > 0):
                pos[1] = unit
        return realized

    def _perm(self) -> int:
        self.next_perm += 1
        return self.next_perm
