"""Bar feeds for bots: replay of stored bars at any speed, and ccxt polling of an
exchange's public OHLCV (closed bars only).

A feed gives the bot two things: ``warmup()``, the history before the first bar it
trades (signals need it; no orders are placed on it), and ``bars(after)``, the closed
bars after a time, in order, one at a time. Bars are tuples ``(time, open, high, low,
close, volume)`` with ``time`` a UTC ``pandas.Timestamp`` (bar open time).
"""

from __future__ import annotations

import time as _time
from typing import Iterator

import numpy as np
import pandas as pd

from lab.core.errors import ConfigError, DataError
from lab.core.types import timeframe_seconds

Bar = tuple  # (pd.Timestamp, open, high, low, close, volume)


class ReplayFeed:
    """Stored bars of ``symbol`` / ``timeframe`` replayed at ``speed`` bars per second.

    Parameters
    ----------
    catalog : lab.data.Catalog
    symbol, timeframe : str
    start, end : str or Timestamp, optional
        First and last traded bar (UTC, inclusive); default: the whole dataset.
    speed : float
        Bars per second; 0 = as fast as possible.
    warmup : int
        Bars before ``start`` given as history (0 when ``start`` is the first bar).

    Raises
    ------
    DataError
        The symbol / timeframe is not stored or the range is empty.
    """

    finite = True

    def __init__(self, catalog, symbol: str, timeframe: str, start=None, end=None,
                 speed: float = 0.0, warmup: int = 0, sleep=_time.sleep):
        bars = catalog.load(symbol, timeframe)
        start_ts = pd.Timestamp(start, tz="UTC") if start is not None and pd.Timestamp(
            start).tzinfo is None else (pd.Timestamp(start) if start is not None else None)
        end_ts = pd.Timestamp(end, tz="UTC") if end is not None and pd.Timestamp(
            end).tzinfo is None else (pd.Timestamp(end) if end is not None else None)
        first = 0 if start_ts is None else int(bars.index.searchsorted(start_ts, "left"))
        last = len(bars) if end_ts is None else int(bars.index.searchsorted(end_ts, "right"))
        if last <= first:
            raise DataError(f"no {symbol} {timeframe} bars between {start} and {end}; "
                            "widen the replay range")
        self._warm = bars.iloc[max(0, first - int(warmup)):first]
        self._bars = bars.iloc[first:last]
        self._times = self._bars.index
        self._values = self._bars[["open", "high", "low", "close", "volume"]].to_numpy(
            dtype=np.float64)
        self.speed = float(speed)
        self._sleep = sleep

    def __len__(self) -> int:
        return len(self._bars)

    def warmup(self) -> pd.DataFrame:
        """History before the first replayed bar (OHLCV frame, UTC index)."""
        return self._warm

    def bars(self, after: pd.Timestamp | None = None) -> Iterator[Bar]:
        """The replayed bars after ``after`` (all when None), paced by ``speed``."""
        i0 = 0 if after is None else int(self._times.searchsorted(after, "right"))
        delay = 1.0 / self.speed if self.speed > 0 else 0.0
        times, values = self._times, self._values
        for i in range(i0, len(times)):
            if delay:
                self._sleep(delay)
            v = values[i]
            yield (times[i], v[0], v[1], v[2], v[3], v[4])


class CcxtFeed:
    """Closed bars of a market polled through ccxt's ``fetch_ohlcv`` (public, no key).

    Parameters
    ----------
    exchange : ccxt exchange object or str
        e.g. ``"binance"``; an object lets a test point its ``urls`` at a local server.
    market : str
        ccxt market symbol, e.g. ``"BTC/USDT"``.
    timeframe : str
    poll_s : float
        Seconds between polls.
    warmup : int
        Closed bars fetched as history at start.
    clock : callable
        Wall-clock milliseconds since the epoch (a bar counts as closed once
        ``open time + timeframe <= clock()``).

    Notes
    -----
    Exchanges return the still-forming bar last; it is dropped until it has closed.
    """

    finite = False

    def __init__(self, exchange, market: str, timeframe: str, poll_s: float = 10.0,
                 warmup: int = 500, clock=None, sleep=_time.sleep):
        if isinstance(exchange, str):
            import ccxt

            if not hasattr(ccxt, exchange):
                raise ConfigError(f"unknown ccxt exchange {exchange!r} (e.g. 'binance')")
            exchange = getattr(ccxt, exchange)({"enableRateLimit": True})
        self.exchange = exchange
        self.market = market
        self.timeframe = timeframe
        self.step_ms = timeframe_seconds(timeframe) * 1000
        self.poll_s = float(poll_s)
        self.n_warmup = int(warmup)
        self._clock = clock or (lambda: int(_time.time() * 1000))
        self._sleep = sleep
        self.stopped = False

    def _closed(self, since_ms: int | None, limit: int) -> list[list]:
        rows = self.exchange.fetch_ohlcv(self.market, self.timeframe, since=since_ms,
                                         limit=limit)
        now = self._clock()
        return [r for r in rows if r[0] + self.step_ms <= now]

    def warmup(self) -> pd.DataFrame:
        """The latest ``warmup`` closed bars."""
        if self.n_warmup <= 0:
            return _frame([])
        since = self._clock() - (self.n_warmup + 1) * self.step_ms
        return _frame(self._closed(since, self.n_warmup + 1)[-self.n_warmup:])

    def bars(self, after: pd.Timestamp | None = None) -> Iterator[Bar]:
        """Closed bars after ``after``, polling every ``poll_s`` seconds, forever (until
        ``stopped`` is set)."""
        last_ms = None if after is None else int(pd.Timestamp(after).value // 1_000_000)
        while not self.stopped:
            since = last_ms + self.step_ms if last_ms is not None else None
            for r in self._closed(since, 1000):
                if last_ms is not None and r[0] <= last_ms:
                    continue
                last_ms = r[0]
                yield (pd.Timestamp(r[0], unit="ms", tz="UTC"), float(r[1]), float(r[2]),
                       float(r[3]), float(r[4]), float(r[5]))
            self._sleep(self.poll_s)


def _frame(rows: list[list]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume"])
    index = pd.DatetimeIndex(pd.to_datetime(frame["ts"], unit="ms", utc=True), name="ts_event")
    return frame.drop(columns="ts").set_index(index).astype(np.float64)


def make_feed(config, catalog) -> ReplayFeed | CcxtFeed:
    """The feed of a ``BotConfig``."""
    feed = dict(config.feed)
    if feed["kind"] == "replay":
        return ReplayFeed(catalog, config.symbol, config.timeframe, feed.get("start"),
                          feed.get("end"), float(feed.get("speed", 0.0)),
                          int(feed.get("warmup", 0)))
    exchange = feed.get("exchange", "binance")
    if feed.get("urls"):
        import ccxt

        exchange = getattr(ccxt, exchange)({"enableRateLimit": False})
        exchange.urls["api"] = dict(feed["urls"])
    return CcxtFeed(exchange, feed.get("market", "BTC/USDT"), config.timeframe,
                    float(feed.get("poll_s", 10.0)), int(feed.get("warmup", 500)))
