"""The fast kernel's parameter vector from an ``ExecutionConfig``: one builder shared by
the vectorized engine, the sweeps and the paper broker (``lab.live.paper``), so every
caller of ``lab.kernels.engine`` reads the configuration the same way.

The codes are those of ``lab.kernels.layout`` (keyed here by the enums of
``lab.core.types``); nothing is restated.
"""

from __future__ import annotations

import numpy as np

from lab.core.config import ExecutionConfig
from lab.core.types import BothHitRule, CommissionModel, Direction, SizeType
from lab.kernels import layout as L

DIRECTION_CODE = {d: L.DIRECTION_CODES[d.value] for d in Direction}
BOTH_HIT_CODE = {r: L.BOTH_HIT_CODES[r.value] for r in BothHitRule}
SIZE_CODE = {s: L.SIZE_TYPE_CODES[s.value] for s in SizeType}
COMMISSION_CODE = {m: L.COMMISSION_CODES[m.value] for m in CommissionModel}


def params_vector(config: ExecutionConfig) -> np.ndarray:
    """The kernel's parameter vector (``lab.kernels.layout.P_*``) for ``config``.

    Returns
    -------
    ndarray, float64, shape (N_PARAMS,)
    """
    p = np.zeros(L.N_PARAMS)
    p[L.P_DIRECTION] = DIRECTION_CODE[config.direction]
    p[L.P_LEVERAGE] = config.leverage
    p[L.P_MM] = config.maintenance_margin
    p[L.P_SL] = np.nan if config.sl is None else config.sl
    p[L.P_TP] = np.nan if config.tp is None else config.tp
    p[L.P_BOTH_HIT] = BOTH_HIT_CODE[config.both_hit]
    p[L.P_SIZE_TYPE] = SIZE_CODE[config.size_type]
    p[L.P_SIZE] = config.size
    p[L.P_WHOLE] = 1.0 if config.whole_units else 0.0
    p[L.P_COMM_MODEL] = COMMISSION_CODE[config.commission.model]
    p[L.P_COMM_RATE] = config.commission.rate
    p[L.P_COMM_MIN] = config.commission.minimum
    p[L.P_COMM_MAXF] = config.commission.maximum_fraction
    p[L.P_SLIPPAGE] = config.slippage
    p[L.P_MULT] = config.multiplier
    p[L.P_CASH] = config.cash
    p[L.P_MIN_NOTIONAL] = config.min_notional
    p[L.P_IM] = config.initial_margin
    p[L.P_MMPC] = config.maintenance_per_contract_effective
    p[L.P_TICK] = config.tick_size
    p[L.P_EXCH_FEE] = config.exchange_fee
    p[L.P_SEC_FEE] = config.sec_fee
    return p
