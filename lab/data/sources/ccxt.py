"""ccxt: public OHLCV bars of any exchange ccxt supports (Binance by default), no key.

Symbols are ccxt's unified ones (``"BTC/USDT"``). Requests stay within the exchange's
per-call limit (ccxt's ``features[<type>]["fetchOHLCV"]["limit"]``, e.g. 1000 on Binance
spot, 300 on Coinbase) and ccxt's own rate limiter (``enableRateLimit``) spaces them.

Client settings (a proxy, another host, a timeout) come from the ``options`` of the
source or from the environment variable ``LAB_CCXT_CONFIG``: a JSON object merged into
the ccxt constructor config, e.g. ``{"timeout": 20000, "httpsProxy": "http://..."}``;
``LAB_CCXT_CONFIG_<EXCHANGE>`` (e.g. ``LAB_CCXT_CONFIG_BINANCE``) applies to one
exchange only.

``latest_closed_bars`` is the call a live polling feed makes each bar.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd

from lab.core.errors import SourceError
from lab.core.types import TIMEFRAME_SECONDS
from lab.data.frames import make_bars
from lab.data.sources.base import Chunk, gate_chunk, timeframe_delta

DEFAULT_EXCHANGE = "binance"
#: Bars per request when the exchange does not state its limit.
FALLBACK_LIMIT = 500
#: Windows hold this many requests' worth of bars (one store write per window or more).
REQUESTS_PER_WINDOW = 1


def _env_config(exchange_id: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name in ("LAB_CCXT_CONFIG", f"LAB_CCXT_CONFIG_{exchange_id.upper()}"):
        text = os.environ.get(name)
        if not text:
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise SourceError(f"{name} is not valid JSON ({exc}); set it to a JSON object "
                              "such as '{\"timeout\": 20000}'") from None
        if not isinstance(value, dict):
            raise SourceError(f"{name} must be a JSON object, got {type(value).__name__}")
        _deep_update(config, value)
    return config


def _deep_update(into: dict, more: dict) -> dict:
    for k, v in more.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _deep_update(into[k], v)
        else:
            into[k] = v
    return into


def make_exchange(exchange_id: str = DEFAULT_EXCHANGE, config: dict[str, Any] | None = None):
    """A ccxt exchange client for public market data.

    Parameters
    ----------
    exchange_id : str
        ccxt exchange id (``"binance"``, ``"coinbase"``, ``"kraken"`` ...).
    config : dict, optional
        Merged over ``LAB_CCXT_CONFIG`` / ``LAB_CCXT_CONFIG_<EXCHANGE>`` into the
        constructor config. ``enableRateLimit`` is always on; Binance loads its spot
        markets only (``options.fetchMarkets = ["spot"]``) unless told otherwise.

    Returns
    -------
    ccxt.Exchange

    Raises
    ------
    SourceError
        Unknown exchange id, or an invalid config in the environment.
    """
    import ccxt

    exchange_id = str(exchange_id).strip().lower()
    if exchange_id not in ccxt.exchanges:
        close = [e for e in ccxt.exchanges if exchange_id[:4] in e][:8]
        raise SourceError(f"ccxt has no exchange {exchange_id!r}"
                          + (f"; did you mean {', '.join(close)}?" if close else
                             "; see ccxt.exchanges for the ids"))
    merged: dict[str, Any] = {"enableRateLimit": True}
    if exchange_id == "binance":
        merged["options"] = {"fetchMarkets": ["spot"]}
    _deep_update(merged, _env_config(exchange_id))
    _deep_update(merged, dict(config or {}))
    merged["enableRateLimit"] = True
    return getattr(ccxt, exchange_id)(merged)


def _describe_error(exc: Exception, what: str, timeout_ms: Any) -> SourceError:
    import ccxt

    text = " ".join(str(exc).split())[:300]
    if isinstance(exc, ccxt.RequestTimeout):
        return SourceError(f"{what}: the exchange did not answer within {timeout_ms} ms "
                           f"(ccxt RequestTimeout); nothing of this chunk was stored; run the "
                           "download again to resume, or raise the timeout in "
                           "LAB_CCXT_CONFIG")
    if isinstance(exc, ccxt.BadSymbol):
        return SourceError(f"{what}: unknown symbol ({text}); use ccxt's unified symbol "
                           "such as BTC/USDT")
    if isinstance(exc, ccxt.DDoSProtection):
        return SourceError(f"{what}: rate limited by the exchange ({type(exc).__name__}: "
                           f"{text}); wait a minute and run it again to resume")
    if isinstance(exc, ccxt.NetworkError):
        return SourceError(f"{what}: network error ({type(exc).__name__}: {text}); nothing "
                           "of this chunk was stored; check the connection and run it again "
                           "to resume")
    return SourceError(f"{what}: the exchange refused the request ({type(exc).__name__}: "
                       f"{text}); nothing of this chunk was stored")


def _call(client, what: str, fn, *args, **kwargs):
    import ccxt

    try:
        return fn(*args, **kwargs)
    except ccxt.BaseError as exc:
        raise _describe_error(exc, what, getattr(client, "timeout", "?")) from None


def request_limit(client, symbol: str | None = None) -> int:
    """Bars one ``fetch_ohlcv`` call returns at most on this exchange (its ccxt
    ``features`` entry for the market type; ``FALLBACK_LIMIT`` when not stated)."""
    market_type = "spot"
    if symbol is not None and client.markets and symbol in client.markets:
        market = client.markets[symbol]
        market_type = "spot" if market.get("spot") else (
            "swap" if market.get("swap") else "future" if market.get("future") else "spot")
    feature = (client.features or {}).get(market_type) or {}
    if market_type in ("swap", "future") and "linear" in feature:
        feature = feature.get("linear") or {}
    limit = ((feature.get("fetchOHLCV") or {}).get("limit")) if isinstance(feature, dict) else None
    return int(limit) if limit else FALLBACK_LIMIT


def rows_to_chunk(rows: list[list]) -> Chunk:
    """ccxt OHLCV rows ``[ms, open, high, low, close, volume]`` -> ``Chunk``."""
    if not rows:
        return Chunk(np.empty(0, dtype="int64"), {c: np.empty(0) for c in
                                                  ("open", "high", "low", "close", "volume")})
    arr = np.array([[np.nan if v is None else v for v in r[:6]] for r in rows], dtype="float64")
    ts = arr[:, 0].astype("int64") * 1_000_000
    names = ("open", "high", "low", "close", "volume")
    return Chunk(ts, {n: arr[:, i + 1] for i, n in enumerate(names)})


class CcxtSource:
    """Bars from one ccxt exchange (``Source`` protocol).

    Parameters
    ----------
    exchange : str
        ccxt exchange id; default ``"binance"``.
    config : dict, optional
        Extra ccxt constructor config (see ``make_exchange``).
    client : ccxt.Exchange, optional
        A ready client (then ``exchange``/``config`` only name it).
    """

    name = "ccxt"
    default_asset_class = "crypto"

    def __init__(self, exchange: str = DEFAULT_EXCHANGE, config: dict[str, Any] | None = None,
                 client=None):
        self.exchange = str(exchange).strip().lower()
        self.config = dict(config or {})
        self.client = client if client is not None else make_exchange(self.exchange, self.config)
        tfs = set(self.client.timeframes or {})
        self.timeframes = tuple(tf for tf in TIMEFRAME_SECONDS if tf in tfs)
        self._loaded = False

    def describe(self, symbol: str) -> str:
        return f"ccxt {self.exchange} {symbol}"

    def store_name(self, symbol: str) -> str:
        """Default catalog symbol: ``BTC/USDT`` on binance -> ``BTCUSDT_BINANCE``."""
        pair = symbol.split(":")[0].replace("/", "").replace("-", "")
        return f"{pair}_{self.exchange.upper()}"

    def options(self) -> dict[str, Any]:
        # the client config (hosts, proxies, timeouts) is a matter of the environment
        # (LAB_CCXT_CONFIG), not of the dataset: it is not kept
        return {"exchange": self.exchange}

    def _market(self, symbol: str) -> None:
        what = f"ccxt {self.exchange} {symbol}"
        if not self._loaded:
            _call(self.client, f"{what} (loading markets)", self.client.load_markets)
            self._loaded = True
        if symbol not in self.client.markets:
            near = [s for s in self.client.symbols if s.split("/")[0] == symbol.split("/")[0]][:8]
            raise SourceError(f"{self.exchange} has no market {symbol!r}; "
                              + (f"markets of that base: {', '.join(near)}" if near else
                                 "use ccxt's unified symbol such as BTC/USDT"))

    def check_request(self, symbol: str, timeframe: str, start: pd.Timestamp,
                      end: pd.Timestamp, now: pd.Timestamp) -> None:
        if not self.client.has.get("fetchOHLCV"):
            raise SourceError(f"{self.exchange} has no OHLCV endpoint in ccxt; choose another "
                              "exchange")
        self._market(symbol)

    def chunk_span(self, timeframe: str) -> pd.Timedelta:
        limit = request_limit(self.client)
        return timeframe_delta(timeframe) * (limit * REQUESTS_PER_WINDOW)

    def fetch(self, symbol: str, timeframe: str, start: pd.Timestamp,
              end: pd.Timestamp) -> Chunk:
        """Bars opening in ``[start, end)``, paginated by the exchange's limit."""
        self._market(symbol)
        limit = request_limit(self.client, symbol)
        step_ms = TIMEFRAME_SECONDS[timeframe] * 1000
        since, end_ms = -(-start.value // 1_000_000), -(-end.value // 1_000_000)
        rows: list[list] = []
        what = f"ccxt {self.exchange} {symbol} {timeframe} {start.isoformat()} .. {end.isoformat()}"
        while since < end_ms:
            n = int(min(limit, -(-(end_ms - since) // step_ms)))
            page = _call(self.client, what, self.client.fetch_ohlcv, symbol, timeframe,
                         since=since, limit=n)
            page = [r for r in page if r and since <= r[0] < end_ms]
            if not page:
                break        # nothing more in this window (not listed yet, or a pause)
            rows.extend(page)
            since = int(page[-1][0]) + step_ms
        return rows_to_chunk(rows)


def make_source(exchange: str = DEFAULT_EXCHANGE, config: dict[str, Any] | None = None,
                **_: Any) -> CcxtSource:
    """``get_source("ccxt", exchange=..., config=...)``."""
    return CcxtSource(exchange, config)


def latest_closed_bars(symbol: str, timeframe: str, *, exchange: str = DEFAULT_EXCHANGE,
                       limit: int = 100, since: Any = None, client=None,
                       now: Any = None) -> pd.DataFrame:
    """The most recent *closed* bars of a market, validated: what a polling feed needs.

    Parameters
    ----------
    symbol : str
        ccxt unified symbol (``"BTC/USDT"``).
    timeframe : str
        Bar size (``"1m"``, ``"1h"``, ...).
    exchange : str
        ccxt exchange id when ``client`` is not given.
    limit : int
        At most this many bars (the newest ones), capped at the exchange's per-call limit.
    since : time, optional
        Only bars opening at or after this time (UTC; e.g. the last bar the feed has
        plus one bar).
    client : ccxt.Exchange, optional
        A client to reuse between polls (``make_exchange``); built when omitted.
    now : time, optional
        The present, UTC (default the clock). A bar is closed when its open time +
        bar size <= now; the bar still forming is never returned.

    Returns
    -------
    DataFrame
        Canonical bars (UTC ``ts_event`` index = bar open time, float64 OHLCV), oldest
        first; empty when no closed bar is newer than ``since``.

    Raises
    ------
    SourceError
        Network error, timeout, refusal or unknown symbol (one line).
    DataValidationError
        The exchange sent bars that break a hard rule (rows and times named).
    """
    client = client if client is not None else make_exchange(exchange)
    step = timeframe_delta(timeframe)
    now_ts = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now_ts = now_ts.tz_localize("UTC") if now_ts.tzinfo is None else now_ts.tz_convert("UTC")
    end = now_ts - step + pd.Timedelta(1, "ns")
    what = f"ccxt {client.id} {symbol} {timeframe} latest bars"
    if not client.markets:
        _call(client, what, client.load_markets)
    n = max(1, min(int(limit), request_limit(client, symbol)))
    if since is not None:
        lo = pd.Timestamp(since)
        lo = lo.tz_localize("UTC") if lo.tzinfo is None else lo.tz_convert("UTC")
    else:
        lo = end - step * n
    if lo >= end:
        return make_bars(np.empty(0, dtype="int64"), {c: np.empty(0) for c in
                                                      ("open", "high", "low", "close", "volume")})
    rows = _call(client, what, client.fetch_ohlcv, symbol, timeframe,
                 since=int(-(-lo.value // 1_000_000)), limit=n + 1)
    rows = [r for r in rows if -(-lo.value // 1_000_000) <= r[0] < -(-end.value // 1_000_000)]
    bars = gate_chunk(rows_to_chunk(rows), what, lo, end)
    return bars.iloc[-n:]
