"""The records of a download: what to fetch (``DownloadSpec``), where it stands
(``DownloadProgress``), what it did (``DownloadResult``), what it would do
(``DownloadPlan``), how it stopped (``DownloadCancelled``, ``CostNotAccepted``), and the
range arithmetic of incremental downloads. The driver is ``lab.data.download``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lab.core.errors import DataError


@dataclass(frozen=True)
class DownloadSpec:
    """What to download and where to store it.

    Attributes
    ----------
    source : str
        ``"ccxt"``, ``"yfinance"``, ``"databento"`` (keys of
        ``lab.data.sources.base.SOURCES``).
    symbol : str
        The source's own symbol (``"BTC/USDT"``, ``"SPY"``, ``"MCL.c.0"``).
    timeframe : str
        Bar size (``"1h"``).
    start : str
        First bar open time, ISO (UTC when naive).
    end : str or None
        Exclusive end of the bar open times, ISO; None = up to the last closed bar.
    store_as : str
        Symbol in the catalog; default the source's own naming (ccxt:
        ``BTCUSDT_BINANCE``; yfinance and Databento: the symbol itself).
    asset_class : str
        ``equity``, ``index``, ``fx``, ``crypto`` or ``future``.
    options : dict
        The source's options (``{"exchange": "binance"}``, ``{"adjusted": False}``,
        ``{"dataset": "GLBX.MDP3", "schema": "ohlcv-1m"}``).
    """

    source: str
    symbol: str
    timeframe: str
    start: str
    end: str | None = None
    store_as: str = ""
    asset_class: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DownloadSpec":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)

    def identity(self) -> dict[str, Any]:
        """What must match for two downloads to feed one dataset."""
        return {"source": self.source, "symbol": self.symbol, "timeframe": self.timeframe,
                "options": self.options}


@dataclass
class DownloadProgress:
    """Where a download stands (passed to the ``progress`` callback after each window).

    Attributes
    ----------
    done, total : int
        Windows finished / planned in this run.
    fetched : int
        Bars fetched in this run.
    stored_rows : int
        Bars in the dataset now.
    last : str or None
        Open time of the last bar stored, ISO.
    window : str
        The window just finished.
    """

    done: int
    total: int
    fetched: int
    stored_rows: int
    last: str | None
    window: str = ""


@dataclass
class DownloadResult:
    """Outcome of a download.

    Attributes
    ----------
    symbol, timeframe : str
        The dataset in the catalog.
    fetched : int
        Bars fetched in this run (0 when nothing was missing).
    rows : int
        Bars stored in the dataset afterwards.
    first, last : str or None
        Open times of the first and last stored bar, ISO.
    windows : int
        Windows fetched in this run.
    complete : bool
        False when a cancel stopped it early (run it again to continue).
    """

    symbol: str
    timeframe: str
    fetched: int
    rows: int
    first: str | None
    last: str | None
    windows: int
    complete: bool
    cost: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        state = "complete" if self.complete else "stopped early (run it again to resume)"
        return (f"{self.symbol} {self.timeframe}: fetched {self.fetched:,} bars in "
                f"{self.windows} window(s); stored {self.rows:,} bars "
                f"{self.first or '-'} .. {self.last or '-'}; {state}")


class DownloadCancelled(DataError):
    """A download stopped because its cancel callback said so (finished windows stay)."""


class CostNotAccepted(DataError):
    """A paid download was not accepted at its price; nothing was fetched.

    Attributes
    ----------
    cost : float
        Price of the download, US dollars (the source's own estimate).
    """

    def __init__(self, cost: float, what: str, accepted: float | None):
        self.cost = float(cost)
        told = "no cost was accepted" if accepted is None else \
            f"only ${accepted:,.2f} was accepted"
        super().__init__(f"downloading {what} costs ${cost:,.2f} (Databento "
                         f"metadata.get_cost) and {told}; nothing was downloaded. Accept "
                         "it with --yes (CLI) or the Accept button (Data page)")


# -- ranges ---------------------------------------------------------------------------
def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for lo, hi in sorted(i for i in intervals if i[1] > i[0]):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(a, b) for a, b in out]


def missing_ranges(start: int, end: int, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Parts of ``[start, end)`` not in any of ``covered`` (all int ns, half-open)."""
    out, cursor = [], start
    for lo, hi in _merge(covered):
        if hi <= cursor:
            continue
        if lo >= end:
            break
        if lo > cursor:
            out.append((cursor, min(lo, end)))
        cursor = max(cursor, hi)
        if cursor >= end:
            break
    if cursor < end:
        out.append((cursor, end))
    return out


def plan_windows(ranges: list[tuple[int, int]], span_ns: int) -> list[tuple[int, int]]:
    """Split ranges into windows of at most ``span_ns``, oldest first."""
    out = []
    for lo, hi in ranges:
        t = lo
        while t < hi:
            out.append((t, min(t + span_ns, hi)))
            t += span_ns
    return out


@dataclass
class DownloadPlan:
    """What a download would fetch (``plan_download``).

    Attributes
    ----------
    spec : DownloadSpec
        Normalized (store name, asset class, ISO times filled in).
    ranges : list of (str, str)
        Missing ranges ``[start, end)`` to fetch, ISO UTC.
    windows : int
        Requests (windows) it will make.
    cost : float or None
        Price in US dollars when the source charges (Databento), else None.
    """

    spec: DownloadSpec
    ranges: list[tuple[str, str]]
    windows: int
    cost: float | None

    def summary(self) -> str:
        if not self.windows:
            return f"{self.spec.store_as} {self.spec.timeframe}: nothing missing, nothing to fetch"
        price = f"; cost ${self.cost:,.2f} (Databento metadata.get_cost)" \
            if self.cost is not None else ""
        span = ", ".join(f"{a} .. {b}" for a, b in self.ranges[:3])
        return (f"{self.spec.store_as} {self.spec.timeframe}: {self.windows} request(s) "
                f"for {span}{' ...' if len(self.ranges) > 3 else ''}{price}")
