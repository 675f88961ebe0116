"""Adopting at IB what the bot's books do not explain: a position, and open orders on
the bot's contract that the bot did not send.

A bot halts when IB holds more than its ledger knows (``Bot.reconcile``). The user
then either closes it (flatten) or adopts it: the bot takes it over as its own.

- The position: IB's position on the contract minus the one the journaled fills imply
  becomes one journaled fill with reason ``"adopted"`` at IB's average cost
  (``avgCost / multiplier``), no commission (it was paid when the position was opened,
  outside the bot), so the bot's books, its ledger and IB agree. Adoption needs the
  bot's books to be flat: a bot's position is one entry at one price, so a second
  position on top of its own cannot be merged (close one of them first).
- Orders: their ``permId`` is journaled as adopted; they are no longer reported as
  unknown. When one fills later, IB's position moves without a fill of the bot: the
  broker notices it at the next bar (``unexplained_position``), the bot reconciles and
  halts again, showing the new difference, to be adopted or flattened.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from lab.live.broker import BrokerError, Fill
from lab.live.ib.orders import describe_order


def adopt(broker, bar: int) -> dict:
    """Journal what IB holds beyond ``broker``'s books as the bot's own.

    Parameters
    ----------
    broker : IBBroker
        Started (connected, contract qualified).
    bar : int
        The bot's bar counter of the adoption (the adopted fill's ``bar``).

    Returns
    -------
    dict
        ``qty`` (signed units adopted, 0.0 when none), ``price`` (IB's average cost per
        unit, quote currency, None when no position was adopted), ``fill_id`` (or None)
        and ``orders`` (one line per adopted order).

    Raises
    ------
    BrokerError
        IB cannot be reached, or the bot holds a position of its own and IB a
        different one (nothing is adopted then).
    """
    broker.tick()
    ib_qty, avg = broker._position()
    _, own_qty, _ = broker.books()
    diff = ib_qty - own_qty
    out: dict = {"qty": 0.0, "price": None, "fill_id": None, "orders": []}
    if abs(diff) > 1e-9:
        if abs(own_qty) > 1e-9:
            raise BrokerError(f"the bot holds {own_qty:g} {broker.symbol} of its own and IB "
                              f"{ib_qty:g}: a second position cannot be adopted on top of "
                              "the bot's; flatten the bot (`python -m lab bot flatten NAME`) "
                              "or close the difference at IB, then adopt")
        seq = broker.journal.fill_count()
        now = datetime.now(timezone.utc).isoformat()
        fill = Fill(f"adopt:{broker.uid}:{seq}", None, broker.symbol, int(bar), now,
                    int(math.copysign(1, diff)), abs(diff), float(avg), 0.0, "adopted")
        broker.journal.add_fill(f"{broker.uid}-adopt-{seq}", fill.to_dict(), None)
        out.update(qty=float(diff), price=float(avg), fill_id=fill.fill_id)
    for trade in broker.unknown_trades:
        text = describe_order(trade)
        broker.journal.adopt_order(trade.order.permId, text)
        out["orders"].append(text)
    broker.unknown_trades, broker.unknown_orders = [], []
    return out


def unknown_position(broker) -> float:
    """IB's position on the bot's contract minus the one its books imply (units)."""
    broker.tick()
    return broker._position()[0] - broker.books()[1]


def unexplained_position(broker) -> float:
    """Like ``unknown_position`` from what ib_async has received so far (no request),
    but 0.0 while an order of the bot has executions that are not yet its fill (a
    partial fill, commissions on their way): a difference then is the bot's own.

    A difference outside that (a fill of an adopted order, a trade in TWS on the bot's
    contract) makes the broker ask for a reconciliation before the next bar
    (``IBBroker.reconcile_pending``), which halts the bot and shows it.
    """
    if broker.contract is None:
        return 0.0
    diff = broker._position()[0] - broker.books()[1]
    if abs(diff) <= 1e-9 or broker.journal.executions_without_fill():
        return 0.0
    return diff
