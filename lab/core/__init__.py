"""Core types, errors, configs, the Strategy contract and the registry."""

from lab.core.config import Commission, ExecutionConfig
from lab.core.errors import (ConfigError, DataError, DataValidationError, LabError,
                             ParamError, StrategyError, UnknownStrategyError)
from lab.core.params import Params, param, require
from lab.core.strategy import Signals, StrategySpec
from lab.core.types import (BAR_COLUMNS, INDEX_NAME, AssetClass, BothHitRule,
                            CommissionModel, Direction, ExitReason, SizeType,
                            periods_per_year, timeframe_seconds)

__all__ = [
    "BAR_COLUMNS", "INDEX_NAME", "AssetClass", "BothHitRule", "Commission",
    "CommissionModel", "ConfigError", "DataError", "DataValidationError", "Direction",
    "ExecutionConfig", "ExitReason", "LabError", "ParamError", "Params", "Signals",
    "SizeType", "StrategyError", "StrategySpec", "UnknownStrategyError",
    "periods_per_year", "param", "require", "timeframe_seconds",
]
