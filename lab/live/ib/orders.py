"""IB orders of a bot's request: a market order, or a bracket for an entry with levels.

A bracket is IB's parent/children construct (TWS API "Bracket Orders"): the market
parent and its children are sent with ``transmit=0`` except the last, so IB activates
them together; the children (a ``LMT`` target and a ``STP`` stop, opposite side, same
quantity) share one OCA group with ``ocaType`` 1 (cancel the rest on a fill) and are
``GTC`` so they stay at IB while the bot is down. ``orderRef`` carries the client order
id (children: ``<id>.tp`` / ``<id>.sl``).
"""

from __future__ import annotations

from lab.live.ib.vocabulary import ACTION


def round_to_tick(price: float, tick: float) -> float:
    """``price`` on the contract's price grid (``tick`` 0 = unknown: 8 decimals)."""
    if not tick:
        return round(price, 8)
    return round(round(price / tick) * tick, 10)


def bracket_levels(execution, side: int, price: float,
                   tick: float) -> tuple[float | None, float | None]:
    """Stop and target prices of a position of ``side`` entered at ``price``.

    The engines' rule: stop = entry x (1 - side x sl), target = entry x (1 + side x tp),
    with ``sl``/``tp`` fractions of the entry price (``ExecutionConfig``); None = none.
    """
    sl, tp = execution.sl, execution.tp
    stop = None if sl is None else round_to_tick(price * (1 - side * sl), tick)
    target = None if tp is None else round_to_tick(price * (1 + side * tp), tick)
    return stop, target


def build_orders(ib, req, qty: float, account: str, stop: float | None,
                 target: float | None) -> list:
    """The ib_async orders for ``req`` (an ``OrderRequest``): ``[parent]`` or
    ``[parent, target, stop]`` (children present only for the levels given)."""
    from ib_async import LimitOrder, MarketOrder, StopOrder

    parent = MarketOrder(ACTION[req.side], qty, orderRef=req.client_order_id,
                         account=account, orderId=ib.client.getReqId(), tif="DAY")
    if stop is None and target is None:
        return [parent]
    parent.transmit = False
    back = ACTION[-req.side]
    oca = f"{req.client_order_id}.oca"
    common = dict(parentId=parent.orderId, ocaGroup=oca, ocaType=1, tif="GTC",
                  account=account, transmit=False)
    children = []
    if target is not None:
        children.append(LimitOrder(back, qty, target, orderRef=req.client_order_id + ".tp",
                                   orderId=ib.client.getReqId(), **common))
    if stop is not None:
        children.append(StopOrder(back, qty, stop, orderRef=req.client_order_id + ".sl",
                                  orderId=ib.client.getReqId(), **common))
    children[-1].transmit = True
    return [parent, *children]


def describe_order(trade) -> str:
    """One line naming an order at IB: action, quantity, type, orderRef and permId."""
    o = trade.order
    return (f"{o.action} {o.totalQuantity:g} {o.orderType} (orderRef {o.orderRef!r}, "
            f"permId {o.permId})")


def bracket_levels_of(orders: list) -> tuple[float | None, float | None]:
    """(stop, target) of a bracket as built (``build_orders``); (None, None) for one
    market order."""
    stop = next((o.auxPrice for o in orders[1:] if o.orderRef.endswith(".sl")), None)
    target = next((o.lmtPrice for o in orders[1:] if o.orderRef.endswith(".tp")), None)
    return stop, target
