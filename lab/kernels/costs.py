"""Commission and slippage kernels shared by the engines and the paper broker."""

from __future__ import annotations

import numpy as np
from numba import njit

from lab.kernels.layout import COMM_PERCENT



@njit(cache=True)
def commission_nb(model, rate, minimum, maximum_fraction, qty, price, multiplier):
    """Commission of one fill, account currency.

    Parameters
    ----------
    model : int
        0 percent of notional, 1 per share (with minimum and cap), 2 per contract.
    rate : float
        Fraction of notional (model 0) or account currency per unit (1, 2).
    minimum : float
        Minimum per order, account currency (0 = none).
    maximum_fraction : float
        Cap as a fraction of notional (0 = none). Interactive Brokers fixed pricing
        caps at 1 % of trade value and applies the cap after the $1.00 minimum.
    qty : float
        Units (shares, coins, contracts), sign ignored.
    price, multiplier : float
        Fill price and contract multiplier; notional = |qty| x price x multiplier.

    Returns
    -------
    float
        Commission >= 0; 0 for a zero quantity.
    """
    q = abs(qty)
    if q == 0.0:
        return 0.0
    notional = q * price * multiplier
    if model == COMM_PERCENT:
        fee = rate * notional
    else:
        fee = rate * q
    if fee < minimum:
        fee = minimum
    if maximum_fraction > 0.0:
        cap = maximum_fraction * notional
        if fee > cap:
            fee = cap
    return fee


@njit(cache=True)
def slipped_price_nb(price, side, slippage):
    """Fill price of a market order after slippage.

    Parameters
    ----------
    price : float
        Reference price (bar open, stop level, close).
    side : int
        +1 buy, -1 sell. Buys pay more, sells receive less.
    slippage : float
        Fraction of price (0.0005 = 5 bps).
    """
    return price * (1.0 + side * slippage)


@njit(cache=True)
def commission_array_nb(model, rate, minimum, maximum_fraction, qty, price, multiplier):
    """Vectorized ``commission_nb`` over arrays ``qty`` and ``price`` of shape (n,)."""
    out = np.empty(qty.shape[0])
    for i in range(qty.shape[0]):
        out[i] = commission_nb(model, rate, minimum, maximum_fraction, qty[i], price[i],
                               multiplier)
    return out
