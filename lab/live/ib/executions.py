"""IB's executions of one order -> the one ``Fill`` a bot sees, with the model's cost.

A bot sees one fill per order (as with every broker): the executions of an order are
combined once it is done (filled, or cancelled after a partial fill) and all of IB's
commission reports are in. The fill carries IB's commission (the sum of the reports),
the volume-weighted price, and beside them the model's commission and price
(``cost_model``) so the ledger shows cost drift and slippage.
"""

from __future__ import annotations

from lab.live.broker import Fill
from lab.live.ib.cost_model import model_price


def order_fill(ref: str, execs: list[dict], rec: dict | None, trade, symbol: str, bar: int,
               execution) -> Fill | None:
    """The fill of order ``ref``, or None while it is not done.

    Parameters
    ----------
    ref : str
        The order's ``orderRef`` (a bracket child ends in ``.sl`` / ``.tp``).
    execs : list of dict
        Its journaled executions (``Journal.executions``), commissions all known.
    rec : dict or None
        The journaled order (of the parent for a child): ``request`` with ``kind``,
        ``purpose``, ``sent_qty``, ``ref_price``, ``stop``, ``target``.
    trade : ib_async.Trade or None
        IB's view of the order, when this session has it.
    symbol : str
    bar : int
        The bot's bar counter for the fill.
    execution : ExecutionConfig
        For the model price (slippage).

    Returns
    -------
    Fill or None
    """
    req = rec["request"] if rec else {}
    wanted = req.get("sent_qty")
    filled = sum(e["qty"] for e in execs)
    done = (wanted is not None and filled >= wanted - 1e-9) or (
        trade is not None and trade.isDone())
    if not done:
        return None
    price = sum(e["qty"] * e["price"] for e in execs) / filled
    if ref.endswith(".sl"):
        reason = "stop"
    elif ref.endswith(".tp"):
        reason = "target"
    elif req.get("kind") == "entry":
        reason = "entry"
    elif req.get("purpose") == "flatten":
        reason = "flatten"
    else:
        reason = "signal"
    side = execs[0]["side"]
    fee_model = sum(e["commission_model"] or 0.0 for e in execs)
    return Fill(execs[-1]["exec_id"], None if reason in ("stop", "target") else ref, symbol,
                bar, execs[-1]["time"], side, filled, price,
                sum(e["commission"] for e in execs), reason, fee_model,
                model_price(execution, reason, side, reference_price(ref, req, trade)))


def reference_price(ref: str, request: dict, trade) -> float | None:
    """The price the model fills order ``ref`` from: a bracket child's level (IB's, as
    moved to the parent's fill, else as journaled), otherwise the last close before the
    order was sent (``ref_price``); None when unknown."""
    for suffix, attr, key in ((".sl", "auxPrice", "stop"), (".tp", "lmtPrice", "target")):
        if ref.endswith(suffix):
            level = getattr(trade.order, attr, None) if trade is not None else None
            ok = level is not None and 0 < level < 1e300        # ib_async's UNSET_DOUBLE
            return float(level) if ok else request.get(key)
    return request.get("ref_price")
