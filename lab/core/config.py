"""Frozen execution configuration shared by every engine and the paper broker.

Units: fractions for rates (``0.001`` is 0.1 %, ``0.0005`` is 5 bps), account
currency for money, multiples for leverage.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from lab.core.errors import ConfigError
from lab.core.types import BothHitRule, CommissionModel, Direction, SizeType

MAX_LEVERAGE = 100.0


@dataclass(frozen=True)
class Commission:
    """A commission schedule.

    Attributes
    ----------
    model : CommissionModel
        PERCENT: ``rate`` x notional. PER_SHARE: ``rate`` per unit, at least
        ``minimum``, at most ``maximum_fraction`` x notional. PER_CONTRACT: ``rate``
        per contract (and at least ``minimum``).
    rate : float
        Fraction of notional (PERCENT) or account currency per unit/contract.
    minimum : float
        Minimum per order, account currency (0 = none).
    maximum_fraction : float
        Cap per order as a fraction of notional (0 = no cap).

    Notes
    -----
    Presets in ``lab.costs``: ``percent(0.001)`` (crypto taker, 0.1 %),
    ``ib_fixed()`` (Interactive Brokers US stocks fixed: $0.005/share, $1.00
    minimum, 1 % of trade value maximum; interactivebrokers.com "Commissions
    Stocks"), ``per_contract(0.85)``.
    """

    model: CommissionModel = CommissionModel.PERCENT
    rate: float = 0.0
    minimum: float = 0.0
    maximum_fraction: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", CommissionModel(self.model))
        for name in ("rate", "minimum", "maximum_fraction"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ConfigError(f"commission {name}={value!r} must be a number >= 0")
        if self.model is CommissionModel.PERCENT and self.rate >= 0.1:
            raise ConfigError(
                f"percent commission rate={self.rate} is {self.rate:.0%} of notional; "
                "rates are fractions (0.001 = 0.1 %)"
            )


@dataclass(frozen=True)
class ExecutionConfig:
    """How signals become fills, positions and equity.

    Attributes
    ----------
    cash : float
        Starting equity, account currency.
    direction : Direction
        LONG, SHORT or BOTH (BOTH reverses on an opposite entry).
    leverage : float
        1 = cash account; above 1, margin = notional / leverage (isolated per
        position). At most 100.
    maintenance_margin : float
        Fraction of current notional below which the position is liquidated
        (0.005 = 0.5 %).
    sl, tp : float or None
        Stop-loss and take-profit distances as fractions of the entry price
        (0.02 = 2 %); None = off.
    both_hit : BothHitRule
        Which of stop and target fills when one bar touches both.
    commission : Commission
        Commission schedule.
    slippage : float
        Fraction of price paid on market fills (signals, stops, end): 0.0005 = 5 bps.
        Take-profits are limit orders and fill without slippage.
    multiplier : float
        Contract multiplier: notional = quantity x price x multiplier.
    size_type : SizeType
        How ``size`` is read (fraction of equity, quantity, or notional).
    size : float
        See ``size_type``; for EQUITY_FRACTION, notional = size x equity x leverage.
    whole_units : bool
        Round quantities down to whole units (shares, contracts).
    min_notional : float
        Smallest entry order value, account currency (0 = off): an entry whose
        notional (quantity x fill price x multiplier, after sizing and whole-unit
        rounding) is below it is not placed (no order, no fee), as an exchange's
        minimum order value (Binance ``MIN_NOTIONAL`` filter, 5-10 USDT on spot;
        binance-docs "Filters"). Exits are never blocked.
    initial_margin : float
        Futures initial margin per contract, account currency (0 = off). With it the
        account is margined as at a futures broker: an entry ties up contracts x
        initial margin (the quantity equity pays for follows from it; ``leverage``
        must stay 1), and the position is closed at the price where the account's
        equity (cash + unrealized PnL) falls to contracts x
        ``maintenance_per_contract`` (the fraction ``maintenance_margin`` is not used).
    maintenance_per_contract : float
        Futures maintenance margin per contract, account currency; 0 with an initial
        margin = initial margin / 1.1 (CME sets the initial margin of non-hedgers at
        110 % of maintenance). At most the initial margin.
    tick_size : float
        Minimum price increment (0 = off): stop-loss and take-profit prices are
        rounded to the nearest tick (``floor(x / tick + 0.5) x tick``).
    exchange_fee : float
        Exchange, clearing and regulatory fees per unit (contract) per fill, account
        currency, on top of the commission (e.g. 1.40 for ES: IB's CME fee 1.38 + NFA
        0.02; ``lab.costs.instruments``).
    sec_fee : float
        Fee on sales as a fraction of the sale's notional, on top of the commission:
        the US SEC Section 31 fee, 27.80 per 1,000,000 (``lab.costs.SEC_FEE_RATE``;
        Interactive Brokers' US stock fee schedule). Charged on every sell fill
        (long exits and short entries).
    """

    cash: float = 10_000.0
    direction: Direction = Direction.LONG
    leverage: float = 1.0
    maintenance_margin: float = 0.005
    sl: float | None = None
    tp: float | None = None
    both_hit: BothHitRule = BothHitRule.STOP_FIRST
    commission: Commission = field(default_factory=Commission)
    slippage: float = 0.0
    multiplier: float = 1.0
    size_type: SizeType = SizeType.EQUITY_FRACTION
    size: float = 1.0
    whole_units: bool = False
    min_notional: float = 0.0
    initial_margin: float = 0.0
    maintenance_per_contract: float = 0.0
    tick_size: float = 0.0
    exchange_fee: float = 0.0
    sec_fee: float = 0.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        try:
            set_(self, "direction", Direction(self.direction))
            set_(self, "both_hit", BothHitRule(self.both_hit))
            set_(self, "size_type", SizeType(self.size_type))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if isinstance(self.commission, dict):
            set_(self, "commission", Commission(**self.commission))

        def positive(name: str, value: Any) -> None:
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"{name}={value!r} must be a positive number")

        positive("cash", self.cash)
        positive("size", self.size)
        positive("multiplier", self.multiplier)
        positive("leverage", self.leverage)
        if not (1.0 <= self.leverage <= MAX_LEVERAGE):
            raise ConfigError(
                f"leverage={self.leverage} must be between 1 (cash account) and {MAX_LEVERAGE:g}"
            )
        if not (0.0 <= self.maintenance_margin < 1.0 / self.leverage):
            raise ConfigError(
                f"maintenance_margin={self.maintenance_margin} must be >= 0 and below the "
                f"initial margin 1/leverage = {1.0 / self.leverage:.4g}"
            )
        for name in ("sl", "tp"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and 0 < value < 10):
                raise ConfigError(
                    f"{name}={value!r} must be a fraction of the entry price above 0 "
                    "(0.02 = 2 %), or None for off"
                )
        if self.sl is not None and self.sl >= 1 and self.direction is not Direction.SHORT:
            raise ConfigError(f"sl={self.sl} would put a long stop at or below zero; use < 1")
        if not (0.0 <= self.slippage < 0.1):
            raise ConfigError(
                f"slippage={self.slippage} must be a fraction in [0, 0.1) (0.0005 = 5 bps)"
            )
        if not (isinstance(self.min_notional, (int, float))
                and not isinstance(self.min_notional, bool)
                and math.isfinite(self.min_notional) and self.min_notional >= 0):
            raise ConfigError(
                f"min_notional={self.min_notional!r} must be a number >= 0, the smallest "
                "entry order value in account currency (0 = off; e.g. 10 for 10 USDT)"
            )
        for name in ("initial_margin", "maintenance_per_contract", "tick_size",
                     "exchange_fee"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool)
                    and math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name}={value!r} must be a number >= 0 in account "
                                  "currency (0 = off)")
        if not (isinstance(self.sec_fee, (int, float)) and 0.0 <= self.sec_fee < 0.01):
            raise ConfigError(f"sec_fee={self.sec_fee!r} must be a fraction of the sale "
                              "notional in [0, 0.01) (27.80 per $1M = 2.78e-05)")
        if self.initial_margin > 0:
            if self.leverage != 1.0:
                raise ConfigError(
                    f"leverage={self.leverage} with initial_margin={self.initial_margin}: "
                    "the margin per contract sets the leverage of a futures account; "
                    "use leverage=1")
            if self.maintenance_per_contract > self.initial_margin:
                raise ConfigError(
                    f"maintenance_per_contract={self.maintenance_per_contract} is above "
                    f"the initial margin {self.initial_margin}; it must be at most that")
        elif self.maintenance_per_contract > 0:
            raise ConfigError("maintenance_per_contract needs initial_margin > 0 (futures "
                              "margin); set the initial margin per contract too")
        if self.size_type is SizeType.EQUITY_FRACTION and self.size > 1.0:
            raise ConfigError(
                f"size={self.size} is more than all of the equity; use a fraction <= 1 "
                "and raise leverage instead"
            )

    @property
    def maintenance_per_contract_effective(self) -> float:
        """Maintenance margin per contract in force (account currency; 0 = no futures
        margin): ``maintenance_per_contract``, or initial margin / 1.1 when it is 0."""
        if self.initial_margin <= 0:
            return 0.0
        return self.maintenance_per_contract or self.initial_margin / 1.1

    def replace(self, **changes: Any) -> "ExecutionConfig":
        """A copy with ``changes`` applied (validated)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-serializable dict (enums as their values)."""
        d = asdict(self)
        d["direction"] = self.direction.value
        d["both_hit"] = self.both_hit.value
        d["size_type"] = self.size_type.value
        d["commission"] = {**d["commission"], "model": self.commission.model.value}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ExecutionConfig":
        """Inverse of ``to_dict``."""
        d = dict(d)
        if isinstance(d.get("commission"), dict):
            d["commission"] = Commission(**d["commission"])
        return cls(**d)
