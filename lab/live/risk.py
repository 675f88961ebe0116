"""The risk manager: every order a bot wants to send is checked here first.

States (``RiskState``), per bot and for the account (``lab.live.account``):

* ACTIVE: orders pass when they break no limit;
* REDUCING: only orders that shrink the position pass (entered when the day's loss
  reaches ``max_daily_loss``; back to ACTIVE on the next UTC day);
* HALTED: nothing passes but exits that flatten (entered when the drawdown reaches
  ``max_drawdown``, on an emergency stop, or when reconciliation fails; left only by
  a person's ``resume``).

Cancels never come here: they always go through. Every refusal is returned as a
``RiskDecision`` carrying the rule and the numbers, which the bot records as an event.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from lab.live.config import RiskLimits


class RiskState(str, Enum):
    """Risk state of a bot."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


@dataclass(frozen=True)
class OrderCheck:
    """An order as the risk manager sees it.

    Attributes
    ----------
    side : int
        +1 buy, -1 sell.
    qty : float
        Units the order may fill (for an exit: the position's size).
    price : float
        Decision price (the latest close), quote currency.
    position : float
        Signed position before the order, units.
    equity : float
        Account equity at the decision price, account currency.
    multiplier : float
        Contract multiplier.
    is_exit : bool
        The order only closes (reduce-only).
    """

    side: int
    qty: float
    price: float
    position: float
    equity: float
    multiplier: float = 1.0
    is_exit: bool = False

    @property
    def position_after(self) -> float:
        """Signed position if the order fills completely (an exit ends flat)."""
        return 0.0 if self.is_exit else self.position + self.side * self.qty

    @property
    def reduces(self) -> bool:
        """True when the order shrinks the absolute position and never flips it."""
        return self.is_exit or (abs(self.position_after) < abs(self.position)
                                and self.position_after * self.position >= 0)


@dataclass(frozen=True)
class AccountView:
    """The rest of the account, for the account-wide limits.

    Attributes
    ----------
    other_notional : float
        Gross position notional of the account's other bots, account currency.
    other_units : float
        Net signed position of the account's other bots in the order's symbol, units.
    equity : float
        Equity of the whole account (every bot's sub-account), account currency.
    orders_last_minute : int
        Orders the account's bots sent in the last 60 s.
    day_loss : float or None
        Loss of the whole account since the first equity of the UTC day (fraction).
    drawdown : float or None
        Account equity below its recorded peak (fraction; ``lab.live.account``).
    state, reason : str
        The account's stored risk state ("ACTIVE" or "HALTED") and why.
    """

    other_notional: float = 0.0
    other_units: float = 0.0
    equity: float = 0.0
    orders_last_minute: int = 0
    day_loss: float | None = None
    drawdown: float | None = None
    state: str = "ACTIVE"
    reason: str = ""


@dataclass(frozen=True)
class RiskDecision:
    """Outcome of a check: ``accepted``, else the ``rule`` broken and its numbers."""

    accepted: bool
    rule: str = ""
    message: str = ""
    numbers: dict = field(default_factory=dict)


class RiskManager:
    """Check orders against ``limits`` and track the risk state.

    Parameters
    ----------
    limits : RiskLimits
    state : RiskState
        Initial state (from the ledger on restart).
    clock : callable
        Wall-clock seconds (``time.time``), for the order-rate window.
    account_limits : RiskLimits, optional
        The account-wide limits (same fields, on sums over the account's bots).
    account_view : callable, optional
        Returns the ``AccountView`` of the moment (``lab.live.account.view``).
    """

    def __init__(self, limits: RiskLimits, state: RiskState | str = RiskState.ACTIVE,
                 clock=time.time, account_limits: RiskLimits | None = None,
                 account_view=None):
        self.limits = limits
        self.account_limits = account_limits
        self.account_view = account_view
        self.state = RiskState(state)
        self.reason = ""
        self.clock = clock
        self._sent: deque[float] = deque()
        self.peak_equity: float | None = None
        self.day: str | None = None
        self.day_start_equity: float | None = None

    def halt(self, reason: str) -> None:
        """Go HALTED (emergency stop, failed reconciliation, drawdown)."""
        self.state = RiskState.HALTED
        self.reason = reason

    def resume(self) -> None:
        """A person's resume: back to ACTIVE."""
        self.state = RiskState.ACTIVE
        self.reason = ""

    def mark(self, equity: float, day: str) -> RiskState:
        """Update with the equity at a bar's close on UTC date ``day`` (``YYYY-MM-DD``);
        returns the (possibly new) state."""
        lim = self.limits
        if self.day != day:
            self.day = day
            self.day_start_equity = equity
            if self.state is RiskState.REDUCING:
                self.state, self.reason = RiskState.ACTIVE, ""
        self.peak_equity = equity if self.peak_equity is None else max(self.peak_equity, equity)
        if self.state is RiskState.HALTED:
            return self.state
        if lim.max_drawdown is not None and self.peak_equity > 0:
            dd = 1.0 - equity / self.peak_equity
            if dd >= lim.max_drawdown:
                self.halt(f"drawdown {dd:.4f} reached max_drawdown {lim.max_drawdown}")
                return self.state
        if lim.max_daily_loss is not None and self.day_start_equity and \
                self.state is RiskState.ACTIVE:
            loss = 1.0 - equity / self.day_start_equity
            if loss >= lim.max_daily_loss:
                self.state = RiskState.REDUCING
                self.reason = (f"daily loss {loss:.4f} reached max_daily_loss "
                               f"{lim.max_daily_loss}")
        return self.state

    def check(self, order: OrderCheck) -> RiskDecision:
        """Would ``order`` break a limit or the state's rule? Accepted orders count
        toward the order rate (call ``check`` only for orders about to be sent)."""
        decision = self._check(order)
        if decision.accepted:
            self._sent.append(self.clock())
        return decision

    def _check(self, o: OrderCheck) -> RiskDecision:
        lim = self.limits
        if self.state is RiskState.HALTED and not o.is_exit:
            return RiskDecision(False, "halted", f"bot is HALTED ({self.reason}); only "
                                "flattening passes", {"state": self.state.value})
        if self.state is RiskState.REDUCING and not o.reduces:
            return RiskDecision(False, "reducing", f"bot is REDUCING ({self.reason}); only "
                                "orders that shrink the position pass",
                                {"position": o.position, "position_after": o.position_after})
        acc = self.account_limits if self.account_limits is not None and \
            self.account_limits.any_set else None
        view = None
        if acc is not None:
            view = self.account_view() if self.account_view is not None else AccountView()
            refused = _account_state_rule(o, acc, view)
            if refused is not None:
                return refused
        if o.reduces:
            return RiskDecision(True)
        if lim.max_orders_per_minute is not None:
            now = self.clock()
            while self._sent and self._sent[0] <= now - 60.0:
                self._sent.popleft()
            if len(self._sent) >= lim.max_orders_per_minute:
                return RiskDecision(False, "max_orders_per_minute",
                                    f"{len(self._sent)} orders in the last minute, limit "
                                    f"{lim.max_orders_per_minute}",
                                    {"orders_last_minute": len(self._sent),
                                     "limit": lim.max_orders_per_minute})
        after = abs(o.position_after)
        notional = after * o.price * o.multiplier
        checks = [
            ("max_position_units", lim.max_position_units, after, "position units"),
            ("max_position_notional", lim.max_position_notional, notional, "position notional"),
        ]
        if o.equity > 0:
            checks.append(("max_concentration", lim.max_concentration, notional / o.equity,
                           "position notional / equity"))
            checks.append(("max_leverage", lim.max_leverage, notional / o.equity,
                           "notional / equity"))
        for rule, limit, value, what in checks:
            if limit is not None and value > limit:
                return RiskDecision(False, rule, f"{what} after the order {value:.6g} exceeds "
                                    f"{rule} {limit:g}", {"value": value, "limit": limit,
                                                          "qty": o.qty, "price": o.price})
        if o.equity <= 0 and (lim.max_concentration is not None or lim.max_leverage is not None):
            return RiskDecision(False, "max_leverage", "equity is not positive; no new "
                                "exposure", {"equity": o.equity})
        if acc is not None:
            return _check_account(o, notional, acc, view)
        return RiskDecision(True)


def _account_state_rule(o: OrderCheck, acc: RiskLimits, view: AccountView):
    """The account's state for this order: HALTED (stored, or the drawdown reached
    ``max_drawdown``) passes only exits; REDUCING (the day's loss reached
    ``max_daily_loss``) passes only orders that shrink. None = no objection."""
    if view.state == "HALTED" and not o.is_exit:
        return RiskDecision(False, "account.halted", f"account is HALTED ({view.reason}); "
                            "only flattening passes", {"state": view.state})
    if acc.max_drawdown is not None and view.drawdown is not None and \
            view.drawdown >= acc.max_drawdown and not o.is_exit:
        return RiskDecision(False, "account.max_drawdown",
                            f"account drawdown {view.drawdown:.4f} reached "
                            f"{acc.max_drawdown}; only flattening passes",
                            {"value": view.drawdown, "limit": acc.max_drawdown,
                             "equity": view.equity})
    if acc.max_daily_loss is not None and view.day_loss is not None and \
            view.day_loss >= acc.max_daily_loss and not o.reduces:
        return RiskDecision(False, "account.max_daily_loss",
                            f"account daily loss {view.day_loss:.4f} reached "
                            f"{acc.max_daily_loss}; only orders that shrink pass",
                            {"value": view.day_loss, "limit": acc.max_daily_loss})
    return None


def _check_account(o: OrderCheck, notional: float, acc: RiskLimits,
                   view: AccountView) -> RiskDecision:
    """The account-wide limits on an order that adds exposure: the same rules on the
    sum over the account's bots (units: net position in the order's symbol)."""
    if acc.max_orders_per_minute is not None and \
            view.orders_last_minute >= acc.max_orders_per_minute:
        return RiskDecision(False, "account.max_orders_per_minute",
                            f"{view.orders_last_minute} account orders in the last minute, "
                            f"limit {acc.max_orders_per_minute}",
                            {"value": view.orders_last_minute,
                             "limit": acc.max_orders_per_minute})
    total = view.other_notional + notional
    units = abs(view.other_units + o.position_after)
    checks = [("account.max_position_units", acc.max_position_units, units,
               "account net position units in the symbol"),
              ("account.max_position_notional", acc.max_position_notional, total,
               "account gross notional")]
    if view.equity > 0:
        checks += [("account.max_concentration", acc.max_concentration,
                    notional / view.equity, "position notional / account equity"),
                   ("account.max_leverage", acc.max_leverage, total / view.equity,
                    "account gross notional / account equity")]
    elif acc.max_concentration is not None or acc.max_leverage is not None:
        return RiskDecision(False, "account.max_leverage", "account equity is not positive; "
                            "no new exposure", {"equity": view.equity})
    for rule, limit, value, what in checks:
        if limit is not None and value > limit:
            return RiskDecision(False, rule, f"{what} after the order {value:.6g} exceeds "
                                f"{rule} {limit:g}", {"value": value, "limit": limit,
                                                      "qty": o.qty, "price": o.price})
    return RiskDecision(True)
