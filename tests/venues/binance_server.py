"""A local HTTP server answering ccxt's ``binance`` client with Binance's own spot JSON.

Serves ``GET /api/v3/exchangeInfo`` and ``GET /api/v3/klines`` as documented in
Binance's spot REST API (github.com/binance/binance-spot-api-docs, rest-api.md,
"Exchange information" and "Kline/Candlestick data"): klines are arrays of
``[open time ms, "open", "high", "low", "close", "volume", close time ms,
"quote asset volume", number of trades, "taker buy base", "taker buy quote", "0"]``,
oldest first, ``startTime``/``endTime`` inclusive on the open time, ``limit`` default
500, at most 1000. The bars are real ones handed in (e.g. a committed sample); an
unknown symbol gets Binance's error ``{"code": -1121, "msg": "Invalid symbol."}``.

Use::

    with BinanceServer({"BTCUSDT": bars}) as server:
        exchange = server.ccxt_exchange()          # a ccxt.binance pointed at it
        exchange.fetch_ohlcv("BTC/USDT", "1h", since=..., limit=1000)

``server.requests`` lists the (path, query) pairs received; ``server.delay_s`` slows
each klines answer (to stop a download part way); ``server.fail_after`` makes
kline requests after the n-th one fail (HTTP 500, or a hang when ``fail_mode="hang"``)
to test errors and timeouts; ``server.corrupt`` maps a kline open time (ms) to field
overrides to serve a bad bar.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from tests.venues.http_venue import HttpRequest, HttpVenue

INTERVAL_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
               "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000,
               "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000, "1w": 604_800_000}
MAX_LIMIT = 1000


def _symbol_info(symbol: str, base: str, quote: str) -> dict[str, Any]:
    """One entry of exchangeInfo ``symbols`` (fields as in Binance's documented example)."""
    return {
        "symbol": symbol, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
        "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True, "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": True,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
             "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
             "stepSize": "0.00001000"},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
        "permissions": [], "permissionSets": [["SPOT", "MARGIN"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(markets: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """``GET /api/v3/exchangeInfo`` body for ``{"BTCUSDT": ("BTC", "USDT"), ...}``."""
    return {
        "timezone": "UTC", "serverTime": int(time.time() * 1000),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
             "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": [_symbol_info(s, b, q) for s, (b, q) in markets.items()],
    }


def klines(bars: pd.DataFrame, interval_ms: int) -> list[list]:
    """Binance kline arrays for bars (UTC ``ts_event`` index, float OHLCV)."""
    opens = (bars.index.as_unit("ns").asi8 // 1_000_000).astype("int64")
    cols = [bars[c].to_numpy("float64") for c in ("open", "high", "low", "close", "volume")]
    out = []
    for i, t in enumerate(opens):
        o, h, lo, c, v = (float(x[i]) for x in cols)
        out.append([int(t), f"{o:.8f}", f"{h:.8f}", f"{lo:.8f}", f"{c:.8f}", f"{v:.8f}",
                    int(t) + interval_ms - 1, f"{v * c:.8f}", 100, f"{v / 2:.8f}",
                    f"{v * c / 2:.8f}", "0"])
    return out


class BinanceServer(HttpVenue):
    """Binance spot public REST on 127.0.0.1 (a free port), serving real bars.

    Parameters
    ----------
    bars : dict of str to DataFrame
        Binance symbol (``"BTCUSDT"``) -> bars at their native interval, UTC index.
        Requests for another interval are answered from them only when it equals
        ``interval`` (the server does not resample).
    interval : str
        Binance interval of the bars (``"1h"``).
    assets : dict of str to (base, quote), optional
        Base and quote asset of each symbol; default splits off a ``USDT``/``USD``/``BTC``
        suffix.
    """

    def __init__(self, bars: dict[str, pd.DataFrame], interval: str = "1h",
                 assets: dict[str, tuple[str, str]] | None = None):
        self.bars = bars
        self.interval = interval
        self.assets = assets or {s: self._split(s) for s in bars}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.kline_requests = 0
        self.fail_after: int | None = None
        self.fail_mode = "error"
        self.corrupt: dict[int, dict[str, str]] = {}
        self.delay_s = 0.0                 # seconds to wait before answering klines
        self._release = threading.Event()

    @staticmethod
    def _split(symbol: str) -> tuple[str, str]:
        for quote in ("USDT", "USDC", "USD", "BTC", "EUR"):
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return symbol[: -len(quote)], quote
        raise ValueError(f"give the assets of {symbol}")

    def on_stop(self) -> None:
        self._release.set()                # answers held by delay_s / hang end now

    @property
    def api_url(self) -> str:
        """What to put in ccxt's ``urls['api']['public']``."""
        return f"{self.base_url}/api/v3"

    def ccxt_config(self) -> dict[str, Any]:
        """ccxt.binance constructor config pointing the public spot API here."""
        return {"urls": {"api": {"public": self.api_url}},
                "options": {"fetchMarkets": ["spot"], "fetchCurrencies": False}}

    def env(self) -> dict[str, str]:
        """Environment for a child process (``python -m lab download ccxt ...``) to reach
        this server: ``LAB_CCXT_CONFIG_BINANCE`` with the URL."""
        import json as _json

        return {"LAB_CCXT_CONFIG_BINANCE": _json.dumps(self.ccxt_config())}

    def ccxt_exchange(self, **extra):
        import ccxt

        config = self.ccxt_config()
        config.update(extra)
        return ccxt.binance(config)

    # -- responses --------------------------------------------------------------------
    def respond(self, request: HttpRequest) -> tuple[int, Any]:
        path, query = request.path, request.query
        self.requests.append((path, query))
        if path.endswith("/exchangeInfo"):
            return 200, exchange_info(self.assets)
        if path.endswith("/klines"):
            self.kline_requests += 1
            if self.delay_s:
                self._release.wait(self.delay_s)
            if self.fail_after is not None and self.kline_requests > self.fail_after:
                if self.fail_mode == "hang":
                    self._release.wait(30)
                return 500, {"code": -1000, "msg": "An unknown error occurred while "
                                                   "processing the request."}
            return self._klines(query)
        if path.endswith("/time"):
            return 200, {"serverTime": int(time.time() * 1000)}
        return 404, {"code": -1000, "msg": f"not served by the test venue: {path}"}

    def _klines(self, q: dict[str, str]) -> tuple[int, Any]:
        symbol = q.get("symbol", "")
        if symbol not in self.bars:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        interval = q.get("interval", "")
        if interval not in INTERVAL_MS:
            return 400, {"code": -1120, "msg": "Invalid interval."}
        if interval != self.interval:
            return 200, []
        limit = min(int(q.get("limit", 500)), MAX_LIMIT)
        bars = self.bars[symbol]
        ms = bars.index.as_unit("ns").asi8 // 1_000_000
        mask = np.ones(len(bars), dtype=bool)
        if "startTime" in q:
            mask &= ms >= int(q["startTime"])
        if "endTime" in q:
            mask &= ms <= int(q["endTime"])
        if "startTime" in q or "endTime" not in q:
            picked = bars[mask].iloc[:limit]
        else:
            picked = bars[mask].iloc[-limit:]
        rows = klines(picked, INTERVAL_MS[interval])
        for row in rows:
            for field, value in self.corrupt.get(row[0], {}).items():
                row[{"open": 1, "high": 2, "low": 3, "close": 4, "volume": 5}[field]] = value
        return 200, rows
