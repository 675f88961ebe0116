"""yfinance: Yahoo Finance bars of stocks, ETFs and indices (``SPY``, ``AAPL``, ``^GSPC``).

Yahoo's limits (enforced before anything is fetched, the refusal names the limit):
1m bars reach back 30 days and come at most 8 days per request; 5m, 15m and 30m bars
reach back 60 days; 1h bars 730 days; daily and weekly bars have no limit.

Prices, ``adjust``:

- ``"raw"``: as traded; Yahoo's split adjustment is undone with the instrument's
  split history (volume too), so a split shows as the jump it was.
- ``"splits"``: Yahoo's OHLC, adjusted for splits (not dividends).
- ``"all"`` (default): adjusted for splits and dividends (yfinance ``auto_adjust``:
  OHLC scaled by ``Adj Close / Close``), a total-return series.

Splits and dividends in the downloaded range are kept in the dataset's sidecar
(``events``) and the quality report names the split or dividend behind an extreme move.
Adjusted series change backwards when a new split or dividend arrives, so ``refresh``
of an adjusted dataset downloads it again in full (a raw one only appends).

Daily and weekly bars are stored at their exchange trading date 00:00 UTC (as the
bundled samples); intraday bars at their open time in UTC.

``LAB_YAHOO_BASE_URL`` (or the ``base_url`` option) sends every request for a
``*.yahoo.com`` host to another base URL (a proxy or a stand-in server); the requests
are otherwise yfinance's own.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd

from lab.core.errors import SourceError
from lab.data.sources.base import Chunk

#: Our timeframe -> (yfinance interval, look-back limit or None, window length).
INTERVALS: dict[str, tuple[str, pd.Timedelta | None, pd.Timedelta]] = {
    "1m": ("1m", pd.Timedelta(days=30), pd.Timedelta(days=7)),
    "5m": ("5m", pd.Timedelta(days=60), pd.Timedelta(days=30)),
    "15m": ("15m", pd.Timedelta(days=60), pd.Timedelta(days=30)),
    "30m": ("30m", pd.Timedelta(days=60), pd.Timedelta(days=30)),
    "1h": ("1h", pd.Timedelta(days=730), pd.Timedelta(days=180)),
    "1d": ("1d", None, pd.Timedelta(days=3653)),
    "1w": ("1wk", None, pd.Timedelta(days=36525)),
}
ADJUSTMENTS = ("raw", "splits", "all")
DAILY = ("1d", "1w")


def _rewriting_session(base_url: str | None):
    """A curl_cffi session (what yfinance uses) that sends ``*.yahoo.com`` requests to
    ``base_url`` instead; None -> yfinance's default session."""
    if not base_url:
        return None
    from curl_cffi import requests as curl_requests

    base = urlsplit(base_url.rstrip("/"))

    class _Session(curl_requests.Session):
        def request(self, method, url, *args, **kwargs):  # noqa: D401 (curl_cffi API)
            parts = urlsplit(url)
            if parts.hostname and parts.hostname.endswith("yahoo.com"):
                url = urlunsplit((base.scheme, base.netloc, base.path + parts.path,
                                  parts.query, parts.fragment))
            return super().request(method, url, *args, **kwargs)

    return _Session(impersonate="chrome")


def _yf():
    import yfinance as yf

    yf.config.debug.hide_exceptions = False      # errors must reach us, not a log line
    return yf


class YahooSource:
    """Bars from Yahoo Finance through yfinance (``Source`` protocol).

    Parameters
    ----------
    adjust : str
        ``"raw"``, ``"splits"`` or ``"all"`` (see the module docstring).
    asset_class : str, optional
        Default asset class; ``index`` for symbols starting with ``^`` else ``equity``.
    timeout : float
        Seconds to wait for Yahoo per request.
    base_url : str, optional
        Send ``*.yahoo.com`` requests here (default ``$LAB_YAHOO_BASE_URL``).
    """

    name = "yfinance"
    timeframes = tuple(INTERVALS)

    def __init__(self, adjust: str = "all", timeout: float = 20.0,
                 base_url: str | None = None):
        if adjust not in ADJUSTMENTS:
            raise SourceError(f"adjust={adjust!r} is not one of {', '.join(ADJUSTMENTS)} "
                              "(raw = as traded, splits = split-adjusted, all = split and "
                              "dividend adjusted)")
        self.adjust = adjust
        self.timeout = float(timeout)
        self.base_url = base_url or os.environ.get("LAB_YAHOO_BASE_URL") or None
        self.default_asset_class = "equity"
        self.adjusts_history = adjust != "raw"
        self._session = None
        self._splits: pd.Series | None = None

    def describe(self, symbol: str) -> str:
        return f"yfinance {symbol} ({self.adjust})"

    def options(self) -> dict[str, Any]:
        return {"adjust": self.adjust}

    def asset_class_of(self, symbol: str) -> str:
        return "index" if symbol.startswith("^") else "equity"

    def _ticker(self, symbol: str):
        if self._session is None:
            self._session = _rewriting_session(self.base_url)
        yf = _yf()
        return yf.Ticker(symbol, session=self._session) if self._session is not None \
            else yf.Ticker(symbol)

    def _history(self, symbol: str, what: str, **kwargs) -> pd.DataFrame:
        import warnings

        from yfinance import exceptions as yfe

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")      # yfinance's own pandas deprecations
                return self._ticker(symbol).history(timeout=self.timeout, **kwargs)
        except yfe.YFPricesMissingError as exc:
            # no bars in the range (a holiday week, before listing) is not an error; an
            # error Yahoo stated (chart.error) or an HTTP status is
            if exc.yahoo_reason is None and "status_code" not in str(exc.debug_info):
                return pd.DataFrame()
            raise SourceError(f"{what}: Yahoo answered with an error "
                              f"({exc.yahoo_reason or exc.debug_info}); nothing of this chunk "
                              "was stored; run it again to resume") from None
        except Exception as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if not isinstance(exc, yfe.YFTzMissingError) and status != 404:
                raise self._failure(exc, what) from None
            raise SourceError(f"{what}: Yahoo found no symbol {symbol!r} (no time zone: "
                              "unknown, delisted, or Yahoo did not answer); check it on "
                              "finance.yahoo.com (indices start with ^, e.g. ^GSPC)") from None

    @staticmethod
    def _failure(exc: Exception, what: str) -> SourceError:
        from yfinance import exceptions as yfe

        if isinstance(exc, yfe.YFRateLimitError):
            return SourceError(f"{what}: Yahoo rate-limited the requests; wait a few minutes "
                               "and run it again to resume")
        text = " ".join(str(exc).split())[:300]    # curl_cffi / yfinance raise many types
        kind = "timed out" if "timeout" in text.lower() or "timed out" in text.lower() \
            else "failed"
        return SourceError(f"{what}: the request {kind} ({type(exc).__name__}: {text}); "
                           "nothing of this chunk was stored; run it again to resume")

    def _split_history(self, symbol: str) -> pd.Series:
        """Every split of the instrument (ratio new/old shares by ex-date, UTC date)."""
        if self._splits is None:
            full = self._history(symbol, f"yfinance {symbol} split history", period="max",
                                 interval="1d", auto_adjust=False, actions=True)
            splits = full.get("Stock Splits", pd.Series(dtype="float64"))
            splits = splits[splits > 0]
            self._splits = pd.Series(splits.to_numpy("float64"),
                                     index=_stored_index(splits.index, "1d"))
        return self._splits

    def check_request(self, symbol: str, timeframe: str, start: pd.Timestamp,
                      end: pd.Timestamp, now: pd.Timestamp) -> None:
        interval, lookback, _ = INTERVALS[timeframe]
        if lookback is not None and start < now - lookback:
            raise SourceError(
                f"Yahoo serves {timeframe} bars for the last {lookback.days} days only; "
                f"start {start.isoformat()} is before {(now - lookback).isoformat()}. Use a "
                f"later start or a coarser timeframe (1d has no limit)")
        if self.adjust == "raw":
            self._split_history(symbol)

    def chunk_span(self, timeframe: str) -> pd.Timedelta:
        return INTERVALS[timeframe][2]

    def fetch(self, symbol: str, timeframe: str, start: pd.Timestamp,
              end: pd.Timestamp) -> Chunk:
        interval = INTERVALS[timeframe][0]
        pad = pd.Timedelta(days=2) if timeframe in DAILY else pd.Timedelta(0)
        what = f"yfinance {symbol} {timeframe} {start.isoformat()} .. {end.isoformat()}"
        df = self._history(symbol, what, start=start - pad, end=end + pad, interval=interval,
                           auto_adjust=self.adjust == "all", actions=True, prepost=False,
                           repair=False, keepna=False)
        if df.empty:
            return Chunk.from_frame(pd.DataFrame(
                {c: [] for c in ("open", "high", "low", "close", "volume")},
                index=pd.DatetimeIndex([], tz="UTC")))
        index = _stored_index(df.index, timeframe)
        frame = pd.DataFrame({c.lower(): df[c].to_numpy("float64") for c in
                              ("Open", "High", "Low", "Close", "Volume")}, index=index)
        dividends = df.get("Dividends", pd.Series(0.0, index=df.index)).to_numpy("float64")
        splits = df.get("Stock Splits", pd.Series(0.0, index=df.index)).to_numpy("float64")
        factor = np.ones(len(frame))
        if self.adjust == "raw":
            history = self._split_history(symbol)
            for date, ratio in history.items():
                factor[index < date] *= ratio
            for col in ("open", "high", "low", "close"):
                frame[col] = frame[col] * factor
            frame["volume"] = np.round(frame["volume"] / factor)
        keep = (index >= start) & (index < end)
        events: dict[str, list] = {}
        for i in np.flatnonzero(keep & (dividends > 0)):
            events.setdefault("dividends", []).append(
                {"date": str(index[i].date()), "amount": float(dividends[i] * factor[i]),
                 "per": "share as traded then" if self.adjust == "raw" else
                        "share, split-adjusted"})
        for i in np.flatnonzero(keep & (splits > 0)):
            events.setdefault("splits", []).append(
                {"date": str(index[i].date()), "ratio": float(splits[i]),
                 "text": f"{splits[i]:g} for 1"})
        notes = [f"prices from Yahoo via yfinance, adjust={self.adjust}"]
        return Chunk.from_frame(frame[keep], events=events, notes=notes)


def _stored_index(index: pd.DatetimeIndex, timeframe: str) -> pd.DatetimeIndex:
    """yfinance's exchange-local index -> stored UTC times (daily: the date 00:00 UTC)."""
    index = pd.DatetimeIndex(index)
    if timeframe in DAILY:
        local = index if index.tz is None else index.tz_convert(index.tz)
        return pd.DatetimeIndex(pd.to_datetime(local.strftime("%Y-%m-%d")), name="ts_event") \
            .tz_localize("UTC")
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return index.rename("ts_event")


def make_source(adjust: str = "all", timeout: float = 20.0, base_url: str | None = None,
                **_: Any) -> YahooSource:
    """``get_source("yfinance", adjust=...)``."""
    return YahooSource(adjust, timeout, base_url)
