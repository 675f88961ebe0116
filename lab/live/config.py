"""Frozen bot configuration: what a bot trades, how, through which broker and feed,
under which risk limits.

A ``BotConfig`` is written to the ledger when the bot is created and never changes
afterwards: a restarted bot reads it back (``BotConfig.from_dict``) and trades exactly
as before. Units follow ``lab.core.config``: fractions for rates, account currency for
money, UTC for time.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from lab.core.config import ExecutionConfig
from lab.core.errors import ConfigError
from lab.core.types import TIMEFRAME_SECONDS

#: Accounts a bot may trade on: a paper account (simulated fills) or a live one.
ACCOUNTS = ("paper", "live")
#: Brokers by name: "paper" (``lab.live.paper.PaperBroker``), "ib" (``lab.live.ib``).
BROKERS = ("paper", "ib")
#: Feeds by name: "replay" (stored bars at a chosen speed), "ccxt" (exchange polling).
FEEDS = ("replay", "ccxt", "ib")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def check_name(name: str) -> str:
    """Validate a bot name (letters, digits, ``_ . -``, at most 64, not starting with a
    symbol); returns it.

    Raises
    ------
    ConfigError
        Saying which characters are allowed.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"bot name {name!r} must be 1-64 letters, digits, '_', '.' or '-' "
                          "and start with a letter or digit (e.g. 'btc-sma-1')")
    return name


@dataclass(frozen=True)
class RiskLimits:
    """Risk limits checked before every order (``lab.live.risk``); None = off.

    Attributes
    ----------
    max_position_units : float or None
        Largest absolute position, units (shares, coins, contracts).
    max_position_notional : float or None
        Largest absolute position notional (qty x price x multiplier), account currency.
    max_concentration : float or None
        Largest position notional / equity (fraction; 0.5 = half the equity).
    max_daily_loss : float or None
        Loss since the first equity of the UTC day, as a fraction of that equity, at
        which the bot goes REDUCING (only orders that shrink a position) until the next
        UTC day.
    max_drawdown : float or None
        Drawdown below the bot's equity peak (fraction) at which it goes HALTED until a
        person resumes it.
    max_orders_per_minute : int or None
        Orders accepted in any 60 s window (wall clock).
    max_leverage : float or None
        Largest position notional / equity after the order (a multiple).
    flatten_at_utc : str or None
        ``"HH:MM"``: at the first bar whose open time is at or past this time of a UTC
        day the bot closes its position (end-of-day flattening).
    waived : bool
        For a live account: run with every limit off on purpose (a live bot does not
        start otherwise).
    """

    max_position_units: float | None = None
    max_position_notional: float | None = None
    max_concentration: float | None = None
    max_daily_loss: float | None = None
    max_drawdown: float | None = None
    max_orders_per_minute: int | None = None
    max_leverage: float | None = None
    flatten_at_utc: str | None = None
    waived: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("flatten_at_utc", "waived") or value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"risk limit {f.name}={value!r} must be a positive number "
                                  "or None (off)")
        for name in ("max_daily_loss", "max_drawdown"):
            value = getattr(self, name)
            if value is not None and value >= 1:
                raise ConfigError(f"{name}={value} is a fraction of equity; use a value "
                                  "below 1 (0.05 = 5 %)")
        if self.flatten_at_utc is not None and not _HHMM.match(str(self.flatten_at_utc)):
            raise ConfigError(f"flatten_at_utc={self.flatten_at_utc!r} must be a UTC time "
                              "'HH:MM' (e.g. '21:55')")

    @property
    def any_set(self) -> bool:
        """True when at least one limit (or the end-of-day flattening) is on."""
        return any(getattr(self, f.name) is not None for f in fields(self)
                   if f.name != "waived")

    @property
    def sizes_orders(self) -> bool:
        """True when a limit depends on an order's quantity, so entries must carry an
        explicit quantity decided at the bar's close (see ``lab.live.bot``)."""
        return any(v is not None for v in (self.max_position_units,
                                           self.max_position_notional,
                                           self.max_concentration, self.max_leverage))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "RiskLimits":
        """Inverse of ``to_dict``; unknown keys are an error naming the known ones."""
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown risk limit(s) {unknown}; known: {sorted(known)}")
        return cls(**d)


@dataclass(frozen=True)
class BotConfig:
    """Everything a bot needs to trade, frozen at creation.

    Attributes
    ----------
    name : str
        Unique bot name (``check_name``).
    symbol, timeframe : str
        One instrument per bot, bars of this size (``lab.core.types.TIMEFRAME_SECONDS``).
    strategy : str
        Registered strategy name; ``params`` its parameters (plain JSON values).
    execution : ExecutionConfig
        The exact execution configuration of the backtest the bot was promoted from.
    asset_class : str
        Drives annualization of the replay check's metrics.
    account : str
        "paper" or "live" (``ACCOUNTS``); decides the ledger file.
    broker : dict
        ``{"kind": "paper"}`` or ``{"kind": "ib", "host": ..., "port": ..., "client_id": ...}``.
    feed : dict
        ``{"kind": "replay", "speed": bars_per_second (0 = as fast as possible),
        "start": iso or None, "end": iso or None, "warmup": bars}`` or ``{"kind": "ccxt",
        "exchange": "binance", "market": "BTC/USDT", "poll_s": 10, "warmup": bars}``.
    risk : RiskLimits
    from_run : str or None
        The MLflow run the configuration was promoted from.
    track : bool
        Record each session of the bot as an MLflow run when it stops.
    """

    name: str
    symbol: str
    timeframe: str
    strategy: str
    params: dict = field(default_factory=dict)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    asset_class: str = "equity"
    account: str = "paper"
    broker: dict = field(default_factory=lambda: {"kind": "paper"})
    feed: dict = field(default_factory=lambda: {"kind": "replay", "speed": 0.0})
    risk: RiskLimits = field(default_factory=RiskLimits)
    from_run: str | None = None
    track: bool = True

    def __post_init__(self) -> None:
        check_name(self.name)
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise ConfigError("symbol must be a stored symbol, e.g. 'BTCUSD_COINBASE'")
        if self.timeframe not in TIMEFRAME_SECONDS:
            raise ConfigError(f"unknown timeframe {self.timeframe!r}; use one of "
                              f"{', '.join(TIMEFRAME_SECONDS)}")
        if isinstance(self.execution, dict):
            object.__setattr__(self, "execution", ExecutionConfig.from_dict(self.execution))
        if isinstance(self.risk, dict):
            object.__setattr__(self, "risk", RiskLimits.from_dict(self.risk))
        if self.account not in ACCOUNTS:
            raise ConfigError(f"account={self.account!r} must be one of {ACCOUNTS}")
        kind = dict(self.broker).get("kind")
        if kind not in BROKERS:
            raise ConfigError(f"broker kind {kind!r} must be one of {BROKERS}")
        if kind == "paper" and self.account != "paper":
            raise ConfigError("the paper broker trades only a paper account; use "
                              "account='paper' or an IB broker for a live account")
        feed = dict(self.feed)
        if feed.get("kind") not in FEEDS:
            raise ConfigError(f"feed kind {feed.get('kind')!r} must be one of {FEEDS}")
        speed = feed.get("speed", 0.0)
        if not isinstance(speed, (int, float)) or speed < 0:
            raise ConfigError(f"replay speed={speed!r} must be bars per second >= 0 "
                              "(0 = as fast as possible)")
        if self.account == "live" and not (self.risk.any_set or self.risk.waived):
            raise ConfigError("a bot on a live account needs risk limits; set at least one "
                              "(e.g. max_daily_loss=0.02) or waive them explicitly "
                              "(waived=True)")

    @property
    def uid_seed(self) -> str:
        """Stable text identifying the configuration (for logs)."""
        return f"{self.name}:{self.symbol}:{self.timeframe}:{self.strategy}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable dict (enums as values); ``from_dict`` inverts it."""
        return {"name": self.name, "symbol": self.symbol, "timeframe": self.timeframe,
                "strategy": self.strategy, "params": dict(self.params),
                "execution": self.execution.to_dict(), "asset_class": self.asset_class,
                "account": self.account, "broker": dict(self.broker),
                "feed": dict(self.feed), "risk": self.risk.to_dict(),
                "from_run": self.from_run, "track": self.track}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BotConfig":
        """Inverse of ``to_dict``.

        Raises
        ------
        ConfigError
            Unknown keys (naming the known ones) or an invalid value.
        """
        d = dict(d)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown bot config key(s) {unknown}; known: {sorted(known)}")
        if isinstance(d.get("execution"), dict):
            d["execution"] = ExecutionConfig.from_dict(d["execution"])
        if isinstance(d.get("risk"), dict) or d.get("risk") is None:
            d["risk"] = RiskLimits.from_dict(d.get("risk"))
        return cls(**d)
