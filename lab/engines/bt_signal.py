"""The Backtrader strategy that trades precomputed ``Signals`` like the kernel does.

Each bar, Backtrader calls (cheat-on-open) ``next_open`` with the bar's open known,
then lets the broker try every pending order against the bar, then calls ``next``
at the close. The strategy only decides *which* orders exist and in which order the
broker tries them; Backtrader triggers and prices every fill:

``next_open`` (bar i)
    1. With a position: if the open is beyond its liquidation, stop or target level
       (checked in that order, as the kernel), that exit order goes to the head of the
       queue and fills at the open. Otherwise a pending exit or reversal cancels the
       bracket and sends a market order; with neither, the bracket children are
       ordered for the bar (nearer adverse level first; target before or after it by
       ``both_hit``).
    2. A pending entry sends a bracket: market parent at the open, a stop child at
       entry x (1 -/+ sl), a limit child at entry x (1 +/- tp) and a stop child at
       the liquidation price. The quantity is sized on the equity left after step 1.
``next`` (bar i)
    Turns the signals at this close into the pending action (the kernel's
    ``pending_action_nb`` rule); at the last bar, cancels the bracket and closes at
    the close (cheat-on-close, filled on the synthetic bar, see ``bt_broker``).
"""

from __future__ import annotations

import math

import backtrader as bt
import numpy as np

from lab.core.config import ExecutionConfig
from lab.costs.rules import (PEND_CLOSE, PEND_LONG, PEND_NONE, PEND_SHORT, entry_quantity,
                             exit_levels, exit_priority, gapped_exit, pending_action)


class SignalStrategy(bt.Strategy):
    """Trades four signal arrays with the kernel's rules (see the module docstring).

    Parameters (Backtrader params)
    ------------------------------
    signals : tuple of 4 ndarray of bool, shape (n,)
        entries_long, exits_long, entries_short, exits_short.
    config : ExecutionConfig
    n : int
        Number of real bars (the feed carries one synthetic bar more).
    """

    params = (("signals", None), ("config", None), ("n", 0))

    def __init__(self):
        self.cfg: ExecutionConfig = self.p.config
        el, xl, es, xs = self.p.signals
        self.el, self.xl, self.es, self.xs = (np.asarray(a, dtype=bool).tolist()
                                              for a in (el, xl, es, xs))
        self.pend = PEND_NONE
        self.children: dict[str, bt.Order] = {}
        self.levels: dict = {}
        self.side = 0.0
        self.comminfo = None
        self.expect: list[tuple[bt.Order, float]] = []

    # -- helpers --------------------------------------------------------------------
    def _fee(self, qty: float, price: float) -> float:
        return self.comminfo.getcommission(qty, price)

    def _alive_children(self) -> dict:
        return {k: o for k, o in self.children.items() if o.alive()}

    def _cash_after_exit(self, price: float) -> float:
        """Broker cash once the whole position is closed at ``price``.

        The same arithmetic, in the same order, as ``BackBroker._execute`` for a
        closing fill (stock-like commission info), so that the entry that follows is
        sized on exactly the cash the broker will hold. Flat, cash = equity.
        """
        ci, pos = self.comminfo, self.position
        closedvalue = ci.getvaluesize(pos.size, pos.price)
        closecash = closedvalue / ci.get_leverage() if closedvalue > 0 else closedvalue
        pnl = ci.profitandloss(pos.size, pos.price, price)
        cash = self.broker.getcash()
        cash += closecash + pnl * ci.stocklike
        cash -= ci.getcommission(-pos.size, price)
        if not ci.stocklike:          # futures: the PnL since the last close settles
            cash += ci.cashadjust(pos.size, pos.adjbase, price)
        return cash

    def _fit(self, qty: float, fill: float, side: float, cash: float) -> tuple:
        """(quantity, overdraft) that the broker's own arithmetic accepts.

        Backtrader refuses an opening fill that leaves cash below zero. When the
        kernel's budget fits exactly, rounding can leave -1e-13: a fractional quantity
        is lowered by a few ulps (relative <= 1e-14). With whole units (exact fit, or
        rounded up within the kernel's 1e-9 tolerance, which spends up to 1e-9 of the
        notional more than the cash) the order may overdraw by that shortfall
        (``LabBroker``).
        """
        ci = self.comminfo

        def shortfall(q):
            value = ci.getvaluesize(side * q, fill)
            left = cash - (value / ci.get_leverage() if value > 0 else value)
            return -(left - ci.getcommission(side * q, fill))

        missing = shortfall(qty)
        if missing <= 0.0:
            return qty, 0.0
        if self.cfg.whole_units:            # keep whole units: overdraw, as the kernel
            if missing <= 1e-9 * qty * fill * self.cfg.multiplier:
                return qty, 2.0 * missing
        else:
            q = qty
            for _ in range(64):
                q = float(np.nextafter(q, 0.0))
                if shortfall(q) <= 0.0:
                    return q, 0.0
        raise RuntimeError(f"backtrader engine: an entry of {qty} at {fill} needs "
                           f"{missing} more than the cash {cash}")

    def _send_close(self, reason: str, **kw) -> bt.Order:
        size = self.position.size
        send = self.sell if size > 0 else self.buy
        return send(size=abs(size), exectype=bt.Order.Market, reason=reason, **kw)

    # -- Backtrader hooks -----------------------------------------------------------
    def start(self):
        self.comminfo = self.broker.getcommissioninfo(self.data)

    def prenext_open(self):
        self.next_open()

    def nextstart_open(self):
        self.next_open()

    def next_open(self):
        i = len(self.data) - 1
        if i >= self.p.n or i == 0:
            return
        o = self.data.open[0]
        size = self.position.size
        pend = self.pend
        if size == 0:
            cash = self.broker.getcash()
        else:
            children = self._alive_children()
            gap = gapped_exit(self.side, self.levels, o)
            reverse = (pend == PEND_LONG and size < 0) or (pend == PEND_SHORT and size > 0)
            if gap is not None:
                # the exit the open went through fills first, at the open
                order = [gap] + [k for k in children if k != gap]
                self.broker.move_to_front([children[k] for k in order if k in children])
                price = o * (1.0 - self.side * self.cfg.slippage) if gap == "stop" else o
                self.expect = [(children[gap], price)]
            elif pend == PEND_CLOSE or reverse:
                for child in children.values():
                    self.cancel(child)
                price = o * (1.0 - self.side * self.cfg.slippage)
                self.expect = [(self._send_close("signal"), price)]
            else:
                order = exit_priority(self.cfg, self.side, self.levels, o)
                self.broker.move_to_front([children[k] for k in order if k in children])
                return
            cash = self._cash_after_exit(price)
        if pend in (PEND_LONG, PEND_SHORT) and cash > 0.0:
            self._enter(1.0 if pend == PEND_LONG else -1.0, o, cash)

    def _enter(self, side: float, o: float, cash: float) -> None:
        """Send the entry bracket; flat, the broker's ``cash`` is the equity."""
        fill = o * (1.0 + side * self.cfg.slippage)
        qty = entry_quantity(self.cfg, cash, fill, self._fee, side)
        if qty <= 0.0:
            return
        qty, overdraft = self._fit(qty, fill, side, cash)
        # the kernel's cash after the entry's fees (flat, the broker's cash is equity)
        levels = exit_levels(self.cfg, side, fill, qty, cash - self._fee(side * qty, fill))
        names = [k for k in exit_priority(self.cfg, side, levels, o)
                 if not math.isnan(levels[k])]
        send, close_side = (self.buy, self.sell) if side > 0 else (self.sell, self.buy)
        parent = send(size=qty, exectype=bt.Order.Market, reason="entry",
                      transmit=not names, overdraft=overdraft)
        self.expect.append((parent, fill))
        kinds = {"stop": (bt.Order.Stop, False), "target": (bt.Order.Limit, True),
                 "liquidation": (bt.Order.Stop, True)}
        self.children = {}
        for k, name in enumerate(names):
            exectype, noslip = kinds[name]
            self.children[name] = close_side(
                size=qty, price=levels[name], exectype=exectype, parent=parent,
                transmit=k == len(names) - 1, reason=name, noslip=noslip)
        self.levels = levels
        self.side = side

    def notify_order(self, order):
        if order.status in (order.Margin, order.Rejected):
            raise RuntimeError(
                f"backtrader engine: the broker refused a {order.info.get('reason')} "
                f"order ({order.getstatusname()}) at bar {len(self.data) - 1}; the "
                "sizing should never exceed the cash")
        if order.status != order.Completed:
            return
        for sent, price in self.expect:
            if sent.ref == order.ref and not math.isclose(order.executed.price, price,
                                                          rel_tol=1e-12):
                raise RuntimeError(
                    f"backtrader engine: {order.info.get('reason')} filled at "
                    f"{order.executed.price}, sized for {price} (bar {len(self.data) - 1})")

    def next(self):
        i = len(self.data) - 1
        self.expect = []
        if i >= self.p.n:
            return
        size = self.position.size
        if i == self.p.n - 1:
            if size != 0:
                for child in self._alive_children().values():
                    self.cancel(child)
                self.broker.set_coc(True)
                self._send_close("end")
            return
        self.pend = pending_action(self.cfg.direction, size, self.el[i], self.xl[i],
                                   self.es[i], self.xs[i])
