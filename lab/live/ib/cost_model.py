"""The bot's cost model applied to IB's fills: the commission and the fill price the
engines would have charged, journaled beside IB's (commission reports, execution
prices) so cost drift and slippage are visible in the ledger.

The rules are the fast engine's (``lab.kernels.engine``, ``lab.kernels.costs``):
market fills (entries, signal exits, flattening, stops) pay the slippage fraction
against the side of the fill, ``price x (1 + side x slippage)``; take-profits are limit
orders and fill at their level without slippage; the commission model (percent of
notional, per share with minimum and cap, per contract) is ``commission_nb``.
"""

from __future__ import annotations

_COMM_CODE = {"percent": 0, "per_share": 1, "per_contract": 2}


def model_fee(execution, qty: float, price: float) -> float:
    """Commission of ``qty`` units at ``price`` under the bot's commission model.

    Parameters
    ----------
    execution : ExecutionConfig
        ``commission`` (model, rate, minimum, maximum_fraction) and ``multiplier``.
    qty : float
        Units filled (shares, contracts), > 0.
    price : float
        Fill price, quote currency.

    Returns
    -------
    float
        Account currency.
    """
    from lab.kernels.costs import commission_nb

    c = execution.commission
    return float(commission_nb(_COMM_CODE[c.model.value], c.rate, c.minimum,
                               c.maximum_fraction, float(qty), float(price),
                               float(execution.multiplier)))


def model_price(execution, reason: str, side: int, reference: float | None) -> float | None:
    """The price the engines give a fill of ``side`` for ``reason`` at ``reference``.

    Parameters
    ----------
    execution : ExecutionConfig
        ``slippage``, a fraction of price.
    reason : str
        A ``FILL_REASONS`` value; "target" fills at its limit without slippage.
    side : int
        +1 buy, -1 sell (the fill's side).
    reference : float or None
        The last close before a market order was sent, or the child's stop / limit
        level, quote currency; None (unknown) gives None.

    Returns
    -------
    float or None
        Quote currency.
    """
    if reference is None:
        return None
    if reason == "target":
        return float(reference)
    return float(reference) * (1.0 + side * float(execution.slippage))
