"""Backtrader plumbing shared by the signal adapter and native strategies.

Imported only by ``lab.engines.backtrader_engine`` inside its functions (this module
imports backtrader at the top). What is adapted, and why:

* ``LabBroker`` is Backtrader's ``BackBroker`` with three changes. (1) Bracket
  children are activated as soon as their parent fills, so a stop-loss or
  take-profit can fill on the entry bar (the stock broker activates them one bar
  later; see docs/engines.md). (2) Limit orders (take-profits) and orders flagged
  ``noslip`` (liquidations) fill without the percentage slippage that the broker
  applies to every other fill. (3) An entry flagged ``overdraft=x`` may leave cash
  at -x (the kernel's whole-unit rounding tolerance, at most 1e-9 of the notional).
* ``LabCommInfo`` charges exactly ``lab.costs.commission_of`` (plus the exchange fee
  per contract and the SEC fee on sells) and values a position as quantity x price x
  multiplier, with Backtrader's own stock-like leverage accounting (cash for a long =
  notional / leverage); with an initial margin per contract it is Backtrader's
  futures accounting instead (``stocklike=False``, ``margin``).
* ``bars_feed`` appends one synthetic bar (all prices = the last close) after the
  data, so that an order placed at the last bar's close (cheat-on-close) can fill at
  that close: Backtrader executes orders only when a later bar arrives.
* ``Recorder`` (an analyzer) collects the equity at every close, the fills and the
  closed trades (PnL and commission from Backtrader's ``Trade``) into the kernel's
  record layout, so ``lab.engines.result`` builds the frames.
"""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd

from lab.core.config import ExecutionConfig
from lab.costs import commission_of
from lab.kernels.layout import R_ENTRY, REASON_NAMES

#: Exit reason codes of the kernel (``lab.kernels.layout.R_*``); -1 marks an entry fill.
REASON_CODES = {"entry": float(R_ENTRY),
                **{name: float(code) for code, name in enumerate(REASON_NAMES)}}


class LabCommInfo(bt.CommInfoBase):
    """Commission and valuation of ``lab.core.config.Commission`` in Backtrader.

    Fees per fill are ``lab.costs.commission_of(commission, size, price, multiplier)``
    (percent of notional, per share with minimum and cap, per contract) plus
    ``lab_exchange_fee`` per unit plus ``lab_sec_fee`` x notional on a sell (negative
    ``size``), account currency. Stock-like (the default): values and costs include
    the multiplier and longs tie up notional / leverage of cash (Backtrader's
    stock-like leverage). Futures (``stocklike=False``, ``margin`` = initial margin
    per contract): Backtrader's own futures accounting, an entry ties up contracts x
    margin and the PnL is settled into cash at every close (``cashadjust``).
    """

    params = (
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
        ("percabs", True),
        ("lab_commission", None),
        ("lab_exchange_fee", 0.0),
        ("lab_sec_fee", 0.0),
    )

    def _getcommission(self, size, price, pseudoexec):
        fee = commission_of(self.p.lab_commission, size, price, self.p.mult)
        if self.p.lab_exchange_fee > 0.0:
            fee += self.p.lab_exchange_fee * abs(size)
        if size < 0 and self.p.lab_sec_fee > 0.0:
            fee += self.p.lab_sec_fee * abs(size) * price * self.p.mult
        return fee

    def getoperationcost(self, size, price):
        if not self._stocklike:
            return super().getoperationcost(size, price)
        return abs(size) * price * self.p.mult

    def getvaluesize(self, size, price):
        if not self._stocklike:
            return super().getvaluesize(size, price)
        return size * price * self.p.mult

    def getvalue(self, position, price):
        if not self._stocklike:
            return super().getvalue(position, price)
        return position.size * price * self.p.mult

    def get_margin(self, price):
        if not self._stocklike:
            return self.p.margin
        return price * self.p.mult / self.p.leverage


class LabBroker(bt.brokers.BackBroker):
    """``BackBroker`` with same-bar bracket children and per-order slippage opt-out."""

    def _bracketize(self, order, cancel=False):
        parent = getattr(order.parent, "ref", order.ref) == order.ref
        super()._bracketize(order, cancel=cancel)
        if parent and not cancel:
            # children are appended after the parent in ``pending``, so they are
            # tried against this same bar once active
            while self._toactivate:
                self._toactivate.popleft().activate()

    def _try_exec(self, order):
        noslip = order.exectype == bt.Order.Limit or order.info.get("noslip", False)
        if noslip and self.p.slip_perc:
            saved = self.p.slip_perc
            self.p.slip_perc = 0.0
            try:
                super()._try_exec(order)
            finally:
                self.p.slip_perc = saved
        else:
            super()._try_exec(order)

    def _execute(self, order, ago=None, price=None, cash=None, position=None,
                 dtcoc=None):
        # an entry the adapter flags may overdraw by the kernel's whole-unit rounding
        slack = order.info.get("overdraft", 0.0) if ago is not None else 0.0
        if not slack:
            return super()._execute(order, ago=ago, price=price, cash=cash,
                                    position=position, dtcoc=dtcoc)
        self.cash += slack
        try:
            return super()._execute(order, ago=ago, price=price, cash=cash,
                                    position=position, dtcoc=dtcoc)
        finally:
            self.cash -= slack

    def move_to_front(self, orders) -> None:
        """Put ``orders`` (alive, pending) at the head of the queue, in that order.

        The broker tries pending orders in queue order against each bar, so this
        decides which of several triggered exits fills first.
        """
        wanted = [o for o in orders if o in self.pending]
        for o in wanted:
            self.pending.remove(o)
        self.pending.extendleft(reversed(wanted))


def make_cerebro(bars: pd.DataFrame, config: ExecutionConfig):
    """A Cerebro with ``LabBroker``, ``LabCommInfo``, slippage and the bar feed.

    Returns
    -------
    Cerebro
    """
    cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True, runonce=True,
                         preload=True, quicknotify=False)
    broker = LabBroker(cash=config.cash, checksubmit=False, coo=True)
    if config.slippage > 0:
        # every fill at the open, at a stop and at the close pays the slippage, even
        # beyond the bar's range (slip_out), as the kernel's market fills
        broker.set_slippage_perc(config.slippage, slip_open=True, slip_limit=True,
                                 slip_match=True, slip_out=True)
    cerebro.broker = broker
    futures = {"stocklike": False, "margin": config.initial_margin} \
        if config.initial_margin > 0 else {}
    cerebro.broker.addcommissioninfo(LabCommInfo(
        lab_commission=config.commission, mult=config.multiplier,
        leverage=config.leverage, lab_exchange_fee=config.exchange_fee,
        lab_sec_fee=config.sec_fee, **futures))
    cerebro.adddata(bars_feed(bars))
    return cerebro


def bars_feed(bars: pd.DataFrame):
    """``PandasData`` of ``bars`` (naive UTC times) plus one synthetic closing bar."""
    df = bars[["open", "high", "low", "close"]].astype(np.float64)
    df["volume"] = bars["volume"].to_numpy(dtype=np.float64) if "volume" in bars else 0.0
    index = df.index.tz_convert("UTC").tz_localize(None) if df.index.tz is not None \
        else df.index
    step = index[-1] - index[-2]
    last = float(df["close"].iloc[-1])
    extra = pd.DataFrame({"open": last, "high": last, "low": last, "close": last,
                          "volume": 0.0}, index=[index[-1] + step])
    df.index = index
    feed = pd.concat([df, extra])
    return bt.feeds.PandasData(dataname=feed, openinterest=None)


def _default_reason(order, open_trade) -> str:
    """Reason of an untagged fill (native strategies): entry when flat, else by type."""
    if open_trade is None or (order.executed.size > 0) == (open_trade["pos"] > 0):
        return "entry"
    if order.exectype in (bt.Order.Stop, bt.Order.StopTrail, bt.Order.StopLimit):
        return "stop"
    if order.exectype == bt.Order.Limit:
        return "target"
    return "signal"


class Recorder(bt.Analyzer):
    """Equity, position, fills and closed trades of one run, bar by bar.

    Parameters
    ----------
    n : int
        Number of real bars (the synthetic closing bar is not recorded).
    leverage, multiplier : float
        For the margin committed at entry (entry notional / leverage).
    initial_margin : float
        Futures initial margin per contract; when > 0 the margin committed at entry is
        contracts x initial margin.
    """

    params = (("n", 0), ("leverage", 1.0), ("multiplier", 1.0), ("initial_margin", 0.0))

    def start(self):
        n = self.p.n
        self.equity = np.full(n, np.nan)
        self.position = np.zeros(n)
        self.bar_dt: list[float] = []
        self.fills: list[list[float]] = []       # [dt, side, qty, price, fee, reason]
        self.trades: list[list[float]] = []      # kernel T_* layout, idx as dt
        self._open: dict | None = None
        self._closed_bt: list = []

    # -- events ------------------------------------------------------------------
    def notify_order(self, order):
        if order.status != order.Completed:
            return
        ex = order.executed
        size = ex.size
        # ``executed.price`` is (size x price) / size, which can be 1 ulp off the fill
        price = ex.exbits[0].price if len(ex.exbits) == 1 else ex.price
        reason = order.info.get("reason", None) or _default_reason(order, self._open)
        side = 1.0 if size > 0 else -1.0
        self.fills.append([ex.dt, side, abs(size), price, ex.comm,
                           REASON_CODES.get(reason, 0.0)])
        self._track(ex.dt, size, price, ex.comm, reason)

    def _track(self, dt, size, price, fee, reason):
        """Aggregate fills into round trips (flat -> position -> flat)."""
        t = self._open
        if t is None:
            self._open = {"dt": dt, "side": 1.0 if size > 0 else -1.0, "pos": size,
                          "qty": abs(size), "cost": abs(size) * price, "fees": fee,
                          "exit_qty": 0.0, "exit_value": 0.0, "reason": reason,
                          "prices": [price], "exit_prices": []}
            return
        same = (size > 0) == (t["pos"] > 0)
        if same:
            t["qty"] += abs(size)
            t["cost"] += abs(size) * price
            t["prices"].append(price)
            t["fees"] += fee
            t["pos"] += size
            return
        closing = min(abs(size), abs(t["pos"]))
        t["exit_qty"] += closing
        t["exit_value"] += closing * price
        t["exit_prices"].append(price)
        t["fees"] += fee * closing / abs(size)
        t["pos"] += size
        t["reason"] = reason
        if abs(t["pos"]) < 1e-12 * max(1.0, t["qty"]):
            self._finish(dt)
        elif (t["pos"] > 0) != (t["side"] > 0):      # one order closed and reversed
            rest = t["pos"]
            self._finish(dt)
            self._open = {"dt": dt, "side": 1.0 if rest > 0 else -1.0, "pos": rest,
                          "qty": abs(rest), "cost": abs(rest) * price,
                          "fees": fee * abs(rest) / abs(size), "exit_qty": 0.0,
                          "exit_value": 0.0, "reason": reason, "prices": [price],
                          "exit_prices": []}

    def _finish(self, dt):
        t = self._open
        self._open = None
        # one fill each way (always, for the signal adapter): its exact price
        entry = t["prices"][0] if len(t["prices"]) == 1 else t["cost"] / t["qty"]
        exit_ = t["exit_prices"][0] if len(t["exit_prices"]) == 1 \
            else t["exit_value"] / t["exit_qty"]
        pnl = t["side"] * t["exit_qty"] * self.p.multiplier * (exit_ - entry) - t["fees"]
        if self.p.initial_margin > 0:
            margin = t["qty"] * self.p.initial_margin
        else:
            margin = t["qty"] * entry * self.p.multiplier / self.p.leverage
        self.trades.append([t["dt"], dt, t["side"], t["qty"], entry, exit_, pnl,
                            t["fees"], REASON_CODES.get(t["reason"], 0.0), margin])

    def notify_trade(self, trade):
        if trade.isclosed:
            self._closed_bt.append((trade.pnlcomm, trade.commission))

    def next(self):
        i = len(self.data) - 1
        self.bar_dt.append(self.data.datetime[0])
        if i < self.p.n:
            self.equity[i] = self.strategy.broker.getvalue()
            self.position[i] = self.strategy.position.size

    def stop(self):
        # the synthetic bar carries the end-of-data close of the last real bar
        self.equity[self.p.n - 1] = self.strategy.broker.getvalue()
        self.position[self.p.n - 1] = self.strategy.position.size

    # -- output --------------------------------------------------------------------
    def records(self) -> tuple[np.ndarray, np.ndarray]:
        """(trades, orders) in the ``lab.kernels.engine`` ``T_*`` / ``O_*`` layouts.

        Trade PnL and fees are Backtrader's (``Trade.pnlcomm``, ``Trade.commission``)
        when its closed trades pair one to one with the round trips seen here.
        """
        dt_index = {dt: i for i, dt in enumerate(self.bar_dt)}
        last = self.p.n - 1

        def bar(dt):
            return float(min(dt_index[dt], last))

        trades = np.array([[bar(t[0]), bar(t[1])] + t[2:] for t in self.trades],
                          dtype=np.float64).reshape(-1, 10)
        if len(self._closed_bt) == len(trades):
            for k, (pnlcomm, comm) in enumerate(self._closed_bt):
                trades[k, 6] = pnlcomm
                trades[k, 7] = comm
        orders = np.array([[bar(f[0])] + f[1:] for f in self.fills],
                          dtype=np.float64).reshape(-1, 6)
        return trades, orders
