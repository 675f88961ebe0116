"""Shared vocabulary: bar schema, enums for execution, exit reasons.

Integer values of the enums are the codes the numba kernels use; never renumber them.
"""

from __future__ import annotations

from enum import Enum, IntEnum

#: Column names of a bar frame, in order. The index is ``ts_event``: tz-aware UTC
#: timestamps of the bar *open*; prices in quote currency, volume in base units.
BAR_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
INDEX_NAME = "ts_event"


class Direction(str, Enum):
    """Which side(s) a strategy may trade."""

    LONG = "long"
    SHORT = "short"
    BOTH = "both"


class SizeType(str, Enum):
    """How the quantity of an entry is chosen.

    EQUITY_FRACTION: notional = size x equity x leverage (size=1 at 3x leverage buys
    three times the equity). QUANTITY: size units (shares, coins, contracts).
    NOTIONAL: size in account currency.
    """

    EQUITY_FRACTION = "equity_fraction"
    QUANTITY = "quantity"
    NOTIONAL = "notional"


class CommissionModel(str, Enum):
    """Commission schedules (see ``lab.costs.Commission``)."""

    PERCENT = "percent"          # fraction of notional
    PER_SHARE = "per_share"      # account currency per unit, with minimum and cap
    PER_CONTRACT = "per_contract"  # account currency per contract


class BothHitRule(str, Enum):
    """What happens when one bar touches both the stop-loss and the take-profit.

    A bar's high/low do not say which came first. STOP_FIRST (default) assumes the
    worse outcome; TARGET_FIRST the better one; NEAREST_TO_OPEN assumes the price
    first went to whichever level is closer to the bar's open.
    """

    STOP_FIRST = "stop_first"
    TARGET_FIRST = "target_first"
    NEAREST_TO_OPEN = "nearest_to_open"


class ExitReason(IntEnum):
    """Why a trade was closed (codes stored in kernel trade records)."""

    SIGNAL = 0
    STOP = 1
    TARGET = 2
    LIQUIDATION = 3
    END = 4


class AssetClass(str, Enum):
    """Asset class of an instrument; drives the calendar used for annualization."""

    EQUITY = "equity"
    INDEX = "index"
    FX = "fx"
    CRYPTO = "crypto"
    FUTURE = "future"


#: Timeframe strings accepted everywhere, mapped to their bar length in seconds.
TIMEFRAME_SECONDS: dict[str, int] = {
    "1s": 1,
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "12h": 43200,
    "1d": 86400,
    "1w": 604800,
}


def timeframe_seconds(timeframe: str) -> int:
    """Length of one bar of ``timeframe`` in seconds.

    Raises
    ------
    ValueError
        If the timeframe is not one of ``TIMEFRAME_SECONDS``.
    """
    try:
        return TIMEFRAME_SECONDS[timeframe]
    except KeyError:
        raise ValueError(
            f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAME_SECONDS)}"
        ) from None


def periods_per_year(timeframe: str, asset_class: AssetClass | str) -> float:
    """Number of bars in one year, for annualizing returns and volatility.

    Exchange-traded instruments (equity, index, future) trade 252 days a year and
    6.5 hours a day (US cash session) for intraday bars; FX trades 24 hours on 252
    days (weekends closed); crypto trades 365 days of 24 hours.

    Parameters
    ----------
    timeframe : str
        Bar size, e.g. ``"1h"`` or ``"1d"``.
    asset_class : AssetClass or str
        The instrument's asset class.

    Returns
    -------
    float
        Bars per year, e.g. 252.0 for daily equity bars, 8760.0 for hourly crypto.
    """
    ac = AssetClass(asset_class)
    sec = timeframe_seconds(timeframe)
    if ac is AssetClass.CRYPTO:
        return 365.0 * 86400.0 / sec
    days = 252.0
    if sec >= 604800:
        return 52.0 * 604800.0 / sec
    if sec >= 86400:
        return days * 86400.0 / sec
    hours_per_day = 24.0 if ac is AssetClass.FX else 6.5
    return days * hours_per_day * 3600.0 / sec
