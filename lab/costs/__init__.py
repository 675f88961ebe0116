"""Cost models: commission presets, slippage, the instrument registry.

Used by every engine and the paper broker so they all charge the same. Amounts are
in account currency, rates are fractions.
"""

from __future__ import annotations

from lab.core.config import Commission
from lab.core.types import CommissionModel
from lab.costs.instruments import (INSTRUMENTS, SEC_FEE_RATE, InstrumentSpec, find_instrument,
                                   instrument)


def percent(rate: float = 0.001) -> Commission:
    """Percent-of-notional commission; ``rate=0.001`` is 0.1 % (a common crypto taker fee)."""
    return Commission(CommissionModel.PERCENT, rate=rate)


def ib_fixed() -> Commission:
    """Interactive Brokers US stocks, fixed pricing.

    $0.005 per share, $1.00 minimum per order, at most 1 % of trade value
    (interactivebrokers.com, "Commissions: Stocks, ETFs and Warrants", fixed).
    """
    return Commission(CommissionModel.PER_SHARE, rate=0.005, minimum=1.0,
                      maximum_fraction=0.01)


def ib_tiered() -> Commission:
    """Interactive Brokers US stocks, tiered pricing, first tier (up to 300,000 shares
    a month).

    $0.0035 per share, $0.35 minimum per order, at most 1 % of trade value
    (interactivebrokers.com, "Commissions: Stocks, ETFs and Warrants", tiered).
    Only IB's own commission: the exchange, clearing and regulatory fees that tiered
    pricing passes through (and the lower rates of higher monthly volume tiers) are
    not modeled.
    """
    return Commission(CommissionModel.PER_SHARE, rate=0.0035, minimum=0.35,
                      maximum_fraction=0.01)


def per_share(rate: float, minimum: float = 0.0, maximum_fraction: float = 0.0) -> Commission:
    """Per-share commission: ``rate`` account currency per share, with minimum and cap."""
    return Commission(CommissionModel.PER_SHARE, rate=rate, minimum=minimum,
                      maximum_fraction=maximum_fraction)


def per_contract(rate: float = 0.85, minimum: float = 0.0) -> Commission:
    """Per-contract commission for futures; $0.85 is IB's fixed US futures rate."""
    return Commission(CommissionModel.PER_CONTRACT, rate=rate, minimum=minimum)


def commission_of(commission: Commission, qty: float, price: float,
                  multiplier: float = 1.0) -> float:
    """Commission of one fill in account currency (pure Python, same rule as the kernel).

    Parameters
    ----------
    commission : Commission
        The schedule.
    qty : float
        Units or contracts (sign ignored).
    price : float
        Fill price.
    multiplier : float
        Contract multiplier.
    """
    from lab.kernels.costs import commission_nb
    from lab.kernels.layout import COMMISSION_CODES

    return float(commission_nb(COMMISSION_CODES[commission.model.value], commission.rate,
                               commission.minimum, commission.maximum_fraction,
                               float(qty), float(price), float(multiplier)))


#: Futures of the instrument registry by root (``lab.costs.instruments``): multiplier,
#: tick size, tick value, margins and fees per contract.
CONTRACTS: dict[str, InstrumentSpec] = {k: v for k, v in INSTRUMENTS.items() if v.is_future}

#: Commission presets by name, for the CLI and the UI.
PRESETS = {
    "percent": "fraction of notional (crypto default 0.001 = 0.1 %)",
    "per_share": "per share with minimum and cap (IB fixed: 0.005, $1 min, 1 % cap)",
    "ib_tiered": "IB tiered first tier: 0.0035 per share, $0.35 min, 1 % cap (no exchange fees)",
    "per_contract": "per futures contract (IB: 0.85)",
}

__all__ = ["CONTRACTS", "Commission", "INSTRUMENTS", "InstrumentSpec", "PRESETS",
           "SEC_FEE_RATE", "commission_of", "find_instrument", "ib_fixed", "ib_tiered",
           "instrument", "per_contract", "per_share", "percent"]
