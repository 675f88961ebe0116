"""The kernels' layout module is the one source of the codes the Python side uses."""

from __future__ import annotations

from lab.core.types import BothHitRule, CommissionModel, Direction, ExitReason, SizeType
from lab.kernels import layout as L


def test_enum_code_tables_cover_every_enum_member_with_distinct_codes():
    for enum, table in ((Direction, L.DIRECTION_CODES), (BothHitRule, L.BOTH_HIT_CODES),
                        (SizeType, L.SIZE_TYPE_CODES),
                        (CommissionModel, L.COMMISSION_CODES)):
        assert set(table) == {m.value for m in enum}
        assert sorted(table.values()) == list(range(len(enum)))


def test_exit_reason_codes_match_lab_core():
    assert L.REASON_NAMES == tuple(r.name.lower() for r in ExitReason)
    assert [L.R_SIGNAL, L.R_STOP, L.R_TARGET, L.R_LIQUIDATION, L.R_END] == \
        [r.value for r in ExitReason]
    assert L.R_ENTRY < 0


def test_each_layout_is_a_dense_range_of_column_indices():
    names = [n for n in dir(L) if n[:2] in ("P_", "S_", "T_", "O_")]
    for prefix, size in (("P_", L.N_PARAMS), ("S_", L.N_STATE), ("T_", L.N_TRADE_COLS),
                         ("O_", L.N_ORDER_COLS)):
        cols = sorted(getattr(L, n) for n in names if n.startswith(prefix))
        assert cols == list(range(size)), prefix
