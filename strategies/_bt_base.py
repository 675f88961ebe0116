"""Risk-managed base class for native Backtrader strategies (imports backtrader).

A native strategy subclasses ``RiskManagedStrategy`` and, in ``next`` (at a bar's
close), states what it wants with ``go_long()``, ``go_short()`` or ``go_flat()``.
The base acts on that at the next bar's open (``next_open``, cheat-on-open, which
``lab.engines.backtrader_engine.run_native`` turns on): it applies the risk limits,
sizes the entry on the equity at that open, and sends market orders, with a stop-loss
and a take-profit as bracket children when ``lab_config.sl`` / ``.tp`` are set.

Risk limits (0 or a negative hour = off):

* ``max_position_size``: at most this many units (shares, coins, contracts).
* ``max_concentration``: position notional at most this multiple of the equity
  (0.5 = half of the equity).
* ``max_daily_loss``: when the equity at a close is this fraction below the equity at
  the start of its UTC day, the position is closed at the next open and nothing new
  opens until the next UTC day.
* ``max_drawdown``: when the equity at a close is this fraction below its running
  peak, the position is closed at the next open and the strategy stops trading.
* ``flatten_hour``: end-of-day flattening; at the open of the first bar of a UTC day
  that opens at or after this hour, the position is closed, and no new one opens
  until the next day.

Sizing follows ``lab_config`` (an ``ExecutionConfig``) like the signal engines: a
fraction of equity x leverage with the commission inside the budget, a fixed
quantity or a fixed notional, whole units if asked; ``lab_config.direction`` decides
which sides may be held (``go_short`` on a long-only run means flat). Liquidation is
not modeled for native strategies.
"""

from __future__ import annotations

import math

import backtrader as bt
import numpy as np

from lab.core.config import ExecutionConfig
from lab.core.types import CommissionModel, Direction, SizeType

#: Backtrader params of the base (numbers, so a ``Params`` dataclass can carry them).
RISK_PARAMS = (
    ("max_position_size", 0.0),
    ("max_concentration", 0.0),
    ("max_daily_loss", 0.0),
    ("max_drawdown", 0.0),
    ("flatten_hour", -1),
)


class RiskManagedStrategy(bt.Strategy):
    """Intent-driven Backtrader strategy with position, loss and time limits.

    Params
    ------
    lab_config : ExecutionConfig or None
        Sizing, direction, slippage and SL/TP distances (defaults when None).
    max_position_size : float
        Units, 0 = no limit.
    max_concentration : float
        Position notional / equity, 0 = no limit.
    max_daily_loss, max_drawdown : float
        Fractions of equity (0.05 = 5 %), 0 = off.
    flatten_hour : int
        UTC hour 0-23 of the end-of-day flattening, -1 = off.
    """

    params = (("lab_config", None),) + RISK_PARAMS

    def __init__(self):
        self.cfg: ExecutionConfig = self.p.lab_config or ExecutionConfig()
        self._intent: int | None = None
        self._children: list = []
        self._peak = -math.inf
        self._day = None
        self._day_start = None
        self.halted = False            # max drawdown reached: no more trading
        self.day_halted = False        # daily loss or end of day: flat until tomorrow
        self.risk_events: list[tuple[int, str]] = []

    # -- decisions (call from next) -------------------------------------------------
    def go_long(self) -> None:
        """Hold a long position from the next open (reversing a short)."""
        self._intent = 1

    def go_short(self) -> None:
        """Hold a short position from the next open (reversing a long)."""
        self._intent = -1

    def go_flat(self) -> None:
        """Hold no position from the next open."""
        self._intent = 0

    # -- execution ------------------------------------------------------------------
    def prenext_open(self):
        self.next_open()

    def nextstart_open(self):
        self.next_open()

    def next_open(self):
        i = len(self.data) - 1
        self._check_limits(i)
        want, self._intent = self._intent, None
        size = self.position.size
        have = (size > 0) - (size < 0)
        if self.halted or self.day_halted:
            want = 0 if have else None
        if want is None:
            return
        if want == 1 and self.cfg.direction is Direction.SHORT:
            want = 0
        if want == -1 and self.cfg.direction is Direction.LONG:
            want = 0
        if want == have:
            return
        o = self.data.open[0]
        cash = self.broker.getcash()
        if have:
            for child in self._children:
                if child.alive():
                    self.cancel(child)
            exit_price = o * (1.0 - have * self.cfg.slippage)
            cash = self._cash_after_exit(exit_price)
            (self.sell if have > 0 else self.buy)(size=abs(size), reason="signal")
        if want:
            self._enter(want, o, cash)

    def _check_limits(self, i: int) -> None:
        """Update the day, the peak and the halts from the value at the last close."""
        value = self.broker.getvalue()
        when = self.data.datetime.datetime(0)
        if when.date() != self._day:
            self._day, self._day_start = when.date(), value
            self.day_halted = False
        self._peak = max(self._peak, value)
        p = self.p
        if p.max_drawdown > 0 and not self.halted and value <= self._peak * (1 - p.max_drawdown):
            self.halted = True
            self.risk_events.append((i, "max_drawdown"))
        if p.max_daily_loss > 0 and not self.day_halted and \
                value <= self._day_start * (1 - p.max_daily_loss):
            self.day_halted = True
            self.risk_events.append((i, "max_daily_loss"))
        if 0 <= p.flatten_hour <= 23 and when.hour >= p.flatten_hour and not self.day_halted:
            self.day_halted = True
            self.risk_events.append((i, "end_of_day"))

    def _cash_after_exit(self, price: float) -> float:
        """Broker cash after closing the position at ``price`` (Backtrader's arithmetic)."""
        ci, pos = self.broker.getcommissioninfo(self.data), self.position
        closedvalue = ci.getvaluesize(pos.size, pos.price)
        closecash = closedvalue / ci.get_leverage() if closedvalue > 0 else closedvalue
        cash = self.broker.getcash()
        cash += closecash + ci.profitandloss(pos.size, pos.price, price) * ci.stocklike
        return cash - ci.getcommission(-pos.size, price)

    def entry_size(self, side: int, fill: float, equity: float) -> float:
        """Units for an entry at ``fill``: ``lab_config`` sizing, then the risk caps."""
        cfg, ci = self.cfg, self.broker.getcommissioninfo(self.data)
        lev, unit, c = cfg.leverage, fill * cfg.multiplier, cfg.commission
        if equity <= 0:
            return 0.0
        if cfg.size_type is SizeType.EQUITY_FRACTION:
            budget = cfg.size * equity
            if c.model is CommissionModel.PERCENT and c.minimum == 0 and c.maximum_fraction == 0:
                q = budget / (unit * (1.0 / lev + c.rate))
            else:
                q = (budget - ci.getcommission(budget * lev / unit, fill)) * lev / unit
        else:
            q = cfg.size if cfg.size_type is SizeType.QUANTITY else cfg.size / unit
            q = min(q, (equity - ci.getcommission(q, fill)) * lev / unit)
        if self.p.max_position_size > 0:
            q = min(q, self.p.max_position_size)
        if self.p.max_concentration > 0:
            q = min(q, self.p.max_concentration * equity / unit)

        def fits(q):
            value = ci.getvaluesize(side * q, fill)
            left = equity - (value / lev if value > 0 else value)
            return left - ci.getcommission(q, fill) >= 0.0

        # Backtrader refuses a fill that leaves cash at -1e-13: one unit less (whole
        # units), or a few ulps less
        if cfg.whole_units:
            q = math.floor(q + 1e-9)
            if q > 0 and not fits(q):
                q -= 1
        else:
            for _ in range(64):
                if q <= 0 or fits(q):
                    break
                q = float(np.nextafter(q, 0.0))
        return float(q) if q > 0 else 0.0

    def _enter(self, side: int, o: float, cash: float) -> None:
        fill = o * (1.0 + side * self.cfg.slippage)
        qty = self.entry_size(side, fill, cash)
        if qty <= 0:
            return
        cfg = self.cfg
        send, close = (self.buy, self.sell) if side > 0 else (self.sell, self.buy)
        legs = []
        if cfg.sl is not None:
            legs.append((fill * (1.0 - side * cfg.sl), bt.Order.Stop, "stop"))
        if cfg.tp is not None:
            legs.append((fill * (1.0 + side * cfg.tp), bt.Order.Limit, "target"))
        parent = send(size=qty, reason="entry", transmit=not legs)
        self._children = [close(size=qty, price=price, exectype=kind, parent=parent,
                                transmit=k == len(legs) - 1, reason=reason)
                          for k, (price, kind, reason) in enumerate(legs)]
