"""The stand-in gateway's instruments and the real bars it serves.

Bars are real: the committed samples in ``data/samples`` (see its PROVENANCE.md): AAPL,
MSFT, IBM daily (Quandl WIKI via bokeh-sampledata), EUR/USD hourly (gym-anytrading) and
E-mini S&P 500 Dec-2013 one-minute bars, 2013-10-07 to 2013-10-11 (QuantConnect Lean,
Apache-2.0, data AlgoSeek). ``SPY`` is served as the S&P 500 index sample divided by 10 (the ETF
tracks about a tenth of the index): real values, scaled, labelled as such here.

Historical requests are answered by IB's rules as documented in "Historical Data
Limitations" (TWS API docs): a duration may not exceed the maximum for the bar size
(``MAX_DURATION_S``), and pacing (no identical request within 15 s, at most 6 requests
for one contract within 2 s, at most 60 requests within 10 minutes) is checked here
independently of the client's own pacer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "data" / "samples"


@dataclass
class Instrument:
    """One contract the stand-in knows (IB Contract fields + contract-details extras)."""

    conId: int
    symbol: str
    secType: str
    exchange: str
    currency: str
    localSymbol: str = ""
    tradingClass: str = ""
    primaryExchange: str = ""
    lastTradeDateOrContractMonth: str = ""
    multiplier: str = ""
    strike: float = 0.0
    min_tick: float = 0.01
    long_name: str = ""
    time_zone: str = "US/Eastern"
    bars: str = ""            # key into BAR_FILES ("" = no history)
    extra: dict = field(default_factory=dict)

    @property
    def multiplier_value(self) -> float:
        return float(self.multiplier or 1)


#: bar source key -> (path, price scale)
BAR_FILES: dict[str, tuple[Path, float]] = {
    "AAPL": (SAMPLES / "AAPL_1d.parquet", 1.0),
    "MSFT": (SAMPLES / "MSFT_1d.parquet", 1.0),
    "IBM": (SAMPLES / "IBM_1d.parquet", 1.0),
    "SPY": (SAMPLES / "SPX_1d.parquet", 0.1),
    "EURUSD": (SAMPLES / "EURUSD_1h.parquet", 1.0),
    "ESZ13": (SAMPLES / "ESZ13_1m.parquet", 1.0),
}


def default_instruments() -> list[Instrument]:
    """Stocks/ETFs, futures (several expiries each, so a bare symbol is ambiguous), forex."""
    stk = dict(secType="STK", exchange="SMART", currency="USD")
    return [
        Instrument(265598, "AAPL", localSymbol="AAPL", tradingClass="NMS",
                   primaryExchange="NASDAQ", long_name="APPLE INC", bars="AAPL", **stk),
        Instrument(272093, "MSFT", localSymbol="MSFT", tradingClass="NMS",
                   primaryExchange="NASDAQ", long_name="MICROSOFT CORP", bars="MSFT", **stk),
        Instrument(8314, "IBM", localSymbol="IBM", tradingClass="IBM",
                   primaryExchange="NYSE", long_name="INTL BUSINESS MACHINES CORP",
                   bars="IBM", **stk),
        Instrument(756733, "SPY", localSymbol="SPY", tradingClass="SPY",
                   primaryExchange="ARCA", long_name="SPDR S&P 500 ETF TRUST", bars="SPY",
                   **stk),
        Instrument(12087792, "EUR", "CASH", "IDEALPRO", "USD", localSymbol="EUR.USD",
                   tradingClass="EUR.USD", min_tick=0.00005, long_name="European Monetary Union Euro",
                   bars="EURUSD"),
        *_futures("ES", "CME", "50", 0.25, "E-mini S&P 500",
                  [(113342317, "20131220", "ESZ3", "ESZ13"), (116355314, "20140321", "ESH4", "")]),
        *_futures("MES", "CME", "5", 0.25, "Micro E-Mini S&P 500 Stock Price Index",
                  [(551601561, "20250321", "MESH5", ""), (568550526, "20250620", "MESM5", "")]),
        *_futures("CL", "NYMEX", "1000", 0.01, "Light Sweet Crude Oil",
                  [(212921504, "20250320", "CLK5", ""), (212921505, "20250520", "CLN5", "")]),
        *_futures("MCL", "NYMEX", "100", 0.01, "Micro WTI Crude Oil",
                  [(502569216, "20250417", "MCLK5", ""), (502569217, "20250516", "MCLM5", "")]),
        *_futures("GC", "COMEX", "100", 0.1, "Gold",
                  [(130388924, "20250626", "GCM5", ""), (130388925, "20250827", "GCQ5", "")]),
    ]


def _futures(symbol, exchange, mult, tick, name, expiries) -> list[Instrument]:
    return [Instrument(con_id, symbol, "FUT", exchange, "USD", localSymbol=local,
                       tradingClass=symbol, lastTradeDateOrContractMonth=expiry,
                       multiplier=mult, min_tick=tick, long_name=name, time_zone="US/Central",
                       bars=bars)
            for con_id, expiry, local, bars in expiries]


def matches(inst: Instrument, req: dict) -> bool:
    """Whether a contract request (the 12 Contract fields as sent) matches ``inst``.

    As at IB: conId alone identifies; otherwise every non-empty field must match;
    ``SMART`` matches any exchange; a ``YYYYMM`` expiry matches that month; CONTFUT
    matches the futures of the symbol (the front one is picked by the caller).
    """
    if req.get("conId") and int(req["conId"]):
        return int(req["conId"]) == inst.conId
    sec = req.get("secType", "")
    if sec and sec != inst.secType and not (sec == "CONTFUT" and inst.secType == "FUT"):
        return False
    for key in ("symbol", "currency", "localSymbol", "tradingClass", "multiplier"):
        want = req.get(key, "")
        if want and want != getattr(inst, key):
            return False
    exch = req.get("exchange", "")
    if exch and exch not in ("SMART", inst.exchange):
        return False
    expiry = req.get("lastTradeDateOrContractMonth", "")
    return not expiry or inst.lastTradeDateOrContractMonth.startswith(expiry)


@lru_cache(maxsize=None)
def bars_of(key: str) -> pd.DataFrame:
    """Real OHLCV frame of a bar source, indexed by UTC bar open time."""
    path, scale = BAR_FILES[key]
    df = pd.read_parquet(path)
    df = df.set_index("ts_event").sort_index()[["open", "high", "low", "close", "volume"]]
    df[["open", "high", "low", "close"]] *= scale
    return df


BAR_SIZES: dict[str, int] = {
    "1 secs": 1, "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30,
    "1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600,
    "15 mins": 900, "20 mins": 1200, "30 mins": 1800, "1 hour": 3600, "2 hours": 7200,
    "3 hours": 10800, "4 hours": 14400, "8 hours": 28800, "1 day": 86400,
    "1 week": 604800, "1 month": 2592000,
}

#: (smallest bar size in seconds, longest duration in seconds): IB's "Valid Duration and
#: Bar Size Settings" table (TWS API docs, Historical Data Limitations): 1800 S from
#: 1 sec bars, 3600 S from 5 secs, 14400 S from 10 secs, 28800 S from 30 secs, 1 D from
#: 1 min, 2 D from 2 mins, 1 W from 3 mins, 1 M from 30 mins, 1 Y from 1 day.
MAX_DURATION_S: list[tuple[int, int]] = [
    (1, 1800), (5, 3600), (10, 14400), (30, 28800), (60, 86400), (120, 172800),
    (180, 604800), (1800, 2592000), (86400, 31536000),
]

_UNITS = {"S": 1, "D": 86400, "W": 604800, "M": 2592000, "Y": 31536000}


def duration_seconds(text: str) -> int:
    m = re.fullmatch(r"(\d+) ([SDWMY])", text.strip())
    if not m:
        raise ValueError(f"bad duration {text!r}")
    return int(m.group(1)) * _UNITS[m.group(2)]


def max_duration(bar_s: int) -> int:
    best = 0
    for size, longest in MAX_DURATION_S:
        if bar_s >= size:
            best = longest
    return best


def parse_end(text: str, default: pd.Timestamp) -> pd.Timestamp:
    """``YYYYMMDD HH:MM:SS UTC`` / ``YYYYMMDD-HH:MM:SS`` (UTC) / empty (= now)."""
    text = text.strip()
    if not text:
        return default
    text = text.replace("-", " ").removesuffix(" UTC")
    return pd.Timestamp(datetime.strptime(text, "%Y%m%d %H:%M:%S").replace(tzinfo=timezone.utc))


def history_rows(inst: Instrument, end: pd.Timestamp, duration_s: int, bar_s: int,
                 format_date: int) -> list[tuple]:
    """Bars opening in ``[end - duration, end)`` resampled to ``bar_s``, as IB rows."""
    df = bars_of(inst.bars)
    window = df[(df.index >= end - pd.Timedelta(seconds=duration_s)) & (df.index < end)]
    if window.empty:
        return []
    native = int((df.index[1] - df.index[0]).total_seconds()) if len(df) > 1 else bar_s
    if bar_s > native and bar_s < 86400:
        rule = f"{bar_s}s"
        agg = window.resample(rule, label="left", closed="left").agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        counts = window["close"].resample(rule, label="left", closed="left").count()
        agg = agg[counts > 0]
        counts = counts[counts > 0]
    else:
        agg, counts = window, pd.Series(1, index=window.index)
    rows = []
    for ts, r in agg.iterrows():
        if bar_s >= 86400:
            date = ts.strftime("%Y%m%d")
        elif format_date == 2:
            date = str(int(ts.timestamp()))
        else:
            date = ts.strftime("%Y%m%d %H:%M:%S UTC")
        wap = round((r.high + r.low + r.close) / 3, 6)
        rows.append((date, float(r.open), float(r.high), float(r.low), float(r.close),
                     float(r.volume), wap, int(counts.loc[ts])))
    return rows


class HistoryPacing:
    """IB's historical-data pacing rules, checked on the stand-in's clock."""

    def __init__(self):
        self.log: list[tuple[float, tuple, tuple]] = []   # (t, identity, contract key)

    def violation(self, t: float, identity: tuple, contract_key: tuple) -> str | None:
        """The rule a request at ``t`` would break (None if it may go), then record it."""
        why = None
        if any(t - t0 < 15 and ident == identity for t0, ident, _ in self.log):
            why = "identical request within 15 seconds"
        elif sum(1 for t0, _, key in self.log if t - t0 < 2 and key == contract_key) >= 6:
            why = "more than 6 requests for one contract within 2 seconds"
        elif sum(1 for t0, _, _ in self.log if t - t0 < 600) >= 60:
            why = "more than 60 requests within 10 minutes"
        self.log.append((t, identity, contract_key))
        return why
