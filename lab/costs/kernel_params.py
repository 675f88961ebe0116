"""The fast kernel's parameter vector from an ``ExecutionConfig``: one builder shared by
the vectorized engine, the sweeps and the paper broker (``lab.live.paper``), so every
caller of ``lab.kernels.engine`` reads the configuration the same way."""

from __future__ import annotations

import numpy as np

from lab.core.config import ExecutionConfig
from lab.core.types import BothHitRule, CommissionModel, Direction, SizeType

DIRECTION_CODE = {Direction.LONG: 0, Direction.SHORT: 1, Direction.BOTH: 2}
BOTH_HIT_CODE = {BothHitRule.STOP_FIRST: 0, BothHitRule.TARGET_FIRST: 1,
                 BothHitRule.NEAREST_TO_OPEN: 2}
SIZE_CODE = {SizeType.EQUITY_FRACTION: 0, SizeType.QUANTITY: 1, SizeType.NOTIONAL: 2}
COMMISSION_CODE = {CommissionModel.PERCENT: 0, CommissionModel.PER_SHARE: 1,
                   CommissionModel.PER_CONTRACT: 2}


def params_vector(config: ExecutionConfig) -> np.ndarray:
    """The kernel's parameter vector (``lab.kernels.engine.P_*``) for ``config``.

    Returns
    -------
    ndarray, float64, shape (N_PARAMS,)
    """
    from lab.kernels import engine as k

    p = np.zeros(k.N_PARAMS)
    p[k.P_DIRECTION] = DIRECTION_CODE[config.direction]
    p[k.P_LEVERAGE] = config.leverage
    p[k.P_MM] = config.maintenance_margin
    p[k.P_SL] = np.nan if config.sl is None else config.sl
    p[k.P_TP] = np.nan if config.tp is None else config.tp
    p[k.P_BOTH_HIT] = BOTH_HIT_CODE[config.both_hit]
    p[k.P_SIZE_TYPE] = SIZE_CODE[config.size_type]
    p[k.P_SIZE] = config.size
    p[k.P_WHOLE] = 1.0 if config.whole_units else 0.0
    p[k.P_COMM_MODEL] = COMMISSION_CODE[config.commission.model]
    p[k.P_COMM_RATE] = config.commission.rate
    p[k.P_COMM_MIN] = config.commission.minimum
    p[k.P_COMM_MAXF] = config.commission.maximum_fraction
    p[k.P_SLIPPAGE] = config.slippage
    p[k.P_MULT] = config.multiplier
    p[k.P_CASH] = config.cash
    p[k.P_MIN_NOTIONAL] = config.min_notional
    return p
