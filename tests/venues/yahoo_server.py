"""A local HTTP server answering yfinance with Yahoo Finance's own chart JSON.

Serves ``GET /v8/finance/chart/<SYMBOL>`` in the shape Yahoo returns (``{"chart":
{"result": [{"meta": {...}, "timestamp": [...], "events": {"dividends": {...},
"splits": {...}}, "indicators": {"quote": [{open, high, low, close, volume}],
"adjclose": [{"adjclose": [...]}]}}], "error": null}}``; field names as in responses
recorded by public projects, e.g. the SPY and GS chart payloads in their test suites),
plus the cookie (``fc.yahoo.com`` -> ``/``) and crumb (``/v1/test/getcrumb``) calls
yfinance makes first. Unknown symbols get Yahoo's ``{"chart": {"result": null, "error":
{"code": "Not Found", "description": "No data found, symbol may be delisted"}}}`` (404).

Bars are real ones handed in *unadjusted* (as traded) with the instrument's real splits
and dividends; like Yahoo, the server serves OHLC and volume adjusted for splits, and
``adjclose`` also adjusted for dividends (Yahoo's multiplier: 1 - dividend / previous
close, applied to every bar before the ex-date). Daily bars are stamped at the session
open (09:30 New York), intraday bars at their open time.

yfinance is pointed here with ``lab.data.sources.yahoo``'s ``base_url`` option
(``LAB_YAHOO_BASE_URL``), which rewrites every ``*.yahoo.com`` URL of its HTTP session.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import unquote

import numpy as np
import pandas as pd

from tests.venues.http_venue import HttpRequest, HttpVenue

NY = "America/New_York"


class YahooInstrument:
    """Raw bars of one symbol with its corporate actions.

    Parameters
    ----------
    bars : DataFrame
        Unadjusted bars, UTC index (daily bars: the trading date at 00:00 UTC).
    interval : str
        Yahoo interval of the bars (``"1d"``, ``"1m"``).
    splits : list of (date str, numerator, denominator)
    dividends : list of (ex-date str, amount per share)
    instrument_type : str
        ``EQUITY``, ``ETF``, ``INDEX``, ``FUTURE``.
    """

    def __init__(self, bars: pd.DataFrame, interval: str = "1d", splits=(), dividends=(),
                 instrument_type: str = "EQUITY", currency: str = "USD",
                 exchange: str = "NMS"):
        self.bars, self.interval = bars, interval
        self.splits = [(pd.Timestamp(d, tz="UTC"), float(n), float(m)) for d, n, m in splits]
        self.dividends = [(pd.Timestamp(d, tz="UTC"), float(a)) for d, a in dividends]
        self.instrument_type, self.currency, self.exchange = instrument_type, currency, exchange

    def stamps(self) -> np.ndarray:
        """Epoch seconds Yahoo uses for each bar."""
        idx = self.bars.index
        if self.interval in ("1d", "5d", "1wk", "1mo", "3mo"):
            local = pd.DatetimeIndex([pd.Timestamp(f"{d.date()} 09:30", tz=NY) for d in idx])
            return (local.as_unit("ns").asi8 // 10**9).astype("int64")
        return (idx.as_unit("ns").asi8 // 10**9).astype("int64")

    def yahoo_frame(self) -> pd.DataFrame:
        """Split-adjusted OHLCV and the split+dividend ``adjclose`` Yahoo serves."""
        b = self.bars.astype("float64").copy()
        factor = np.ones(len(b))
        for date, num, den in self.splits:
            factor[b.index < date] *= num / den
        for col in ("open", "high", "low", "close"):
            b[col] = b[col] / factor
        b["volume"] = np.round(b["volume"] * factor)
        mult = np.ones(len(b))
        for date, amount in self.dividends:
            before = np.flatnonzero(b.index < date)
            if len(before):
                prev_close = b["close"].iloc[before[-1]]
                mult[before] *= 1.0 - amount / prev_close
        b["adjclose"] = b["close"] * mult
        return b


class YahooServer(HttpVenue):
    """Yahoo Finance chart API on 127.0.0.1 (a free port).

    ``requests`` lists the (path, query) pairs received; ``fail_chart_after`` makes
    chart requests after the n-th fail with HTTP 500; ``hang_chart_s`` delays them.
    """

    def __init__(self, instruments: dict[str, YahooInstrument]):
        self.instruments = instruments
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.chart_requests = 0
        self.fail_chart_after: int | None = None
        self.hang_chart_s = 0.0            # delay chart answers (to test timeouts)

    def respond(self, request: HttpRequest) -> tuple[int, Any, dict[str, str]]:
        path, q = request.path, request.query
        self.requests.append((path, q))
        if path in ("", "/"):                      # fc.yahoo.com: sets the A3 cookie
            return 404, "", {"Content-Type": "application/json;charset=utf-8",
                             "Set-Cookie": "A3=d=AQABBLAB&S=AQAAAtest; Domain=.yahoo.com; "
                                          "Path=/; Secure; HttpOnly"}
        if path.endswith("/v1/test/getcrumb"):
            return 200, "Tst7crumb.x", {"Content-Type": "text/plain;charset=utf-8"}
        if path.startswith("/v8/finance/chart/"):
            self.chart_requests += 1
            if self.hang_chart_s:
                threading.Event().wait(self.hang_chart_s)
            if self.fail_chart_after is not None and self.chart_requests > self.fail_chart_after:
                return 500, {"chart": {"result": None, "error": {
                    "code": "Internal Server Error", "description": "test failure"}}}, {}
            return self._chart(unquote(path.rsplit("/", 1)[-1]), q)
        return 404, {"finance": {"result": None, "error": {"code": "Not Found",
                                                          "description": path}}}, {}

    def _chart(self, symbol: str, q: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        inst = self.instruments.get(symbol)
        if inst is None:
            return 404, {"chart": {"result": None, "error": {
                "code": "Not Found", "description": "No data found, symbol may be delisted"}}}, {}
        stamps = inst.stamps()
        frame = inst.yahoo_frame()
        interval = q.get("interval", "1d")
        if "period1" in q:
            lo, hi = int(q["period1"]), int(q["period2"])
        elif q.get("range") == "max":
            lo, hi = int(stamps[0]), int(stamps[-1]) + 1
        else:                                      # range=1d etc.: the last day
            lo, hi = int(stamps[-1]) - 86_400, int(stamps[-1]) + 1
        mask = (stamps >= lo) & (stamps < hi) if interval == inst.interval else \
            np.zeros(len(stamps), dtype=bool)
        ts, part = stamps[mask], frame[mask]
        last = frame.iloc[-1]
        meta = {
            "currency": inst.currency, "symbol": symbol, "exchangeName": inst.exchange,
            "fullExchangeName": "NasdaqGS", "instrumentType": inst.instrument_type,
            "firstTradeDate": int(stamps[0]), "regularMarketTime": int(stamps[-1]),
            "hasPrePostMarketData": True, "gmtoffset": -18000, "timezone": "EST",
            "exchangeTimezoneName": NY, "regularMarketPrice": float(last["close"]),
            "chartPreviousClose": float(frame["close"].iloc[-2]), "priceHint": 2,
            "currentTradingPeriod": {
                "pre": {"timezone": "EST", "start": int(stamps[-1]) - 19800,
                        "end": int(stamps[-1]), "gmtoffset": -18000},
                "regular": {"timezone": "EST", "start": int(stamps[-1]),
                            "end": int(stamps[-1]) + 23400, "gmtoffset": -18000},
                "post": {"timezone": "EST", "start": int(stamps[-1]) + 23400,
                         "end": int(stamps[-1]) + 37800, "gmtoffset": -18000}},
            "dataGranularity": interval, "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd",
                            "max"]}
        if interval[-1] in ("m", "h") and len(ts):
            # intraday answers list each day's regular session; here it spans that
            # day's bars (New York dates), so yfinance drops none of them
            days = pd.to_datetime(ts, unit="s", utc=True).tz_convert(NY).date
            meta["tradingPeriods"] = [
                [{"timezone": "EDT", "start": int(ts[days == d][0]),
                  "end": int(ts[days == d][-1]) + 60, "gmtoffset": -14400}]
                for d in sorted(set(days))]
        result: dict[str, Any] = {"meta": meta}
        if len(ts):
            result["timestamp"] = [int(t) for t in ts]
            events: dict[str, Any] = {}
            day = pd.DatetimeIndex(pd.to_datetime(ts, unit="s", utc=True)
                                   .tz_convert(NY).date.astype(str))
            for date, amount in inst.dividends:
                hit = np.flatnonzero(day == str(date.date()))
                if len(hit):
                    events.setdefault("dividends", {})[str(ts[hit[0]])] = {
                        "amount": amount, "date": int(ts[hit[0]])}
            for date, num, den in inst.splits:
                hit = np.flatnonzero(day == str(date.date()))
                if len(hit):
                    events.setdefault("splits", {})[str(ts[hit[0]])] = {
                        "date": int(ts[hit[0]]), "numerator": num, "denominator": den,
                        "splitRatio": f"{num:g}:{den:g}"}
            if events:
                result["events"] = events
            quote = {c: [float(x) for x in part[c]] for c in ("open", "high", "low", "close")}
            quote["volume"] = [int(x) for x in part["volume"]]
            result["indicators"] = {"quote": [quote],
                                    "adjclose": [{"adjclose": [float(x) for x in part["adjclose"]]}]}
        else:
            result["indicators"] = {"quote": [{}], "adjclose": [{}]}
        return 200, {"chart": {"result": [result], "error": None}}, {}
