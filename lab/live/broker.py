"""The ``Broker`` protocol every bot trades through, and the records it exchanges.

Two implementations: ``lab.live.paper.PaperBroker`` (simulated fills by the fast
engine's own per-bar rules) and ``lab.live.ib.IBBroker`` (Interactive Brokers through
ib_async). A bot never talks to a venue except through these methods, so everything
below is the contract an implementation must honour.

Client order ids
----------------
Every order a bot sends carries a ``client_order_id`` (at most 40 characters of
``[A-Za-z0-9_.:-]``) that the bot wrote to its ledger as an *intent* before calling
``submit`` (at IB it travels as ``Order.orderRef``). A broker must

* refuse a second ``submit`` with a client order id it already knows
  (``DuplicateOrderError``), whatever the state of the first order, and
* find an order by that id with ``order(client_order_id)``, including orders placed
  before a restart of the bot or of the broker connection, and including filled,
  cancelled and rejected ones, for as long as the session's executions are available
  (IB: ``reqCompletedOrders`` / ``reqExecutions`` of the day).

After a crash, an intent without an acknowledgement is looked up with ``order``; only
when the broker answers ``None`` (it never received the order) may the bot send it,
with the same client order id.

Order kinds and timing
----------------------
``kind="entry"`` opens a position of ``side``; ``kind="exit"`` closes the whole
position (reduce-only: it never opens one; with nothing to close it ends ``cancelled``).
``timing="open"`` is a market order for the open of the next bar (a signal at the close
of bar i executes at the open of bar i+1, as in every engine; IB: a market order sent
after the close, or ``MKT`` with ``tif="OPG"`` for stocks); ``timing="now"`` is a market
order to fill at once (flattening, emergency stop).

Protective exits (stop-loss, take-profit, liquidation) are the broker's business once a
position is open: a simulated broker applies the kernel's rules each bar, IB attaches
them as bracket children (``STP`` / ``LMT`` with ``orderRef`` = the entry's id plus
``.sl`` / ``.tp``). Their fills reach the bot through ``fills`` like any other.

Units: quantities in units of the instrument (shares, coins, contracts), prices in the
quote currency, money in account currency, times UTC.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

from lab.core.errors import LabError

#: Order states. ``submitted`` = accepted by the broker, waiting for its fill.
ORDER_STATES = ("submitted", "filled", "cancelled", "rejected")
#: Fill reasons: an entry, why a position was closed, or "adopted": a position found at
#: the broker that no order of the bot opened, recorded at IB's average cost on the
#: user's request (``lab.live.adopt``).
FILL_REASONS = ("entry", "signal", "stop", "target", "liquidation", "end", "flatten",
                "adopted")
#: Fills that open a position (every other reason closes it).
OPENING_REASONS = ("entry", "adopted")

_COID = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")


class BrokerError(LabError):
    """The broker refused a request or cannot be reached; the message says which and
    what to do."""


class DuplicateOrderError(BrokerError):
    """A client order id was submitted a second time."""


def check_client_order_id(coid: str) -> str:
    """Validate a client order id (1-40 of ``[A-Za-z0-9_.:-]``); returns it.

    Raises
    ------
    BrokerError
    """
    if not isinstance(coid, str) or not _COID.match(coid):
        raise BrokerError(f"client order id {coid!r} must be 1-40 characters of "
                          "letters, digits, '_', '.', ':' or '-'")
    return coid


@dataclass(frozen=True)
class OrderRequest:
    """One order a bot asks the broker to place.

    Attributes
    ----------
    client_order_id : str
        Unique id written to the ledger before ``submit`` (see module docstring).
    symbol : str
    side : int
        +1 buy, -1 sell.
    kind : str
        "entry" (opens a position of ``side``) or "exit" (closes the whole position;
        reduce-only).
    qty : float or None
        Units. None only for an entry on a simulated broker: sized at the fill price
        by the bot's ``ExecutionConfig`` (the backtest's own sizing rule); a real
        broker needs a quantity and raises ``BrokerError`` without one. For an exit,
        None = the whole position.
    timing : str
        "open" (market at the next bar's open) or "now" (market at once).
    bar : int
        Index of the bar whose close decided the order (the bot's bar counter).
    purpose : str
        Why: "signal", "flatten" (manual, end of day or emergency). Recorded in fills.
    """

    client_order_id: str
    symbol: str
    side: int
    kind: str
    qty: float | None = None
    timing: str = "open"
    bar: int = -1
    purpose: str = "signal"

    def __post_init__(self) -> None:
        check_client_order_id(self.client_order_id)
        if self.side not in (1, -1):
            raise BrokerError(f"order side={self.side!r} must be +1 (buy) or -1 (sell)")
        if self.kind not in ("entry", "exit"):
            raise BrokerError(f"order kind={self.kind!r} must be 'entry' or 'exit'")
        if self.timing not in ("open", "now"):
            raise BrokerError(f"order timing={self.timing!r} must be 'open' or 'now'")
        if self.qty is not None and not self.qty > 0:
            raise BrokerError(f"order qty={self.qty!r} must be > 0 units, or None")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class OrderStatus:
    """What the broker knows about one order.

    Attributes
    ----------
    client_order_id : str
    broker_order_id : str
        The broker's own id (IB ``permId``; paper: ``"P-<n>"``).
    status : str
        One of ``ORDER_STATES``.
    side : int
    kind : str
    qty : float or None
        Requested units (None = sized at the fill).
    filled_qty : float
        Units filled so far.
    avg_price : float or None
        Average fill price, quote currency.
    fee : float
        Commission charged, account currency.
    reason : str
        Why an order was cancelled or rejected ("" otherwise).
    """

    client_order_id: str
    broker_order_id: str
    status: str
    side: int
    kind: str
    qty: float | None = None
    filled_qty: float = 0.0
    avg_price: float | None = None
    fee: float = 0.0
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Fill:
    """One execution.

    Attributes
    ----------
    fill_id : str
        Unique per broker account (IB ``execId``; paper ``"<account>:<n>"``); the
        ledger stores each fill once under this id.
    client_order_id : str or None
        The order it filled; None for an exit the broker triggered itself
        (simulated stop, target, liquidation).
    symbol : str
    bar : int
        Index of the bar during which it filled (the bot's bar counter).
    time : str
        ISO 8601 UTC time of the fill (the bar's open time for simulated fills).
    side : int
        +1 buy, -1 sell.
    qty : float
        Units, > 0.
    price : float
        Fill price, quote currency, slippage included.
    fee : float
        Commission, account currency (IB: the sum of IB's commission reports).
    reason : str
        One of ``FILL_REASONS``.
    fee_model : float or None
        The bot's ``ExecutionConfig`` commission model applied to this fill's quantity
        and price, account currency; None when the broker is the model itself (paper).
    price_model : float or None
        The price the engines' rules give this fill: the reference price (the last
        close before a market order, the stop or limit level of a bracket child) with
        the model's slippage (none on limit orders); quote currency; None as above.
    """

    fill_id: str
    client_order_id: str | None
    symbol: str
    bar: int
    time: str
    side: int
    qty: float
    price: float
    fee: float
    reason: str
    fee_model: float | None = None
    price_model: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Position:
    """An open position.

    Attributes
    ----------
    symbol : str
    qty : float
        Signed units, > 0 long.
    avg_price : float
        Entry fill price.
    entry_bar : int
        Bar of the entry fill.
    entry_fee : float
        Commission paid at entry, account currency.
    stop, target, liquidation : float or None
        Protective levels the broker holds for it (None = none).
    """

    symbol: str
    qty: float
    avg_price: float
    entry_bar: int = -1
    entry_fee: float = 0.0
    stop: float | None = None
    target: float | None = None
    liquidation: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Account:
    """Money of the account (or of the bot's sub-account on a paper broker).

    Attributes
    ----------
    cash : float
        Realized balance after commissions, account currency (the kernel's cash:
        margin is not subtracted).
    equity : float
        Cash + unrealized PnL at the latest mark, account currency.
    currency : str
    """

    cash: float
    equity: float
    currency: str = "USD"

    def to_dict(self) -> dict:
        return asdict(self)


@runtime_checkable
class Broker(Protocol):
    """What a bot needs from a broker. See the module docstring for the rules.

    Attributes
    ----------
    simulated : bool
        True when fills happen only inside ``process_bar`` (paper); False for a real
        venue, whose fills arrive on their own and are read with ``fills``.
    """

    simulated: bool

    def submit(self, order: OrderRequest) -> OrderStatus:
        """Place ``order``; returns its status right after acceptance ("submitted",
        or "filled" for a ``timing="now"`` order that filled at once, or "rejected"
        with a reason).

        Raises
        ------
        DuplicateOrderError
            The client order id is already known (never place it twice).
        BrokerError
            The broker cannot be reached or refuses the request outright; the order
            may or may not have arrived: look it up with ``order`` before resending.
        """

    def order(self, client_order_id: str) -> OrderStatus | None:
        """The order with this client order id, in any state; None when the broker
        never received it. Raises ``BrokerError`` when the broker cannot answer
        (then the order's fate is unknown: do not resend)."""

    def cancel(self, client_order_id: str) -> OrderStatus:
        """Cancel an open order (a no-op on one that is no longer open); returns its
        status. Cancels always go through, whatever the risk state."""

    def open_orders(self) -> list[OrderStatus]:
        """Orders in state "submitted"."""

    def positions(self) -> list[Position]:
        """Open positions of the account (for a paper broker: of this bot)."""

    def account(self) -> Account:
        """Cash and equity at the latest mark."""

    def fills(self, after: int = 0) -> list[Fill]:
        """Executions in the order they happened, skipping the first ``after``
        (a bot passes the number it has stored, so a crash between a fill and its
        ledger write loses nothing)."""

    def process_bar(self, bar: int, time: str, open_: float, high: float, low: float,
                    close: float) -> list[Fill]:
        """Simulated brokers: apply bar ``bar`` (its open fills pending "open" orders
        after gap checks, its range triggers stops / targets / liquidation, its close
        is the new mark) and return the fills it produced. Idempotent: a bar at or
        before the last one processed changes nothing and returns []. Real brokers:
        update the mark only and return []."""

    def close(self) -> None:
        """Release the connection; idempotent."""
