"""Cost drift and slippage of a bot's fills: the broker's commission and fill price next
to the cost model's (``Fill.fee_model``, ``Fill.price_model``; filled in by the IB
broker from IB's commission reports and executions, None on the paper broker, which is
the model itself).

Per fill::

    fee_drift     = fee - fee_model                       account currency
    slippage      = price - price_model                   quote currency per unit
    slippage_cost = side x (price - price_model) x qty x multiplier
                                                          account currency; > 0 costs
                                                          more than the model

The totals sum these over the fills that have the model's numbers.
"""

from __future__ import annotations

#: Keys ``with_costs`` adds to each fill.
COST_KEYS = ("fee_drift", "slippage", "slippage_cost")


def with_costs(fills: list[dict], multiplier: float) -> list[dict]:
    """Each fill (ledger row) with ``fee_drift``, ``slippage`` and ``slippage_cost``
    (None where the model's number is missing).

    Parameters
    ----------
    fills : list of dict
        Ledger fills (``Ledger.fills``): ``side``, ``qty``, ``price``, ``fee``,
        ``fee_model``, ``price_model``.
    multiplier : float
        Contract multiplier of the bot's ``ExecutionConfig``.
    """
    out = []
    for f in fills:
        row = dict(f)
        fm, pm = f.get("fee_model"), f.get("price_model")
        row["fee_drift"] = None if fm is None else f["fee"] - fm
        row["slippage"] = None if pm is None else f["price"] - pm
        row["slippage_cost"] = None if pm is None else \
            f["side"] * (f["price"] - pm) * f["qty"] * multiplier
        out.append(row)
    return out


def cost_totals(fills: list[dict]) -> dict:
    """Sums over fills from ``with_costs``: ``fees`` (the broker's, all fills),
    ``fees_model``, ``fee_drift`` and ``slippage_cost`` (fills with the model's numbers;
    None when no fill has them), ``fills`` and ``fills_with_model`` (counts)."""
    modelled = [f for f in fills if f.get("fee_model") is not None]
    priced = [f for f in fills if f.get("slippage_cost") is not None]
    return {
        "fills": len(fills), "fills_with_model": len(modelled),
        "fees": sum(f["fee"] for f in fills),
        "fees_model": sum(f["fee_model"] for f in modelled) if modelled else None,
        "fee_drift": sum(f["fee_drift"] for f in modelled) if modelled else None,
        "slippage_cost": sum(f["slippage_cost"] for f in priced) if priced else None,
    }
