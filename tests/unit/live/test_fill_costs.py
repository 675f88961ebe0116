"""Cost drift and slippage per fill and in total (lab.live.fill_costs)."""

from __future__ import annotations

import pytest

from lab.live.fill_costs import cost_totals, with_costs


def _fill(side, qty, price, fee, fee_model=None, price_model=None, reason="entry"):
    return {"side": side, "qty": qty, "price": price, "fee": fee, "fee_model": fee_model,
            "price_model": price_model, "reason": reason}


def test_drift_is_broker_minus_model_and_slippage_cost_is_signed_by_side():
    fills = with_costs([
        _fill(1, 2, 1702.0, 1.70, 1.70, 1700.85),        # bought 1.15 above the model
        _fill(-1, 2, 1680.0, 2.10, 1.70, 1682.1585, "stop"),   # sold 2.1585 below it
        _fill(1, 3, 1676.0, 0.0, reason="adopted"),       # no model numbers
    ], multiplier=50)
    assert fills[0]["fee_drift"] == 0.0
    assert fills[0]["slippage"] == pytest.approx(1.15)
    assert fills[0]["slippage_cost"] == pytest.approx(1.15 * 2 * 50)
    assert fills[1]["fee_drift"] == pytest.approx(0.40)
    assert fills[1]["slippage_cost"] == pytest.approx(2.1585 * 2 * 50)   # worse: > 0
    assert fills[2]["fee_drift"] is None and fills[2]["slippage_cost"] is None
    t = cost_totals(fills)
    assert t["fills"] == 3 and t["fills_with_model"] == 2
    assert t["fees"] == pytest.approx(3.80) and t["fees_model"] == pytest.approx(3.40)
    assert t["fee_drift"] == pytest.approx(0.40)
    assert t["slippage_cost"] == pytest.approx((1.15 + 2.1585) * 100)


def test_paper_fills_have_no_model_numbers_and_no_totals_of_them():
    t = cost_totals(with_costs([_fill(1, 1, 10.0, 0.01)], multiplier=1))
    assert t == {"fills": 1, "fills_with_model": 0, "fees": 0.01, "fees_model": None,
                 "fee_drift": None, "slippage_cost": None}
