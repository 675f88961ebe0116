"""Server -> client messages of the TWS API, as field lists, for server version 176.

Each builder returns the fields of one message in the order the TWS API sends them (the
order ib_async's ``decoder.py`` reads them in); ``wire.frame`` turns a list into bytes.
Fields a stand-in has no value for are sent empty, as TWS does for unset values.
"""

from __future__ import annotations

from datetime import datetime, timezone

SERVER_VERSION = 176

# incoming (server -> client) message ids
ORDER_STATUS, ERR_MSG, OPEN_ORDER, ACCT_VALUE, PORTFOLIO_VALUE = 3, 4, 5, 6, 7
ACCT_UPDATE_TIME, NEXT_VALID_ID, CONTRACT_DATA, EXECUTION_DATA = 8, 9, 10, 11
MANAGED_ACCTS, HISTORICAL_DATA, CURRENT_TIME, REAL_TIME_BARS = 15, 17, 49, 50
CONTRACT_DATA_END, OPEN_ORDER_END, ACCT_DOWNLOAD_END, EXECUTION_DATA_END = 52, 53, 54, 55
COMMISSION_REPORT, POSITION_DATA, POSITION_END = 59, 61, 62
ACCOUNT_SUMMARY, ACCOUNT_SUMMARY_END = 63, 64
ACCOUNT_UPDATE_MULTI, ACCOUNT_UPDATE_MULTI_END = 73, 74
COMPLETED_ORDER, COMPLETED_ORDERS_END = 101, 102


def ib_time(t: float) -> str:
    """Epoch seconds as TWS writes times in execution reports (``YYYYMMDD HH:MM:SS UTC``)."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y%m%d %H:%M:%S UTC")


def _contract11(c) -> list:
    """conId .. tradingClass without primaryExchange (orders, executions, positions)."""
    return [c.conId, c.symbol, c.secType, c.lastTradeDateOrContractMonth, c.strike or 0.0,
            "", c.multiplier, c.exchange, c.currency, c.localSymbol, c.tradingClass]


def error(req_id: int, code: int, text: str) -> list:
    """``errMsg``: reqId (-1 when not tied to a request), code, text, advanced-reject JSON."""
    return [ERR_MSG, 2, req_id, code, text, ""]


def next_valid_id(order_id: int) -> list:
    return [NEXT_VALID_ID, 1, order_id]


def managed_accounts(accounts: list[str]) -> list:
    return [MANAGED_ACCTS, 1, ",".join(accounts)]


def current_time(t: float) -> list:
    return [CURRENT_TIME, 1, int(t)]


def order_status(o) -> list:
    """``orderStatus`` (no version field at this server version)."""
    return [ORDER_STATUS, o.order_id, o.status, o.filled, o.remaining, o.avg_fill_price,
            o.perm_id, o.parent_id, o.last_fill_price, o.client_id, "", 0.0]


def open_order(o) -> list:
    """``openOrder``: the order, its contract and its state (status, margin, commission)."""
    f = [OPEN_ORDER, o.order_id, *_contract11(o.contract),
         o.action, o.total_quantity, o.order_type, o.lmt_price, o.aux_price, o.tif,
         o.oca_group, o.account, "O", 0, o.order_ref, o.client_id, o.perm_id,
         0, 0, 0.0, "", "", "", "", "",       # outsideRth .. faPercentage
         "",                                   # faProfile (server < 177)
         "", "", "", "", "", 0, "", "",        # modelCode .. exemptCode
         0, "", "", "", "", "", 0, 0, 0, 0, "",  # auctionStrategy .. minQty
         o.oca_type, 0, 0, "", o.parent_id, 0, "", "", "", "",  # ocaType .. dnAuxPrice
         0, 0, "", "", "", "", "",             # continuousUpdate .. comboLegsDescrip
         0, 0, 0,                               # combo legs, order combo legs, params
         "", "", "",                            # scale init, subs, price increment
         "",                                    # hedgeType
         0, "", "", 0, 0,                       # optOutSmartRouting .. dnc present
         "",                                    # algoStrategy
         0, 0, o.status, "", "", "", "", "", "", "", "", "",
         o.commission if o.commission is not None else "", "", "", o.currency, "",
         0, 0,                                  # randomizeSize, randomizePrice
         0,                                     # conditions
         "", "", "", "", "", "", "", 0, "", "", "", "", 0, 0, "", 0,
         "", 0, 0,                              # duration, postToAts, autoCancelParent
         "", "", "", "", ""]                    # minTradeQty .. midOffsetAtHalf
    return f


def open_order_end() -> list:
    return [OPEN_ORDER_END, 1]


def completed_order(o) -> list:
    """``completedOrder``: a filled or cancelled order (keyed by permId, no orderId)."""
    return [COMPLETED_ORDER, *_contract11(o.contract),
            o.action, o.total_quantity, o.order_type, o.lmt_price, o.aux_price, o.tif,
            o.oca_group, o.account, "O", 0, o.order_ref, o.perm_id,
            0, 0, 0.0, "", "", "", "",            # outsideRth .. faPercentage
            "",                                    # faProfile (server < 177)
            "", "", "", "", "", 0, "", "",         # modelCode .. exemptCode
            "", "", "", "", "", "", 0, 0, "",      # startingPrice .. minQty
            o.oca_type, 0, "", "", "", "",         # ocaType .. deltaNeutralAuxPrice
            0, 0, "", "", "",                      # continuousUpdate .. comboLegsDescrip
            0, 0, 0,                               # combo legs, order legs, params
            "", "", "",                            # scale
            "",                                    # hedgeType
            "", "", 0, 0,                          # clearing, notHeld, dnc present
            "",                                    # algoStrategy
            0, o.status, 0, 0,                     # solicited, status, randomize x2
            0,                                     # conditions
            "", "", "", 0, 0, "", o.filled, 0, 0, "", 0, 0, 0,
            ib_time(o.completed_time or 0), o.completed_status or o.status,
            "", "", "", "", ""]


def completed_orders_end() -> list:
    return [COMPLETED_ORDERS_END]


def exec_details(req_id: int, x) -> list:
    """``execDetails`` for one fill (reqId -1 for a live fill)."""
    return [EXECUTION_DATA, req_id, x.order_id, *_contract11(x.contract), x.exec_id,
            ib_time(x.time), x.account, x.exchange, x.side, x.shares, x.price, x.perm_id,
            x.client_id, 0, x.cum_qty, x.avg_price, x.order_ref, "", "", "", 1]


def exec_details_end(req_id: int) -> list:
    return [EXECUTION_DATA_END, 1, req_id]


def commission_report(x) -> list:
    # TWS leaves realized PnL unset on a fill that only opens or adds to a position
    return [COMMISSION_REPORT, 1, x.exec_id, x.commission, x.currency,
            x.realized_pnl if x.realized_pnl is not None else "", "", ""]


def position(account: str, c, qty: float, avg_cost: float) -> list:
    return [POSITION_DATA, 3, account, *_contract11(c), qty, avg_cost]


def position_end() -> list:
    return [POSITION_END, 1]


def contract_details(req_id: int, c) -> list:
    """``contractData`` (server >= 164 layout: no version field, no mdSizeMultiplier)."""
    last = c.lastTradeDateOrContractMonth
    return [CONTRACT_DATA, req_id, c.symbol, c.secType, last, c.strike or 0.0, "",
            c.exchange, c.currency, c.localSymbol, c.exchange, c.tradingClass, c.conId,
            c.min_tick, c.multiplier, "ACTIVETIM,LMT,MKT,STP,TRAIL", c.exchange + ",SMART",
            1, 0, c.long_name, c.primaryExchange, last[:6], "", "", "", c.time_zone,
            "", "", "", "", 0,                     # hours, evRule, evMultiplier, secIds
            1, "", "", "26", last, "", "1", "1", "1"]


def contract_details_end(req_id: int) -> list:
    return [CONTRACT_DATA_END, 1, req_id]


def historical_data(req_id: int, start: str, end: str, rows: list[tuple]) -> list:
    """``historicalData``: rows of (date, open, high, low, close, volume, wap, count)."""
    f: list = [HISTORICAL_DATA, req_id, start, end, len(rows)]
    for r in rows:
        f.extend(r)
    return f


def realtime_bar(req_id: int, t: int, o, h, low, c, v, wap, count) -> list:
    return [REAL_TIME_BARS, 3, req_id, t, o, h, low, c, v, wap, count]


def account_value(key: str, value: str, currency: str, account: str) -> list:
    return [ACCT_VALUE, 2, key, value, currency, account]


def account_download_end(account: str) -> list:
    return [ACCT_DOWNLOAD_END, 1, account]


def account_update_multi(req_id, account, key, value, currency) -> list:
    return [ACCOUNT_UPDATE_MULTI, 1, req_id, account, "", key, value, currency]


def account_update_multi_end(req_id) -> list:
    return [ACCOUNT_UPDATE_MULTI_END, 1, req_id]


def account_summary(req_id, account, tag, value, currency) -> list:
    return [ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency]


def account_summary_end(req_id) -> list:
    return [ACCOUNT_SUMMARY_END, 1, req_id]
