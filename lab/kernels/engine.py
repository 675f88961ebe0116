"""The fast backtest kernel: one parameter set, bar by bar, in numba.

Semantics (also documented in ``lab.engines.vectorized``):

* A signal decided at the close of bar i executes at the open of bar i+1.
* Each bar, in order: (1) the open: a held position whose liquidation, stop or
  target level the open gaps through is closed at the open; then the pending
  signal executes at the open (exit, entry, or reversal = exit + entry);
  (2) intrabar: liquidation / stop-loss / take-profit of the position held after
  the open (including one opened at this open), from the bar's low and high;
  (3) mark to market at the close; (4) the signals at this close become pending.
* Isolated margin: margin = entry notional / leverage. A long is liquidated at
  ``entry x (1 - 1/leverage) / (1 - mm)``, a short at ``entry x (1 + 1/leverage) /
  (1 + mm)``, where margin + unrealized PnL equals ``mm`` x notional. A stop that
  lies between the entry and the liquidation price is hit first.
* Market fills (signals, stops, end of data) pay slippage; take-profits (limit)
  and liquidations fill at their level.
* Futures margin (``P_IM`` > 0, leverage 1): an entry ties up contracts x initial
  margin, which sizes it; the margin call is at account level: the position closes
  at the price where the account's equity (cash + unrealized PnL) falls to contracts
  x maintenance margin (``P_MMPC``), i.e. a long at ``entry - (cash - q x mmpc) /
  (q x multiplier)``, a short at ``entry + (cash - q x mmpc) / (q x multiplier)``,
  ``cash`` after the entry's fees. Filled at that level, like a liquidation.
* Fees per fill: the commission, plus ``P_EXCH_FEE`` per unit, plus ``P_SEC_FEE`` x
  notional on sells (long exits, short entries). Stop and target prices are rounded
  to the nearest ``P_TICK`` when it is set.
* An entry whose notional (quantity x fill x multiplier) is below the minimum
  notional is not placed (no order, no fee); exits are never blocked.

Arrays in, arrays out; no pandas.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lab.kernels.costs import commission_nb
from lab.kernels.layout import (
    BOTH_NEAREST_TO_OPEN, BOTH_TARGET_FIRST, COMM_PERCENT, DIR_LONG, DIR_SHORT,
    N_STATE, O_FEE, O_IDX, O_PRICE, O_QTY, O_REASON,
    O_SIDE, PEND_CLOSE, PEND_LONG, PEND_NONE, PEND_SHORT, P_BOTH_HIT, P_CASH, P_COMM_MAXF,
    P_COMM_MIN, P_COMM_MODEL, P_COMM_RATE, P_DIRECTION, P_EXCH_FEE, P_IM, P_LEVERAGE,
    P_MIN_NOTIONAL, P_MM, P_MMPC, P_SEC_FEE, P_TICK,
    P_MULT, P_SIZE, P_SIZE_TYPE, P_SL, P_SLIPPAGE, P_TP, P_WHOLE, R_END, R_ENTRY,
    R_LIQUIDATION, R_SIGNAL, R_STOP, R_TARGET, SIZE_EQUITY_FRACTION, SIZE_QUANTITY, S_BUST,
    S_CASH, S_ENTRY, S_ENTRY_FEE, S_ENTRY_IDX, S_FEES, S_GROSS_LOSS, S_GROSS_WIN, S_LIQ,
    S_N_LIQ, S_N_TRADES, S_N_WINS, S_QTY, S_SL, S_SUM_PNL, S_SUM_TRADE_RET, S_TP,
    T_ENTRY_IDX, T_ENTRY_PRICE, T_EXIT_IDX, T_EXIT_PRICE, T_FEES, T_MARGIN, T_PNL, T_QTY,
    T_REASON, T_SIDE)


@njit(cache=True)
def _fee_nb(p, qty, price):
    return commission_nb(int(p[P_COMM_MODEL]), p[P_COMM_RATE], p[P_COMM_MIN],
                         p[P_COMM_MAXF], qty, price, p[P_MULT])


@njit(cache=True)
def fill_fee_nb(p, side, qty, price):
    """All fees of one fill, account currency: the commission, the exchange fee per
    unit and, on a sell (``side`` < 0), the SEC fee as a fraction of its notional.
    Exactly the commission when neither extra fee is set."""
    fee = _fee_nb(p, qty, price)
    if p[P_EXCH_FEE] > 0.0:
        fee += p[P_EXCH_FEE] * abs(qty)
    if side < 0 and p[P_SEC_FEE] > 0.0:
        fee += p[P_SEC_FEE] * abs(qty) * price * p[P_MULT]
    return fee


@njit(cache=True)
def round_tick_nb(price, tick):
    """``price`` rounded to the nearest multiple of ``tick`` (unchanged when tick <= 0
    or price is NaN): ``floor(price / tick + 0.5) x tick``."""
    if tick > 0.0 and price == price:
        return np.floor(price / tick + 0.5) * tick
    return price


@njit(cache=True)
def _record_order_nb(orders, cnt, i, side, qty, price, fee, reason):
    k = cnt[1]
    if k < orders.shape[0]:
        orders[k, O_IDX] = i
        orders[k, O_SIDE] = side
        orders[k, O_QTY] = qty
        orders[k, O_PRICE] = price
        orders[k, O_FEE] = fee
        orders[k, O_REASON] = reason
    cnt[1] = k + 1


@njit(cache=True)
def _affordable_nb(p, budget, fill, unit, lev, side):
    """Largest quantity whose margin (notional / leverage, or initial margin per
    contract) + fees fit ``budget``: exact for a plain percent commission, else the
    fee of the fee-less quantity is set aside first (a fee that grows with the
    quantity keeps the sum within budget)."""
    plain = int(p[P_COMM_MODEL]) == COMM_PERCENT and p[P_COMM_MIN] == 0.0 \
        and p[P_COMM_MAXF] == 0.0
    sec = p[P_SEC_FEE] if side < 0 else 0.0
    if p[P_IM] <= 0.0 and p[P_EXCH_FEE] == 0.0 and sec == 0.0:
        if plain:
            return budget / (unit * (1.0 / lev + p[P_COMM_RATE]))
        q = budget * lev / unit
        return (budget - _fee_nb(p, q, fill)) * lev / unit
    m = p[P_IM] if p[P_IM] > 0.0 else unit / lev      # margin per unit
    if plain:
        per = m + unit * p[P_COMM_RATE] + p[P_EXCH_FEE]
        if sec > 0.0:
            per += sec * unit
        return budget / per
    q = budget / m
    return (budget - fill_fee_nb(p, side, q, fill)) / m


@njit(cache=True)
def _entry_qty_nb(p, equity, fill, side=1.0):
    """Quantity for an entry of ``side`` at ``fill`` so that margin + fees fit the
    budget (a fraction of equity, or a fixed quantity / notional capped at what equity
    buys); 0 when that buys nothing or its notional is below ``p[P_MIN_NOTIONAL]``."""
    lev = p[P_LEVERAGE]
    unit = fill * p[P_MULT]                  # notional of one unit
    size_type = int(p[P_SIZE_TYPE])
    if size_type == SIZE_EQUITY_FRACTION:
        q = _affordable_nb(p, p[P_SIZE] * equity, fill, unit, lev, side)
    else:
        if size_type == SIZE_QUANTITY:
            q = p[P_SIZE]
        else:
            q = p[P_SIZE] / unit
        margin = q * p[P_IM] if p[P_IM] > 0.0 else q * unit / lev
        if margin + fill_fee_nb(p, side, q, fill) > equity:
            q = _affordable_nb(p, equity, fill, unit, lev, side)
    if p[P_WHOLE] > 0.5:
        q = np.floor(q + 1e-9)
    if not (q > 0.0) or q * unit < p[P_MIN_NOTIONAL]:
        return 0.0
    return q


@njit(cache=True)
def open_position_nb(st, p, side, ref_price, i, orders, cnt):
    """Open a position of ``side`` (+1/-1) with a market order at ``ref_price``.

    Returns True when a position was opened (False when the budget buys nothing or
    less than the minimum notional).
    """
    if st[S_BUST] > 0.5:
        return False
    equity = st[S_CASH]
    if equity <= 0.0:
        return False
    fill = ref_price * (1.0 + side * p[P_SLIPPAGE])
    q = _entry_qty_nb(p, equity, fill, side)
    if q <= 0.0:
        return False
    fee = fill_fee_nb(p, side, q, fill)
    st[S_CASH] -= fee
    st[S_QTY] = side * q
    st[S_ENTRY] = fill
    st[S_ENTRY_FEE] = fee
    st[S_ENTRY_IDX] = i
    lev = p[P_LEVERAGE]
    mm = p[P_MM]
    tick = p[P_TICK]
    if side > 0:
        st[S_SL] = round_tick_nb(fill * (1.0 - p[P_SL]), tick) if p[P_SL] == p[P_SL] \
            else np.nan
        st[S_TP] = round_tick_nb(fill * (1.0 + p[P_TP]), tick) if p[P_TP] == p[P_TP] \
            else np.nan
        st[S_LIQ] = fill * (1.0 - 1.0 / lev) / (1.0 - mm)
    else:
        st[S_SL] = round_tick_nb(fill * (1.0 + p[P_SL]), tick) if p[P_SL] == p[P_SL] \
            else np.nan
        st[S_TP] = round_tick_nb(fill * (1.0 - p[P_TP]), tick) if p[P_TP] == p[P_TP] \
            else np.nan
        st[S_LIQ] = fill * (1.0 + 1.0 / lev) / (1.0 + mm)
    if p[P_IM] > 0.0:
        # account-level margin call: equity = cash + q x mult x (price - fill) falls
        # to q x maintenance margin per contract
        room = (st[S_CASH] - q * p[P_MMPC]) / (q * p[P_MULT])
        st[S_LIQ] = fill - side * room
    _record_order_nb(orders, cnt, i, side, q, fill, fee, R_ENTRY)
    return True


@njit(cache=True)
def close_position_nb(st, p, fill, i, reason, trades, orders, cnt):
    """Close the whole position at ``fill`` (slippage already applied) for ``reason``.

    Records the trade in ``trades`` (when there is room) and the fill in ``orders``,
    and updates the running trade statistics ``st[S_N_TRADES:N_STATE]`` that the
    sweep kernel reads instead of trade records.
    """
    qty = st[S_QTY]
    if qty == 0.0:
        return
    q = abs(qty)
    side = 1.0 if qty > 0 else -1.0
    fee = fill_fee_nb(p, -side, q, fill)
    gross = qty * p[P_MULT] * (fill - st[S_ENTRY])
    st[S_CASH] += gross - fee
    pnl = gross - fee - st[S_ENTRY_FEE]
    if p[P_IM] > 0.0:
        margin = q * p[P_IM]
    else:
        margin = q * st[S_ENTRY] * p[P_MULT] / p[P_LEVERAGE]
    k = cnt[0]
    if k < trades.shape[0]:
        trades[k, T_ENTRY_IDX] = st[S_ENTRY_IDX]
        trades[k, T_EXIT_IDX] = i
        trades[k, T_SIDE] = side
        trades[k, T_QTY] = q
        trades[k, T_ENTRY_PRICE] = st[S_ENTRY]
        trades[k, T_EXIT_PRICE] = fill
        trades[k, T_PNL] = pnl
        trades[k, T_FEES] = fee + st[S_ENTRY_FEE]
        trades[k, T_REASON] = reason
        trades[k, T_MARGIN] = margin
    cnt[0] = k + 1
    st[S_N_TRADES] += 1.0
    if pnl > 0.0:
        st[S_N_WINS] += 1.0
        st[S_GROSS_WIN] += pnl
    elif pnl < 0.0:
        st[S_GROSS_LOSS] -= pnl
    st[S_SUM_PNL] += pnl
    if margin > 0.0:
        st[S_SUM_TRADE_RET] += pnl / margin
    st[S_FEES] += fee + st[S_ENTRY_FEE]
    if reason == R_LIQUIDATION:
        st[S_N_LIQ] += 1.0
    _record_order_nb(orders, cnt, i, -side, q, fill, fee, reason)
    st[S_QTY] = 0.0
    st[S_ENTRY_FEE] = 0.0
    if st[S_CASH] <= 0.0:
        st[S_BUST] = 1.0


@njit(cache=True)
def gap_check_nb(st, p, o, i, trades, orders, cnt):
    """At the open: close a position whose liquidation, stop or target the open gaps through."""
    qty = st[S_QTY]
    if qty == 0.0:
        return
    slip = p[P_SLIPPAGE]
    if qty > 0:
        if o <= st[S_LIQ]:
            close_position_nb(st, p, o, i, R_LIQUIDATION, trades, orders, cnt)
        elif o <= st[S_SL]:                       # NaN compares False
            close_position_nb(st, p, o * (1.0 - slip), i, R_STOP, trades, orders, cnt)
        elif o >= st[S_TP]:
            close_position_nb(st, p, o, i, R_TARGET, trades, orders, cnt)
    else:
        if o >= st[S_LIQ]:
            close_position_nb(st, p, o, i, R_LIQUIDATION, trades, orders, cnt)
        elif o >= st[S_SL]:
            close_position_nb(st, p, o * (1.0 + slip), i, R_STOP, trades, orders, cnt)
        elif o <= st[S_TP]:
            close_position_nb(st, p, o, i, R_TARGET, trades, orders, cnt)


@njit(cache=True)
def intrabar_check_nb(st, p, o, h, l, i, trades, orders, cnt):
    """Within the bar: liquidation / stop-loss / take-profit from the high and low."""
    qty = st[S_QTY]
    if qty == 0.0:
        return
    slip = p[P_SLIPPAGE]
    sl = st[S_SL]
    tp = st[S_TP]
    liq = st[S_LIQ]
    has_sl = sl == sl
    if qty > 0:
        stop_first = has_sl and sl >= liq     # the stop sits above the liquidation price
        adverse = sl if stop_first else liq
        adverse_hit = l <= adverse
        target_hit = h >= tp
    else:
        stop_first = has_sl and sl <= liq
        adverse = sl if stop_first else liq
        adverse_hit = h >= adverse
        target_hit = l <= tp
    take_adverse = adverse_hit
    if adverse_hit and target_hit:
        rule = int(p[P_BOTH_HIT])
        if rule == BOTH_TARGET_FIRST:
            take_adverse = False
        elif rule == BOTH_NEAREST_TO_OPEN:
            take_adverse = abs(o - adverse) <= abs(tp - o)
    if take_adverse:
        # a position opened at this open can have its level beyond the open (slippage)
        level = min(adverse, o) if qty > 0 else max(adverse, o)
        if stop_first:
            side = 1.0 if qty > 0 else -1.0
            close_position_nb(st, p, level * (1.0 - side * slip), i, R_STOP,
                              trades, orders, cnt)
        else:
            close_position_nb(st, p, level, i, R_LIQUIDATION, trades, orders, cnt)
    elif target_hit:
        level = max(tp, o) if qty > 0 else min(tp, o)
        close_position_nb(st, p, level, i, R_TARGET, trades, orders, cnt)


@njit(cache=True)
def pending_action_nb(direction, qty, el, xl, es, xs):
    """Action for the next open from this bar's signals and the position at this close.

    Entry and exit of the same side on one bar cancel (the entry is ignored); a long
    and a short entry on one bar cancel each other. With direction BOTH an opposite
    entry reverses the position.
    """
    allow_long = direction != DIR_SHORT
    allow_short = direction != DIR_LONG
    long_sig = el and not xl and allow_long
    short_sig = es and not xs and allow_short
    if long_sig and short_sig:
        long_sig = False
        short_sig = False
    if qty > 0:
        if short_sig:
            return PEND_SHORT
        if xl and not el:
            return PEND_CLOSE
        return PEND_NONE
    if qty < 0:
        if long_sig:
            return PEND_LONG
        if xs and not es:
            return PEND_CLOSE
        return PEND_NONE
    if long_sig:
        return PEND_LONG
    if short_sig:
        return PEND_SHORT
    return PEND_NONE


@njit(cache=True)
def execute_pending_nb(st, p, pend, o, i, trades, orders, cnt):
    """Execute the pending action at the open price ``o`` of bar ``i``."""
    if pend == PEND_NONE:
        return
    qty = st[S_QTY]
    slip = p[P_SLIPPAGE]
    want = 0.0
    if pend == PEND_LONG:
        want = 1.0
    elif pend == PEND_SHORT:
        want = -1.0
    if qty != 0.0 and (pend == PEND_CLOSE or want * qty < 0):
        side = 1.0 if qty > 0 else -1.0
        close_position_nb(st, p, o * (1.0 - side * slip), i, R_SIGNAL, trades, orders, cnt)
    if want != 0.0 and st[S_QTY] == 0.0:
        open_position_nb(st, p, want, o, i, orders, cnt)


@njit(cache=True)
def simulate_nb(open_, high, low, close, entries_long, exits_long, entries_short,
                exits_short, p, trades, orders):
    """Run one backtest.

    Parameters
    ----------
    open_, high, low, close : ndarray, float64, shape (n,)
        Bar prices.
    entries_long, exits_long, entries_short, exits_short : ndarray, bool, shape (n,)
        Signals at each bar's close.
    p : ndarray, float64, shape (N_PARAMS,)
        Parameter vector (layout ``lab.kernels.layout.P_*``).
    trades : ndarray, float64, shape (cap_trades, N_TRADE_COLS)
        Output buffer for closed trades; shape (0, N_TRADE_COLS) records none.
    orders : ndarray, float64, shape (cap_orders, N_ORDER_COLS)
        Output buffer for fills.

    Returns
    -------
    equity : ndarray, float64, shape (n,)
        Account equity at each close (cash + unrealized PnL), account currency.
    position : ndarray, float64, shape (n,)
        Signed quantity held at each close.
    counts : ndarray, int64, shape (2,)
        Number of trades and fills (may exceed the buffers' capacity).
    """
    n = close.shape[0]
    equity = np.empty(n)
    position = np.empty(n)
    cnt = np.zeros(2, dtype=np.int64)
    st = np.zeros(N_STATE)
    st[S_CASH] = p[P_CASH]
    st[S_SL] = np.nan
    st[S_TP] = np.nan
    direction = int(p[P_DIRECTION])
    mult = p[P_MULT]
    pend = PEND_NONE
    for i in range(n):
        o = open_[i]
        gap_check_nb(st, p, o, i, trades, orders, cnt)
        execute_pending_nb(st, p, pend, o, i, trades, orders, cnt)
        intrabar_check_nb(st, p, o, high[i], low[i], i, trades, orders, cnt)
        if i == n - 1 and st[S_QTY] != 0.0:
            side = 1.0 if st[S_QTY] > 0 else -1.0
            close_position_nb(st, p, close[i] * (1.0 - side * p[P_SLIPPAGE]), i, R_END,
                              trades, orders, cnt)
        equity[i] = st[S_CASH] + st[S_QTY] * mult * (close[i] - st[S_ENTRY])
        position[i] = st[S_QTY]
        pend = pending_action_nb(direction, st[S_QTY], entries_long[i], exits_long[i],
                                 entries_short[i], exits_short[i])
    return equity, position, cnt
