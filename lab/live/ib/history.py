"""The ``ib`` market data source: historical bars through ``reqHistoricalData``.

It plugs into the download driver (``lab.data.download``) like every source: the driver
cuts the request into windows of ``chunk_span`` (IB's longest duration for the bar size,
``vocabulary.MAX_DURATION``), asks for one window at a time, validates each with the
quality gate and stores it before the next, so a killed download resumes where it
stopped. Each window is one IB request, made only when IB's pacing rules allow it
(``pacing.HistoricalPacer``; its log is kept in ``<data>/live/ib/pacing.json`` so a
resumed download also waits for the requests of the killed one).

Bars: intraday ones carry their UTC open time (``formatDate=2``); daily and weekly bars
carry IB's trading date, stored as that date 00:00 UTC like the bundled daily samples.
"No data" for a window (IB's 162 "HMDS query returned no data", e.g. a weekend) is an
empty window; any other error or a request with no answer stops the download with a
``SourceError`` (earlier windows stay stored).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lab.core.errors import LabError, SourceError
from lab.core.types import TIMEFRAME_SECONDS
from lab.data.sources.base import Chunk
from lab.live.ib.connection import IBConnection
from lab.live.ib.contracts import ContractSpec, qualify
from lab.live.ib.pacing import HistoricalPacer
from lab.live.ib.settings import IBError, IBRequestError, IBSettings
from lab.live.ib.vocabulary import ASSET_CLASS, BAR_SIZE, MAX_DURATION, WHAT_TO_SHOW

NO_DATA = "HMDS query returned no data"


def duration_str(span_s: float) -> str:
    """IB durationStr covering ``span_s`` seconds: ``"N S"`` below a day, else ``"N D"``."""
    if span_s <= 86_400:
        return f"{max(1, math.ceil(span_s))} S" if span_s < 86_400 else "1 D"
    return f"{math.ceil(span_s / 86_400)} D"


def bars_frame(bars) -> pd.DataFrame:
    """ib_async ``BarData`` list -> OHLCV frame indexed by UTC open time."""
    if not bars:
        return pd.DataFrame(columns=["open", "high", "low", "close", "volume"],
                            index=pd.DatetimeIndex([], tz="UTC", name="ts_event"),
                            dtype="float64")
    times = [pd.Timestamp(b.date).tz_localize("UTC") if pd.Timestamp(b.date).tzinfo is None
             else pd.Timestamp(b.date).tz_convert("UTC") for b in bars]
    df = pd.DataFrame({"open": [b.open for b in bars], "high": [b.high for b in bars],
                       "low": [b.low for b in bars], "close": [b.close for b in bars],
                       "volume": [max(b.volume, 0.0) for b in bars]},
                      index=pd.DatetimeIndex(times, name="ts_event"), dtype="float64")
    return df


class PacingLog:
    """The pacer's sent-request log in a JSON file, shared by successive processes."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None

    def load(self, pacer: HistoricalPacer) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            rows = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        now = pacer.clock()
        for t, ident, key in rows:
            if now - t < 900:
                pacer._sent.append((t, tuple(ident), tuple(key)))

    def save(self, pacer: HistoricalPacer) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps([[t, list(i), list(k)] for t, i, k in pacer._sent]))
        tmp.replace(self.path)


class IBSource:
    """Historical bars of one IB contract (the ``Source`` protocol of lab.data).

    Parameters
    ----------
    contract : ContractSpec
    settings : IBSettings
    pacer : HistoricalPacer, optional
        Default: wall clock, real sleep, log in ``pacing_log``.
    pacing_log : path, optional
        JSON file of recent requests (so a resumed download keeps pacing).
    use_rth : bool
        Regular trading hours only (IB ``useRTH``); default False = all sessions.
    connection : IBConnection, optional
        An open connection to reuse; else one is opened (read-only) on first fetch.
    """

    name = "ib"
    timeframes = tuple(BAR_SIZE)

    def __init__(self, contract: ContractSpec, settings: IBSettings, *,
                 pacer: HistoricalPacer | None = None, pacing_log: Path | None = None,
                 use_rth: bool = False, connection: IBConnection | None = None,
                 on_wait=None):
        self.contract = contract
        self.settings = settings
        self.pacer = pacer or HistoricalPacer(clock=time.time, on_wait=on_wait)
        self.log = PacingLog(pacing_log)
        self.log.load(self.pacer)
        self.use_rth = bool(use_rth)
        self.conn = connection
        self._owns_conn = connection is None
        self._qualified = None
        self.what = WHAT_TO_SHOW[contract.sec_type]
        self.default_asset_class = ASSET_CLASS[contract.sec_type]

    # -- Source protocol --------------------------------------------------------------
    def describe(self, symbol: str) -> str:
        return f"ib {self.contract.describe()}"

    def options(self) -> dict[str, Any]:
        """What identifies the data (the contract, regular hours or not); where to connect
        is not part of it (flags / ``LAB_IB_*`` at run time), so a download resumed
        through another gateway continues the same dataset."""
        return {"contract": self.contract.to_dict(), "use_rth": self.use_rth}

    def store_name(self, symbol: str) -> str:
        """Catalog symbol: ``SPY``, ``EURUSD``; futures ``ES_201312``, continuous ``ES_CONT``."""
        c = self.contract
        if c.sec_type == "FUT":
            return f"{c.symbol}_{c.expiry}" if c.expiry else f"{c.symbol}_{c.con_id}"
        if c.sec_type == "CONTFUT":
            return f"{c.symbol}_CONT"
        return c.symbol

    def check_request(self, symbol, timeframe, start, end, now) -> None:
        if timeframe not in BAR_SIZE:
            raise SourceError(f"IB serves bars of {', '.join(BAR_SIZE)}; not {timeframe!r}")

    def chunk_span(self, timeframe: str) -> pd.Timedelta:
        return pd.Timedelta(seconds=MAX_DURATION[BAR_SIZE[timeframe]][1])

    def fetch(self, symbol: str, timeframe: str, start: pd.Timestamp,
              end: pd.Timestamp) -> Chunk:
        """Bars opening in ``[start, end)`` in one paced ``reqHistoricalData``.

        Raises
        ------
        SourceError
            No gateway, unknown contract, IB's error (code and text) or no answer.
        """
        try:
            contract = self._contract()
            bar_size = BAR_SIZE[timeframe]
            span = (end - start).total_seconds()
            duration = duration_str(span)
            identity = (contract.conId, end.isoformat(), duration, bar_size, self.what)
            self.pacer.wait(identity, (contract.conId, self.what))
            self.log.save(self.pacer)
            bars = self.conn.request(
                self.conn.ib.reqHistoricalDataAsync(
                    contract, end.to_pydatetime(), duration, bar_size, self.what,
                    self.use_rth, formatDate=2, timeout=0),
                f"historical bars {self.contract.describe()} {bar_size} {duration} to {end}",
                timeout=max(self.settings.timeout_s, 60.0))
        except IBRequestError as exc:
            if exc.code == 162 and NO_DATA in str(exc):
                bars = []
            else:
                raise SourceError(f"{exc}; stored windows are kept, run the same download "
                                  "again to resume" + (" (pacing: wait 10 minutes)"
                                                       if "acing" in str(exc) else "")) from None
        except IBError as exc:
            raise SourceError(str(exc)) from None
        df = bars_frame(bars)
        df = df[(df.index >= start) & (df.index < end)]
        return Chunk.from_frame(df)

    # -- helpers -------------------------------------------------------------------
    def _contract(self):
        if self.conn is None:
            self.conn = IBConnection(self.settings, readonly=True)
        if not self.conn.connected:
            self.conn.connect()
        if self._qualified is None:
            self._qualified = qualify(self.conn, self.contract)
        return self._qualified

    def close(self) -> None:
        if self._owns_conn and self.conn is not None:
            self.conn.disconnect()


def make_source(contract: dict | None = None, host: str | None = None,
                port: int | None = None, client_id: int | None = None,
                use_rth: bool = False, pacing_log: str | None = None, **_: Any) -> IBSource:
    """Build the source from its ``options()`` (``get_source("ib", **options)``)."""
    from lab.live.ledger import data_root

    if not contract:
        raise SourceError("the ib source needs a contract (symbol, sec_type, ...)")
    try:
        spec = ContractSpec(**contract)
        settings = IBSettings.resolve(host=host, port=port, client_id=client_id)
    except LabError as exc:
        raise SourceError(str(exc)) from None
    log = Path(pacing_log) if pacing_log else data_root() / "live" / "ib_pacing.json"
    return IBSource(spec, settings, use_rth=use_rth, pacing_log=log)


def recent_bars(conn: IBConnection, contract, timeframe_s: int, n: int,
                what: str = "TRADES") -> pd.DataFrame:
    """The last ``n`` closed bars of ``timeframe_s`` up to now (warm-up of a live feed)."""
    timeframe = next((k for k, v in TIMEFRAME_SECONDS.items() if v == timeframe_s), None)
    if timeframe not in BAR_SIZE:
        raise SourceError(f"IB has no bar size for {timeframe_s} s bars")
    span = min(n * timeframe_s * 2, MAX_DURATION[BAR_SIZE[timeframe]][1])
    bars = conn.request(conn.ib.reqHistoricalDataAsync(
        contract, "", duration_str(span), BAR_SIZE[timeframe], what, False, formatDate=2,
        timeout=0), f"warm-up bars {contract.localSymbol or contract.symbol}",
        timeout=max(conn.settings.timeout_s, 60.0))
    return bars_frame(bars).iloc[-n:].astype(np.float64)
