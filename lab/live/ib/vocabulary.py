"""IB's vocabulary and ours, in tables (kept at this edge, as nautilus_trader's
``adapters/interactive_brokers/parsing`` does).

Sources: TWS API reference "Order Status" (status strings), "Execution" (``side`` is
``BOT`` / ``SLD``), "Historical Bar Sizes" and "Valid Duration and Bar Size Settings"
(Historical Data Limitations).
"""

from __future__ import annotations

#: IB order status -> ours (``lab.live.broker.ORDER_STATES``). PendingCancel still
#: works at IB until it is Cancelled; Inactive is IB's "rejected or not accepted".
ORDER_STATUS: dict[str, str] = {
    "ApiPending": "submitted",
    "PendingSubmit": "submitted",
    "PreSubmitted": "submitted",
    "Submitted": "submitted",
    "PendingCancel": "submitted",
    "ApiCancelled": "cancelled",
    "Cancelled": "cancelled",
    "Filled": "filled",
    "Inactive": "rejected",
    "ValidationError": "rejected",
}

#: execution side -> signed direction (+1 buy, -1 sell)
EXEC_SIDE: dict[str, int] = {"BOT": 1, "SLD": -1}
#: our side -> IB order action
ACTION: dict[int, str] = {1: "BUY", -1: "SELL"}

#: execution fields -> our Fill fields
EXECUTION_FIELDS: dict[str, str] = {
    "execId": "fill_id",
    "orderRef": "client_order_id",
    "time": "time",
    "side": "side",
    "shares": "qty",
    "price": "price",
    "permId": "broker_order_id",
}

#: our timeframe -> IB barSizeSetting
BAR_SIZE: dict[str, str] = {
    "1m": "1 min", "5m": "5 mins", "15m": "15 mins", "30m": "30 mins", "1h": "1 hour",
    "2h": "2 hours", "4h": "4 hours", "1d": "1 day", "1w": "1 week",
}

#: IB barSizeSetting -> the longest durationStr IB serves in one request, and that span
#: in seconds (IB's "Valid Duration and Bar Size Settings": 1 D from 1 min bars, 1 W
#: from 3 mins, 1 M from 30 mins, 1 Y from 1 day).
MAX_DURATION: dict[str, tuple[str, int]] = {
    "1 min": ("1 D", 86_400),
    "5 mins": ("1 W", 604_800),
    "15 mins": ("1 W", 604_800),
    "30 mins": ("1 M", 2_592_000),
    "1 hour": ("1 M", 2_592_000),
    "2 hours": ("1 M", 2_592_000),
    "4 hours": ("1 M", 2_592_000),
    "1 day": ("1 Y", 31_536_000),
    "1 week": ("1 Y", 31_536_000),
}

#: what to request per security type (IB has no TRADES for forex)
WHAT_TO_SHOW: dict[str, str] = {"STK": "TRADES", "FUT": "TRADES", "CONTFUT": "TRADES",
                                "CASH": "MIDPOINT"}

#: how the asset class of a stored dataset follows from the security type
ASSET_CLASS: dict[str, str] = {"STK": "equity", "FUT": "future", "CONTFUT": "future",
                               "CASH": "fx"}


def our_status(ib_status: str) -> str:
    """Our order state of an IB status; an unknown IB status is an error, not a guess.

    Raises
    ------
    KeyError
        Naming the status, so a new IB status is noticed instead of mis-mapped.
    """
    try:
        return ORDER_STATUS[ib_status]
    except KeyError:
        raise KeyError(f"IB order status {ib_status!r} is not in the mapping table "
                       "lab.live.ib.vocabulary.ORDER_STATUS") from None
