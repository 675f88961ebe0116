"""Databento historical bars: ``ohlcv-1s``, ``ohlcv-1m``, ``ohlcv-1h``, ``ohlcv-1d``.

Any dataset (``GLBX.MDP3`` for CME Globex futures by default, ``XNAS.ITCH`` ...);
raw symbols (``MCLG6``) or continuous ones (``MCL.c.0``: front month by calendar,
``.n.0`` by open interest, ``.v.0`` by volume), told apart by their form. The key
comes from ``DATABENTO_API_KEY``. Databento charges per request: the driver asks
``estimate_cost`` (``metadata.get_cost``) for everything it will fetch and refuses
unless the cost was accepted (``--yes`` on the CLI, the button on the Data page).
``ts_event`` (the bar's open time) stays the timestamp.

``LAB_DATABENTO_GATEWAY`` (or the ``gateway`` option) selects another historical
gateway URL (databento ``Historical(gateway=...)``).
"""

from __future__ import annotations

import os
import re
from typing import Any

import pandas as pd

from lab.core.errors import SourceError
from lab.data.sources.base import Chunk
from lab.data.sources.dbn import SCHEMA_TIMEFRAMES, TIMEFRAME_SCHEMAS, store_to_frame

DEFAULT_DATASET = "GLBX.MDP3"
CONTINUOUS = re.compile(r"^[A-Z0-9]+\.[cnv]\.\d+$", re.IGNORECASE)
PARENT = re.compile(r"^[A-Z0-9]+\.(FUT|OPT)$", re.IGNORECASE)
#: Window per timeframe (one request each).
SPANS = {"1s": pd.Timedelta(days=1), "1m": pd.Timedelta(days=31),
         "1h": pd.Timedelta(days=366), "1d": pd.Timedelta(days=3653)}


def stype_of(symbol: str) -> str:
    """Databento input symbology of a symbol: ``continuous`` or ``raw_symbol``.

    Raises
    ------
    SourceError
        For a parent symbol (``MCL.FUT``), which lists every contract at once.
    """
    if PARENT.match(symbol):
        raise SourceError(f"{symbol} is a parent symbol (every contract at once); one "
                          "dataset is one instrument: use a continuous symbol such as "
                          f"{symbol.split('.')[0]}.c.0 or one contract such as MCLG6")
    return "continuous" if CONTINUOUS.match(symbol) else "raw_symbol"


class DatabentoSource:
    """Bars from Databento's historical API (``Source`` protocol).

    Parameters
    ----------
    dataset : str
        Databento dataset id (``"GLBX.MDP3"``).
    key : str, optional
        API key; default ``$DATABENTO_API_KEY`` (never stored or logged).
    gateway : str, optional
        Historical gateway URL; default ``$LAB_DATABENTO_GATEWAY`` or Databento's.
    """

    name = "databento"
    timeframes = tuple(SPANS)

    def __init__(self, dataset: str = DEFAULT_DATASET, key: str | None = None,
                 gateway: str | None = None):
        self.dataset = str(dataset).strip().upper()
        self._key = key
        self.gateway = gateway or os.environ.get("LAB_DATABENTO_GATEWAY") or None
        self.default_asset_class = "future" if self.dataset.startswith("GLBX") else "equity"
        self._client = None

    def describe(self, symbol: str) -> str:
        return f"databento {self.dataset} {symbol}"

    def options(self) -> dict[str, Any]:
        return {"dataset": self.dataset}

    def client(self):
        if self._client is None:
            import databento as db

            key = self._key or os.environ.get("DATABENTO_API_KEY")
            if not key or not key.strip():
                raise SourceError("no Databento API key: set DATABENTO_API_KEY in the "
                                  "environment (or .streamlit/secrets.toml for the app)")
            kwargs = {"gateway": self.gateway} if self.gateway else {}
            self._client = db.Historical(key.strip(), **kwargs)
        return self._client

    def _call(self, what: str, fn, **kwargs):
        import databento as db
        import requests

        try:
            return fn(**kwargs)
        except db.BentoClientError as exc:
            raise SourceError(f"{what}: Databento refused the request (HTTP "
                              f"{exc.http_status}: {_detail(exc)}); nothing was stored") from None
        except db.BentoServerError as exc:
            raise SourceError(f"{what}: Databento failed (HTTP {exc.http_status}: "
                              f"{_detail(exc)}); nothing of this chunk was stored; run it "
                              "again to resume") from None
        except requests.Timeout:
            raise SourceError(f"{what}: Databento did not answer in time; nothing of this "
                              "chunk was stored; run it again to resume") from None
        except (requests.RequestException, db.BentoError) as exc:
            text = " ".join(str(exc).split())[:300]
            raise SourceError(f"{what}: network error ({type(exc).__name__}: {text}); "
                              "nothing of this chunk was stored; run it again to resume") \
                from None

    def _request(self, symbol: str, timeframe: str, start: pd.Timestamp,
                 end: pd.Timestamp) -> dict[str, Any]:
        return {"dataset": self.dataset, "symbols": [symbol],
                "schema": TIMEFRAME_SCHEMAS[timeframe], "stype_in": stype_of(symbol),
                "start": start.isoformat(), "end": end.isoformat()}

    def check_request(self, symbol: str, timeframe: str, start: pd.Timestamp,
                      end: pd.Timestamp, now: pd.Timestamp) -> None:
        stype_of(symbol)
        self.client()

    def estimate_cost(self, symbol: str, timeframe: str,
                      ranges: list[tuple[pd.Timestamp, pd.Timestamp]]) -> float:
        """Cost in US dollars of fetching ``ranges`` (``metadata.get_cost``; 0 for none).

        Raises
        ------
        SourceError
            No key, or Databento refused / failed.
        """
        client = self.client()
        total = 0.0
        for lo, hi in ranges:
            req = self._request(symbol, timeframe, lo, hi)
            cost = self._call(f"databento {self.dataset} {symbol} cost", client.metadata.get_cost,
                              **req)
            total += float(cost)
        return total

    def chunk_span(self, timeframe: str) -> pd.Timedelta:
        return SPANS[timeframe]

    def fetch(self, symbol: str, timeframe: str, start: pd.Timestamp,
              end: pd.Timestamp) -> Chunk:
        req = self._request(symbol, timeframe, start, end)
        what = f"databento {self.dataset} {symbol} {req['schema']} {start.isoformat()} .. " \
               f"{end.isoformat()}"
        store = self._call(what, self.client().timeseries.get_range, **req)
        if store.schema is not None and str(store.schema) not in SCHEMA_TIMEFRAMES:
            raise SourceError(f"{what}: Databento sent {store.schema} records, not OHLCV")
        frame, info = store_to_frame(store, what)
        frame = frame[(frame.index >= start) & (frame.index < end)]
        events: dict[str, list] = {}
        ids = frame["instrument_id"].to_numpy()
        if len(ids):
            change = [0] + [i for i in range(1, len(ids)) if ids[i] != ids[i - 1]]
            events["contracts"] = [
                {"date": frame.index[i].isoformat(), "instrument_id": int(ids[i]),
                 **({"symbol": str(frame["raw_symbol"].iloc[i])} if "raw_symbol" in frame
                    else {})} for i in change]
        return Chunk.from_frame(frame, events=events,
                                notes=[f"Databento {self.dataset} {req['schema']} "
                                       f"({req['stype_in']})"])


def _detail(exc) -> str:
    body = getattr(exc, "json_body", None) or {}
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        detail = detail.get("message") or str(detail)
    return " ".join(str(detail or getattr(exc, "message", "") or exc).split())[:300]


def make_source(dataset: str = DEFAULT_DATASET, gateway: str | None = None,
                **_: Any) -> DatabentoSource:
    """``get_source("databento", dataset=...)``."""
    return DatabentoSource(dataset, gateway=gateway)
