"""The kernel's trading rules in plain Python, for the adapters of other engines and
the paper broker.

``lab.kernels.engine`` is the reference; these functions restate its rules
(pending action, entry sizing, exit levels, which exit a bar reaches first) so the
Backtrader and vectorbt adapters, and a paper broker, decide orders the same way.
Backtrader or vectorbt then trigger, price and account for the fills themselves. The
pending-action codes are the kernel's (``lab.kernels.layout.PEND_*``).

This module sits in ``lab.costs`` (not ``lab.engines``) so that ``lab.live`` may import it.
"""

from __future__ import annotations

import math

from lab.core.config import ExecutionConfig
from lab.core.types import BothHitRule, CommissionModel, Direction, SizeType
from lab.kernels.layout import PEND_CLOSE, PEND_LONG, PEND_NONE, PEND_SHORT

__all__ = ["PEND_CLOSE", "PEND_LONG", "PEND_NONE", "PEND_SHORT", "entry_quantity",
           "exit_levels", "exit_priority", "gapped_exit", "pending_action", "round_tick"]


def pending_action(direction: Direction, qty: float, el: bool, xl: bool, es: bool,
                   xs: bool) -> int:
    """Action for the next open from one bar's signals and the position at its close.

    Same rule as ``lab.kernels.engine.pending_action_nb``: an entry and an exit of
    one side on one bar leave only the exit; long and short entries on one bar
    cancel; with BOTH an opposite entry reverses.
    """
    long_sig = el and not xl and direction is not Direction.SHORT
    short_sig = es and not xs and direction is not Direction.LONG
    if long_sig and short_sig:
        long_sig = short_sig = False
    if qty > 0:
        if short_sig:
            return PEND_SHORT
        return PEND_CLOSE if (xl and not el) else PEND_NONE
    if qty < 0:
        if long_sig:
            return PEND_LONG
        return PEND_CLOSE if (xs and not es) else PEND_NONE
    if long_sig:
        return PEND_LONG
    return PEND_SHORT if short_sig else PEND_NONE


def entry_quantity(config: ExecutionConfig, equity: float, fill: float, fee,
                   side: float = 1.0) -> float:
    """Units to buy or sell at ``fill`` so that margin + fees fit the budget.

    Parameters
    ----------
    config : ExecutionConfig
        Sizing (``size_type``, ``size``, ``whole_units``, ``min_notional``), leverage or
        initial margin per contract, multiplier, exchange and SEC fees.
    equity : float
        Equity available to the entry, account currency.
    fill : float
        Expected fill price (slippage included).
    fee : callable
        ``fee(qty, price) -> float``, all fees of one fill of signed ``qty`` (> 0 a
        buy, < 0 a sell): commission, exchange fee, SEC fee on sells.
    side : float
        +1 for a long entry (a buy), -1 for a short entry (a sell).

    Returns
    -------
    float
        Quantity > 0, or 0.0 when the budget buys nothing or an order whose notional
        (quantity x ``fill`` x multiplier) is below ``config.min_notional``.
    """
    lev, unit = config.leverage, fill * config.multiplier
    c = config.commission
    im, xf = config.initial_margin, config.exchange_fee
    sec = config.sec_fee if side < 0 else 0.0
    plain = c.model is CommissionModel.PERCENT and c.minimum == 0.0 \
        and c.maximum_fraction == 0.0

    def affordable(budget: float) -> float:    # as lab.kernels.engine._affordable_nb
        if im <= 0.0 and xf == 0.0 and sec == 0.0:
            if plain:
                return budget / (unit * (1.0 / lev + c.rate))
            q0 = budget * lev / unit
            return (budget - fee(side * q0, fill)) * lev / unit
        m = im if im > 0.0 else unit / lev
        if plain:
            per = m + unit * c.rate + xf
            if sec > 0.0:
                per += sec * unit
            return budget / per
        q0 = budget / m
        return (budget - fee(side * q0, fill)) / m

    if config.size_type is SizeType.EQUITY_FRACTION:
        q = affordable(config.size * equity)
    else:
        q = config.size if config.size_type is SizeType.QUANTITY else config.size / unit
        margin = q * im if im > 0.0 else q * unit / lev
        if margin + fee(side * q, fill) > equity:
            q = affordable(equity)
    if config.whole_units:
        q = math.floor(q + 1e-9)
    if not q > 0.0 or q * unit < config.min_notional:
        return 0.0
    return float(q)


def round_tick(price: float, tick: float) -> float:
    """``price`` rounded to the nearest multiple of ``tick`` (as the kernel's
    ``round_tick_nb``: ``floor(price / tick + 0.5) x tick``; unchanged for tick <= 0)."""
    if tick > 0.0 and price == price:
        return math.floor(price / tick + 0.5) * tick
    return price


def exit_levels(config: ExecutionConfig, side: float, fill: float, qty: float = 0.0,
                cash: float = 0.0) -> dict:
    """Stop, target and liquidation prices of a position entered at ``fill``.

    NaN for a level that is off (no ``sl`` / ``tp``; a long at leverage 1 cannot be
    liquidated). Stop and target are rounded to ``config.tick_size``. Liquidation with
    isolated margin: margin + unrealized PnL = maintenance margin x notional, i.e.
    ``fill x (1 - 1/lev) / (1 - mm)`` for a long, ``fill x (1 + 1/lev) / (1 + mm)``
    for a short. With futures margin (``config.initial_margin``), the account-level
    margin call: ``fill -/+ (cash - qty x mmpc) / (qty x multiplier)``, where ``cash``
    is the account's cash after the entry's fees and ``qty`` the contracts (both
    needed then).
    """
    lev, mm, tick = config.leverage, config.maintenance_margin, config.tick_size
    nan = float("nan")
    if side > 0:
        liq = fill * (1.0 - 1.0 / lev) / (1.0 - mm)
        stop = round_tick(fill * (1.0 - config.sl), tick) if config.sl is not None else nan
        target = round_tick(fill * (1.0 + config.tp), tick) if config.tp is not None else nan
    else:
        liq = fill * (1.0 + 1.0 / lev) / (1.0 + mm)
        stop = round_tick(fill * (1.0 + config.sl), tick) if config.sl is not None else nan
        target = round_tick(fill * (1.0 - config.tp), tick) if config.tp is not None else nan
    if config.initial_margin > 0.0:
        room = (cash - qty * config.maintenance_per_contract_effective) / \
            (qty * config.multiplier)
        liq = fill - side * room
    return {"stop": stop, "target": target,
            "liquidation": liq if (side < 0 or liq > 0.0) else nan}


def gapped_exit(side: float, levels: dict, open_: float) -> str | None:
    """The exit whose level the open is already beyond (liquidation, then stop, then
    target, as the kernel's ``gap_check_nb``), or None."""
    if side > 0:
        hit = {k: open_ <= levels[k] for k in ("liquidation", "stop")}
        hit["target"] = open_ >= levels["target"]
    else:
        hit = {k: open_ >= levels[k] for k in ("liquidation", "stop")}
        hit["target"] = open_ <= levels["target"]
    for name in ("liquidation", "stop", "target"):
        if hit[name]:                      # NaN levels compare False
            return name
    return None


def exit_priority(config: ExecutionConfig, side: float, levels: dict,
                  open_: float) -> list[str]:
    """Order in which the exits of a position are tried within one bar.

    The adverse level nearer to the entry goes first (the stop when it lies between
    the entry and the liquidation price, as the kernel's ``intrabar_check_nb``), and
    the target goes before or after it by ``config.both_hit``.
    """
    sl, tp, liq = levels["stop"], levels["target"], levels["liquidation"]
    stop_first = not math.isnan(sl) and (math.isnan(liq) or
                                        (sl >= liq if side > 0 else sl <= liq))
    adverse = ["stop", "liquidation"] if stop_first else ["liquidation", "stop"]
    rule = config.both_hit
    target_first = rule is BothHitRule.TARGET_FIRST
    if rule is BothHitRule.NEAREST_TO_OPEN and not math.isnan(tp):
        near = levels[adverse[0]]
        target_first = math.isnan(near) or abs(open_ - near) > abs(tp - open_)
    return ["target"] + adverse if target_first else adverse + ["target"]


def min_notional_block(config: ExecutionConfig, equity: float, price: float) -> float | None:
    """The order value an entry could reach, when only the minimum order value stops it.

    Applies ``entry_quantity`` at ``price`` with and without ``config.min_notional``:
    the account can still buy something, but less than the minimum.

    Parameters
    ----------
    config : ExecutionConfig
        The run's settings (``min_notional`` in account currency).
    equity : float
        Equity available to an entry, account currency (flat: the final equity).
    price : float
        Fill price of the next entry (e.g. the last close).

    Returns
    -------
    float or None
        The largest order value (quantity x price x multiplier, account currency) when
        it is positive but below ``config.min_notional``; None when an entry fits or
        there is no minimum.
    """
    from dataclasses import replace

    from lab.costs import commission_of

    if not config.min_notional > 0.0 or not (equity > 0.0 and price > 0.0):
        return None

    def fee(qty: float, px: float) -> float:
        return commission_of(config.commission, qty, px, config.multiplier)

    if entry_quantity(config, equity, price, fee) > 0.0:
        return None
    q = entry_quantity(replace(config, min_notional=0.0), equity, price, fee)
    return q * price * config.multiplier if q > 0.0 else None


def one_unit_block(config: ExecutionConfig, equity: float, price: float) -> float | None:
    """What one unit (one contract, one share) costs to enter, when whole units are
    required and the account cannot afford even one.

    Parameters
    ----------
    config : ExecutionConfig
        The run's settings (``whole_units``; ``initial_margin`` per contract for futures,
        else ``leverage``; fees as ``entry_quantity`` counts them).
    equity : float
        Equity available to an entry, account currency.
    price : float
        Fill price of the next entry (e.g. the last close).

    Returns
    -------
    float or None
        Equity that one unit needs (account currency): ``equity / q`` where ``q`` is the
        fraction of a unit the account could buy without the whole-unit rule; None when
        whole units are not required, an entry fits, or nothing can be bought at all.
    """
    from dataclasses import replace

    from lab.costs import commission_of

    if not config.whole_units or not (equity > 0.0 and price > 0.0):
        return None

    def fee(qty: float, px: float) -> float:
        return commission_of(config.commission, qty, px, config.multiplier)

    if entry_quantity(config, equity, price, fee) > 0.0:
        return None
    q = entry_quantity(replace(config, whole_units=False, min_notional=0.0), equity,
                       price, fee)
    return equity / q if 0.0 < q < 1.0 else None
