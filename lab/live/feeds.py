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

from lab.core.errors import DataError
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
    """Closed bars of a market polled through ccxt (public OHLCV, no key), by
    ``lab.data.sources.ccxt.latest_closed_bars``: the bar still forming is never given.

    Parameters
    ----------
    market : str
        ccxt market symbol, e.g. ``"BTC/USDT"``.
    timeframe : str
    exchange : str
        ccxt exchange id (default Binance); ``LAB_CCXT_CONFIG`` may point it elsewhere
        (e.g. a local test server).
    poll_s : float
        Seconds between polls.
    warmup : int
        Closed bars of history at start.
    stored : DataFrame, optional
        Stored bars of this market (``Catalog.load``): the warm-up comes from them, and
        the feed continues after the last stored bar.
    client : ccxt.Exchange, optional
        A client to use (built by ``make_exchange`` otherwise).
    clock : callable, optional
        The present as a UTC Timestamp (default the wall clock).

    Raises
    ------
    SourceError
        From ccxt: unknown exchange or market, network errors (one line).
    """

    finite = False

    def __init__(self, market: str, timeframe: str, exchange: str = "binance",
                 poll_s: float = 10.0, warmup: int = 500, stored: pd.DataFrame | None = None,
                 client=None, clock=None, sleep=_time.sleep):
        from lab.data.sources import ccxt as source

        self._source = source
        self.client = client if client is not None else source.make_exchange(exchange)
        self.market = market
        self.timeframe = timeframe
        self.step = pd.Timedelta(seconds=timeframe_seconds(timeframe))
        self.poll_s = float(poll_s)
        self.n_warmup = int(warmup)
        self._stored = stored
        self._clock = clock or (lambda: pd.Timestamp.now(tz="UTC"))
        self._sleep = sleep
        self.stopped = False

    def _latest(self, since=None, limit: int = 1000) -> pd.DataFrame:
        return self._source.latest_closed_bars(self.market, self.timeframe, client=self.client,
                                               since=since, limit=limit, now=self._clock())

    def warmup(self) -> pd.DataFrame:
        """The latest ``warmup`` closed bars (stored ones first, then the exchange's)."""
        if self.n_warmup <= 0:
            return _frame([])
        if self._stored is not None and len(self._stored):
            return self._stored.iloc[-self.n_warmup:][list(_OHLCV)]
        return self._latest(limit=self.n_warmup)[list(_OHLCV)]

    def bars(self, after: pd.Timestamp | None = None) -> Iterator[Bar]:
        """Closed bars after ``after`` (or after the warm-up), polling every ``poll_s``
        seconds until ``stopped`` is set."""
        last = after
        if last is None:
            warm = self.warmup()
            last = warm.index[-1] if len(warm) else None
        while not self.stopped:
            new = self._latest(since=None if last is None else last + self.step)
            for t, row in zip(new.index, new[list(_OHLCV)].to_numpy(dtype=np.float64)):
                if last is not None and t <= last:
                    continue
                last = t
                yield (t, *row)
            self._sleep(self.poll_s)


_OHLCV = ("open", "high", "low", "close", "volume")


def _frame(rows: list[list]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume"])
    index = pd.DatetimeIndex(pd.to_datetime(frame["ts"], unit="ms", utc=True), name="ts_event")
    return frame.drop(columns="ts").set_index(index).astype(np.float64)


def make_feed(config, catalog) -> ReplayFeed | CcxtFeed:
    """The feed of a ``BotConfig``."""
    feed = dict(config.feed)
    if feed["kind"] == "ib":        # 5-second bars from IB, on the bot's IB connection
        from lab.live.ib.factory import feed_from_config

        return feed_from_config(config)
    if feed["kind"] == "replay":
        return ReplayFeed(catalog, config.symbol, config.timeframe, feed.get("start"),
                          feed.get("end"), float(feed.get("speed", 0.0)),
                          int(feed.get("warmup", 0)))
    stored = None
    if catalog.has(config.symbol, config.timeframe):
        stored = catalog.load(config.symbol, config.timeframe)
    return CcxtFeed(feed.get("market", "BTC/USDT"), config.timeframe,
                    feed.get("exchange", "binance"), float(feed.get("poll_s", 10.0)),
                    int(feed.get("warmup", 500)), stored=stored)
