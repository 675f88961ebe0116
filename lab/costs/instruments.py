"""The instrument registry: contract specs, margins and per-instrument fees.

One ``InstrumentSpec`` per instrument (or per family: one generic spec for US stocks
and ETFs), used by every engine, the sweep, the paper broker and the UI to fill the
multiplier, tick size, margins and fees of an ``ExecutionConfig``.
``instrument(symbol, asset_class)`` resolves a stored symbol: a root (``ES``), an exchange contract code (``ESZ13``, ``MCLG6``,
``ESH1``), a Databento continuous symbol (``ES.c.0``, ``MCL.v.1``), a sample name
(``BTCUSD_COINBASE``), or any US stock / ETF when the asset class says so.

Sources (quoted per entry below):

* Contract terms (multiplier, tick, hours, listing exchange): CME Group contract
  specification pages, ``https://www.cmegroup.com/markets/...contractSpecs.html``, and
  the CME Micro WTI FAQ (cmegroup.com/education/articles-and-reports/
  micro-wti-crude-oil-futures-faq.html).
* Margins: exchange (CME Clearing) outright figures per contract, USD, dated; CME sets
  the initial margin of non-hedgers at 110 % of the maintenance margin, which every
  figure below satisfies. Margins move with volatility: treat them as examples and
  enter today's figure of your broker when it matters.
* Exchange fees: Interactive Brokers' "Fees Charged to Offset CME / NYMEX / COMEX
  Exchange and Regulatory Fees" pages (interactivebrokers.com/en/accounts/fees/CME.php,
  NYMEX.php, COMEX.php), non-member (Tier I) rate per contract per side, plus the NFA
  regulatory fee of USD 0.02 per contract per side listed there.
* SEC fee on US stock sales: USD 27.80 per USD 1,000,000 of sale proceeds, as on
  Interactive Brokers' US stock commission schedule (the Section 31 rate in force from
  2024-05-22, sec.gov "Fee Rate Advisory #1 for Fiscal Year 2024").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from lab.core.errors import ConfigError
from lab.core.types import AssetClass

#: SEC Section 31 fee on US stock sales, fraction of the sale notional
#: (USD 27.80 per USD 1M; Interactive Brokers' US stock fee schedule).
SEC_FEE_RATE = 27.80 / 1_000_000

#: NFA regulatory fee per futures contract per side, USD (IB fee pages above).
NFA_FEE = 0.02

#: CME non-hedger initial margin as a multiple of maintenance margin.
CME_INITIAL_OVER_MAINTENANCE = 1.1

_CME_HOURS = ("Sunday-Friday 17:00-16:00 CT (18:00-17:00 ET), daily halt 16:00-17:00 CT; "
              "equity index futures also halt 15:15-15:30 CT")
_NYMEX_HOURS = "Sunday-Friday 18:00-17:00 ET, daily halt 17:00-18:00 ET"


@dataclass(frozen=True)
class InstrumentSpec:
    """Contract terms, margins and fees of one instrument (or a family of them).

    Attributes
    ----------
    symbol : str
        Registry key: a futures root (``"ES"``), a sample symbol
        (``"BTCUSD_COINBASE"``), ``"EURUSD"`` or ``"US_STOCK"`` (the generic spec).
    name : str
        Human-readable name.
    asset_class : AssetClass
        ``future``, ``equity``, ``fx``, ``crypto`` or ``index``.
    exchange : str
        Listing exchange or venue (``"CME"``, ``"NYMEX"``, ``"COMEX"``, ...).
    currency : str
        Currency of prices, margins and fees (ISO code).
    multiplier : float
        Units of the underlying per contract: notional = quantity x price x multiplier.
    tick_size : float
        Minimum price increment (0 = prices are not rounded).
    initial_margin : float
        Exchange initial margin per contract, ``currency`` (futures; 0 = none).
    maintenance_margin : float
        Exchange maintenance margin per contract, ``currency`` (futures; 0 = none).
    margin_as_of : str
        Date of the margin figures (ISO ``YYYY-MM-DD`` or ``YYYY-MM``).
    margin_source : str
        Where the margin figures come from.
    exchange_fee : float
        Exchange + regulatory fee per contract per side, ``currency`` (futures).
    sec_fee_rate : float
        Fee on sales as a fraction of the sale notional (US stocks: ``SEC_FEE_RATE``).
    min_notional : float
        Smallest order value the venue accepts, ``currency`` (0 = none known).
    min_qty : float
        Smallest order quantity the venue accepts (0 = none known).
    qty_step : float
        Quantity increment (1 = whole contracts / shares; 0 = any).
    trading_hours : str
        Regular trading hours in words, with their time zone.
    calendar : str
        Trading calendar name (``"CME Globex"``, ``"NYSE"``, ``"24/7"``, ``"FX 24/5"``),
        the same vocabulary as ``pandas_market_calendars`` where one exists.
    spec_url : str
        The exchange's specification page.
    """

    symbol: str
    name: str
    asset_class: AssetClass
    exchange: str
    currency: str = "USD"
    multiplier: float = 1.0
    tick_size: float = 0.0
    initial_margin: float = 0.0
    maintenance_margin: float = 0.0
    margin_as_of: str = ""
    margin_source: str = ""
    exchange_fee: float = 0.0
    sec_fee_rate: float = 0.0
    min_notional: float = 0.0
    min_qty: float = 0.0
    qty_step: float = 0.0
    trading_hours: str = ""
    calendar: str = ""
    spec_url: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "asset_class", AssetClass(self.asset_class))
        for f in ("multiplier", "tick_size", "initial_margin", "maintenance_margin",
                  "exchange_fee", "sec_fee_rate", "min_notional", "min_qty", "qty_step"):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ConfigError(f"{self.symbol}: {f}={v!r} must be a number >= 0")
        if self.multiplier <= 0:
            raise ConfigError(f"{self.symbol}: multiplier must be > 0")
        if self.maintenance_margin > self.initial_margin:
            raise ConfigError(f"{self.symbol}: maintenance margin {self.maintenance_margin} "
                              f"is above the initial margin {self.initial_margin}")

    @property
    def tick_value(self) -> float:
        """Value of one tick per contract, ``currency`` (tick size x multiplier)."""
        return self.tick_size * self.multiplier

    @property
    def is_future(self) -> bool:
        """True for futures (margin per contract, exchange fees per contract)."""
        return self.asset_class is AssetClass.FUTURE

    def round_price(self, price: float) -> float:
        """``price`` rounded to the nearest tick (unchanged when ``tick_size`` is 0),
        as the engines round stops and targets: ``floor(price / tick + 0.5) x tick``."""
        if self.tick_size <= 0:
            return float(price)
        return math.floor(price / self.tick_size + 0.5) * self.tick_size

    def for_symbol(self, symbol: str) -> "InstrumentSpec":
        """This spec under another symbol (a contract month of a root, a stock ticker)."""
        return replace(self, symbol=symbol)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (asset class as its value, ``tick_value`` included)."""
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d["asset_class"] = self.asset_class.value
        d["tick_value"] = self.tick_value
        return d


def _future(symbol, name, exchange, multiplier, tick, maintenance, margin_as_of,
            margin_source, exchange_fee, spec_url, hours=_CME_HOURS) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol, name=name, asset_class=AssetClass.FUTURE, exchange=exchange,
        multiplier=multiplier, tick_size=tick,
        initial_margin=round(maintenance * CME_INITIAL_OVER_MAINTENANCE, 2),
        maintenance_margin=maintenance, margin_as_of=margin_as_of,
        margin_source=margin_source, exchange_fee=round(exchange_fee + NFA_FEE, 2),
        qty_step=1.0, min_qty=1.0, trading_hours=hours, calendar="CME Globex",
        spec_url=spec_url)


_LP = "CME Group figures as listed by lpfutures.com/financials (\"as of April 2025\")"
_CME = "https://www.cmegroup.com/markets/"

#: The registry, keyed by ``InstrumentSpec.symbol``.
INSTRUMENTS: dict[str, InstrumentSpec] = {s.symbol: s for s in (
    # E-mini S&P 500: $50 x index, tick 0.25 = $12.50 (CME Rulebook chapter 358).
    # Maintenance $11,500 / initial $12,650. IB exchange fee USD 1.38.
    _future("ES", "E-mini S&P 500", "CME", 50.0, 0.25, 11_500.0, "2025-04", _LP, 1.38,
            _CME + "equities/sp/e-mini-sandp500.contractSpecs.html"),
    # Micro E-mini S&P 500: $5 x index, tick 0.25 = $1.25; 1/10 of ES margins. IB 0.35.
    _future("MES", "Micro E-mini S&P 500", "CME", 5.0, 0.25, 1_150.0, "2025-04", _LP, 0.35,
            _CME + "equities/sp/micro-e-mini-sandp-500.contractSpecs.html"),
    # E-mini Nasdaq-100: $20 x index, tick 0.25 = $5.00. Maintenance $18,000. IB 1.38.
    _future("NQ", "E-mini Nasdaq-100", "CME", 20.0, 0.25, 18_000.0, "2025-04", _LP, 1.38,
            _CME + "equities/nasdaq/e-mini-nasdaq-100.contractSpecs.html"),
    # WTI crude oil: 1,000 barrels, tick $0.01 = $10. Maintenance $5,300 / initial
    # $5,830 "accurate as of May 10, 2021" (CME Micro WTI FAQ). IB NYMEX fee 1.50.
    _future("CL", "NYMEX WTI Light Sweet Crude Oil", "NYMEX", 1000.0, 0.01, 5_300.0,
            "2021-05-10", "CME Group, Micro WTI Crude Oil futures FAQ (17 May 2021)", 1.50,
            _CME + "energy/crude-oil/light-sweet-crude.contractSpecs.html", _NYMEX_HOURS),
    # Micro WTI: 100 barrels, tick $0.01 = $1. Maintenance $530 / initial $583 (same
    # FAQ). IB NYMEX fee 0.50.
    _future("MCL", "NYMEX Micro WTI Crude Oil", "NYMEX", 100.0, 0.01, 530.0, "2021-05-10",
            "CME Group, Micro WTI Crude Oil futures FAQ (17 May 2021)", 0.50,
            _CME + "energy/crude-oil/micro-wti-crude-oil.contractSpecs.html", _NYMEX_HOURS),
    # COMEX gold: 100 troy ounces, tick $0.10 = $10. Maintenance raised to $8,350 on
    # 2020-03-24 (Reuters, "CME raises Comex 100 gold futures margins by 19.3 %"),
    # initial $9,185. IB COMEX fee 1.60.
    _future("GC", "COMEX Gold", "COMEX", 100.0, 0.10, 8_350.0, "2020-03-24",
            "CME Group margin change reported by Reuters on 2020-03-24", 1.60,
            _CME + "metals/precious/gold.contractSpecs.html", _NYMEX_HOURS),
    # US stocks and ETFs: tick $0.01 (SEC Reg NMS Rule 612, prices >= $1), whole
    # shares, SEC fee on sales.
    InstrumentSpec(
        symbol="US_STOCK", name="US stock or ETF (generic)", asset_class=AssetClass.EQUITY,
        exchange="NYSE / Nasdaq", tick_size=0.01, qty_step=1.0, min_qty=1.0,
        sec_fee_rate=SEC_FEE_RATE, trading_hours="Monday-Friday 09:30-16:00 ET",
        calendar="NYSE", spec_url="https://www.sec.gov/rules-regulations/2005/06/regulation-nms"),
    # EUR/USD spot: quoted to 1/10 pip (0.00001); trades Sunday 17:00 to Friday 17:00
    # New York time.
    InstrumentSpec(
        symbol="EURUSD", name="EUR/USD spot", asset_class=AssetClass.FX, exchange="OTC",
        tick_size=0.00001, trading_hours="Sunday 17:00 - Friday 17:00 ET", calendar="FX 24/5"),
    # Sample crypto pairs (data/samples). Coinbase BTC-USD: quote_increment 0.01,
    # base_increment 1e-8, base_min_size 0.01 in the GDAX /products response recorded
    # on 2017-01-07 (sample period). Bitfinex and Bitstamp minimums: not published in a
    # source available here, left at 0 (enter the venue's filter as min_notional).
    InstrumentSpec(
        symbol="BTCUSD_COINBASE", name="BTC/USD on Coinbase (GDAX)",
        asset_class=AssetClass.CRYPTO, exchange="Coinbase", tick_size=0.01, min_qty=0.01,
        qty_step=1e-8, trading_hours="24/7", calendar="24/7",
        spec_url="https://api.exchange.coinbase.com/products/BTC-USD"),
    InstrumentSpec(
        symbol="BTCUSD_BITFINEX", name="BTC/USD on Bitfinex", asset_class=AssetClass.CRYPTO,
        exchange="Bitfinex", qty_step=1e-8, trading_hours="24/7", calendar="24/7"),
    InstrumentSpec(
        symbol="BTCUSD_BITSTAMP", name="BTC/USD on Bitstamp", asset_class=AssetClass.CRYPTO,
        exchange="Bitstamp", tick_size=0.01, qty_step=1e-8, trading_hours="24/7",
        calendar="24/7"),
    InstrumentSpec(
        symbol="ETHUSD_BITSTAMP", name="ETH/USD on Bitstamp", asset_class=AssetClass.CRYPTO,
        exchange="Bitstamp", tick_size=0.01, qty_step=1e-8, trading_hours="24/7",
        calendar="24/7"),
    InstrumentSpec(
        symbol="LTCUSD_BITSTAMP", name="LTC/USD on Bitstamp", asset_class=AssetClass.CRYPTO,
        exchange="Bitstamp", tick_size=0.01, qty_step=1e-8, trading_hours="24/7",
        calendar="24/7"),
)}

#: Futures month codes (CME): F Jan, G Feb, H Mar, J Apr, K May, M Jun, N Jul, Q Aug,
#: U Sep, V Oct, X Nov, Z Dec.
MONTH_CODES = "FGHJKMNQUVXZ"
_CONTRACT = re.compile(rf"^([A-Z0-9]{{1,4}}?)([{MONTH_CODES}])(\d{{1,2}})$")
_CONTINUOUS = re.compile(r"^([A-Z0-9]{1,4})\.[CNV]\.\d+$")      # Databento ES.c.0


def future_root(symbol: str) -> str | None:
    """Root of a futures symbol in the registry (``ESZ13`` -> ``ES``), or None.

    Accepts a root (``MCL``), a contract code with a one- or two-digit year
    (``MCLG6``, ``ESZ13``), a Databento continuous symbol (``ES.c.0``, ``MCL.v.1``),
    and a stored name with a suffix after ``_`` (``ESZ13_CME``).
    """
    s = symbol.strip().upper().split("_")[0]
    for cand in (s, *(m.group(1) for m in (_CONTRACT.match(s), _CONTINUOUS.match(s)) if m)):
        spec = INSTRUMENTS.get(cand)
        if spec is not None and spec.is_future:
            return cand
    return None


def find_instrument(symbol: str, asset_class: str | AssetClass | None = None
                    ) -> InstrumentSpec | None:
    """The spec of ``symbol``, or None when the registry does not know it.

    Parameters
    ----------
    symbol : str
        A stored symbol or a registry key (see the module docstring).
    asset_class : str or AssetClass, optional
        The dataset's asset class; ``equity`` makes any unknown symbol a US stock /
        ETF (the generic spec under that symbol).

    Returns
    -------
    InstrumentSpec or None
        Under ``symbol`` (a contract month keeps its own code).
    """
    if not isinstance(symbol, str) or not symbol.strip():
        return None
    key = symbol.strip().upper()
    if key in INSTRUMENTS:
        return INSTRUMENTS[key]
    root = future_root(key)
    if root is not None:
        return INSTRUMENTS[root].for_symbol(symbol)
    if asset_class is not None and AssetClass(asset_class) is AssetClass.EQUITY:
        return INSTRUMENTS["US_STOCK"].for_symbol(symbol)
    return None


def instrument(symbol: str, asset_class: str | AssetClass | None = None) -> InstrumentSpec:
    """The spec of ``symbol`` (see ``find_instrument``).

    Raises
    ------
    ConfigError
        When the registry does not know ``symbol``; the message lists the known keys.
    """
    spec = find_instrument(symbol, asset_class)
    if spec is None:
        raise ConfigError(
            f"no instrument spec for {symbol!r}; known: {', '.join(sorted(INSTRUMENTS))}, "
            "their contract codes (ESZ13, MCL.c.0) and any US stock with asset class "
            "'equity'. Enter multiplier, tick and margins by hand instead")
    return spec


__all__ = ["CME_INITIAL_OVER_MAINTENANCE", "INSTRUMENTS", "InstrumentSpec", "MONTH_CODES",
           "NFA_FEE", "SEC_FEE_RATE", "find_instrument", "future_root", "instrument"]
