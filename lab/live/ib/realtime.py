"""Live bars from IB: 5-second real-time bars aggregated into the bot's timeframe.

IB streams one bar per 5 seconds (``reqRealTimeBars``, the only size IB offers; the
bar's time is its open). ``BarAggregator`` folds them into bars of the bot's timeframe
aligned on UTC multiples of the bar size (a 1h bar opens at hh:00) and hands out a bar
only once it is closed: when the 5-second bar that ends it arrives, or when a later
one shows it is over (a gap). A bar still forming is never given out.

``IBBarFeed`` is the bot's feed (``warmup()`` and ``bars(after)``, as the replay and
ccxt feeds): history from ``reqHistoricalData`` for warm-up, then closed aggregated
bars. After IB's 1101 ("connectivity restored - data lost") the subscription is gone;
the feed subscribes again (``IBConnection.resubscribe``).
"""

from __future__ import annotations

from typing import Callable, Iterator

import pandas as pd

from lab.live.ib.settings import IBConnectionError

REALTIME_BAR_S = 5

Bar = tuple  # (pd.Timestamp open time UTC, open, high, low, close, volume)


class BarAggregator:
    """Folds 5-second bars into closed bars of ``timeframe_s`` seconds.

    Parameters
    ----------
    timeframe_s : int
        Bot bar size in seconds; a multiple of 5.

    Raises
    ------
    ValueError
        A bar size that is not a positive multiple of 5 seconds.
    """

    def __init__(self, timeframe_s: int):
        if timeframe_s <= 0 or timeframe_s % REALTIME_BAR_S:
            raise ValueError(f"bar size {timeframe_s} s must be a positive multiple of "
                             f"{REALTIME_BAR_S} s (IB's real-time bars)")
        self.timeframe_s = int(timeframe_s)
        self._open_s: int | None = None
        self._ohlcv: list[float] = []
        self.parts = 0

    def add(self, t_s: float, o: float, h: float, low: float, c: float,
            v: float) -> list[Bar]:
        """Add one 5-second bar (open time ``t_s``, epoch seconds UTC); returns the bars
        it closed (0, 1, or 2 when it both ends a gap and completes its own bar)."""
        out: list[Bar] = []
        bucket = int(t_s) // self.timeframe_s * self.timeframe_s
        if self._open_s is not None and bucket > self._open_s:
            out.append(self._emit())              # a later bar shows this one is over
        if self._open_s is not None and bucket < self._open_s:
            return out                            # late or repeated bar: already closed
        if self._open_s is None:
            self._open_s, self._ohlcv, self.parts = bucket, [o, h, low, c, v], 1
        else:
            b = self._ohlcv
            b[1], b[2], b[3], b[4] = max(b[1], h), min(b[2], low), c, b[4] + v
            self.parts += 1
        if int(t_s) + REALTIME_BAR_S >= bucket + self.timeframe_s:
            out.append(self._emit())              # its last 5 seconds arrived
        return out

    def _emit(self) -> Bar:
        o, h, low, c, v = self._ohlcv
        bar = (pd.Timestamp(self._open_s, unit="s", tz="UTC"), o, h, low, c, v)
        self._open_s, self._ohlcv, self.parts = None, [], 0
        return bar


class IBBarFeed:
    """Closed bars of one IB contract for a bot (see the module docstring).

    Parameters
    ----------
    conn : IBConnection
        Connected; shared with the bot's broker (one API client per bot).
    contract : ib_async.Contract
        Qualified.
    timeframe_s : int
    what : str
        ``TRADES`` (stocks, futures) or ``MIDPOINT`` (forex).
    warmup_bars : int
        Bars of history before the first live bar.
    poll_s : float
        Seconds between looks at the stream while waiting.
    stop : callable, optional
        ``stop()`` -> True ends ``bars`` (the runner's stop request).
    """

    finite = False

    def __init__(self, conn, contract, timeframe_s: int, what: str = "TRADES",
                 warmup_bars: int = 0, poll_s: float = 0.5,
                 stop: Callable[[], bool] | None = None):
        self.conn = conn
        self.contract = contract
        self.what = what
        self.warmup_bars = int(warmup_bars)
        self.poll_s = poll_s
        self.stop = stop or (lambda: False)
        self.agg = BarAggregator(timeframe_s)
        self._pending: list[Bar] = []
        self._stream = None
        self._seen = 0
        self._sleep = None        # the runner's wait (reads its commands), if it sets one
        conn.resubscribe.append(self.subscribe)

    def subscribe(self) -> None:
        """(Re)start the 5-second stream; a stream IB dropped (1101) is replaced."""
        self._stream = self.conn.ib.reqRealTimeBars(self.contract, REALTIME_BAR_S, self.what,
                                                    False)
        self._seen = 0

    def warmup(self) -> pd.DataFrame:
        """The last ``warmup_bars`` closed bars before now (OHLCV, UTC index)."""
        if self.warmup_bars <= 0:
            return pd.DataFrame(columns=["open", "high", "low", "close", "volume"],
                                index=pd.DatetimeIndex([], tz="UTC", name="ts_event"),
                                dtype="float64")
        from lab.live.ib.history import recent_bars

        return recent_bars(self.conn, self.contract, self.agg.timeframe_s, self.warmup_bars,
                           self.what)

    def poll(self) -> list[Bar]:
        """Fold whatever 5-second bars arrived since the last call; returns closed bars."""
        if self._stream is None:
            self.subscribe()
        new = list(self._stream)[self._seen:]
        self._seen += len(new)
        closed: list[Bar] = []
        for b in new:
            closed += self.agg.add(b.time.timestamp(), b.open_, b.high, b.low, b.close,
                                   b.volume)
        return closed

    def bars(self, after: pd.Timestamp | None = None) -> Iterator[Bar]:
        """Closed bars opening after ``after``, as they close (blocks between bars)."""
        while not self.stop():
            if not self.conn.connected:
                # the socket dropped: reconnect with backoff (raises when IB stays away)
                # and stream again; the broker catches up and the bot reconciles first
                self.conn.ensure_connected()
                self.subscribe()
            self._pending += self.poll()
            while self._pending:
                bar = self._pending.pop(0)
                if after is None or bar[0] > after:
                    yield bar
            try:
                self.conn.pump(self.poll_s)
            except IBConnectionError:
                pass                  # noticed at the top of the next turn
            if self._sleep is not None:
                self._sleep(0)
