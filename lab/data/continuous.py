"""Continuous futures: one bar series stitched from individual contracts.

``continuous_futures`` takes the bars of several contract months of one root (from
Databento, Interactive Brokers or files) and returns one series that holds, at each
time, the bars of the contract "in front" by a roll rule, optionally back-adjusted so
that the roll does not show as a price jump:

* ``roll="days"``: leave a contract ``days_before`` calendar days before its expiry
  (the next contract's bars from the first bar at or after ``expiry - days_before``).
* ``roll="volume"``: leave it the day after a later contract traded more (UTC day
  totals; the switch takes effect at the first bar of the next day, so the decision
  uses only volume known by then); also the day after the held contract's last bar.
* ``adjust="difference"``: every bar before a roll is shifted by ``new - old`` (the
  two contracts' closes at the last bar both traded before the roll), cumulatively;
  point moves are kept, prices may turn non-positive (then refused: use ``ratio``).
* ``adjust="ratio"``: multiplied by ``new / old`` instead; returns are kept.
* ``adjust="none"``: raw prices, the roll gap stays in the series.

Back-adjustment is the usual panama (difference) / ratio method (e.g. CME Group,
"Understanding continuous futures"; Databento's ``.c.`` / ``.v.`` symbols roll by
calendar or volume the same way but are not adjusted). Pure functions on pandas
frames: no vendor SDK here (``lab.data.sources`` reads DBN files).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from lab.core.errors import DataError
from lab.core.types import BAR_COLUMNS

ROLLS = ("volume", "days")
ADJUSTMENTS = ("none", "difference", "ratio")
_MONTHS = "FGHJKMNQUVXZ"
#: Equity index futures expiring on the third Friday at 08:30 Chicago time (CME
#: Rulebook chapters 358 (ES), 359 (NQ); the micros follow their E-mini).
_THIRD_FRIDAY_ROOTS = ("ES", "MES", "NQ", "MNQ")


@dataclass(frozen=True)
class Roll:
    """One roll from ``from_contract`` to ``to_contract``.

    Attributes
    ----------
    ts : Timestamp
        UTC open time of the first bar taken from ``to_contract``.
    from_contract, to_contract : str
        Contract codes.
    reference_ts : Timestamp
        The bar whose closes set the adjustment: the last bar before ``ts`` at which
        both contracts traded (or, when they never overlap, the old contract's last
        close against the new one's first open at ``ts``).
    from_price, to_price : float
        The two prices at ``reference_ts``.
    adjustment : float
        ``to_price - from_price`` (difference), ``to_price / from_price`` (ratio), or
        0.0 (none).
    """

    ts: pd.Timestamp
    from_contract: str
    to_contract: str
    reference_ts: pd.Timestamp
    from_price: float
    to_price: float
    adjustment: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (times as ISO strings)."""
        return {"ts": self.ts.isoformat(), "from": self.from_contract,
                "to": self.to_contract, "reference_ts": self.reference_ts.isoformat(),
                "from_price": self.from_price, "to_price": self.to_price,
                "adjustment": self.adjustment}


@dataclass(frozen=True)
class ContinuousSeries:
    """A continuous futures series and how it was built.

    Attributes
    ----------
    bars : DataFrame
        OHLCV (float64) indexed by UTC ``ts_event``, adjusted as asked.
    contract : Series of str
        The contract each bar comes from (same index).
    rolls : list of Roll
        In time order.
    roll, adjust : str
        The rule and the adjustment used.
    days_before : int
        Days before expiry (``roll="days"``).
    """

    bars: pd.DataFrame
    contract: pd.Series
    rolls: list[Roll] = field(default_factory=list)
    roll: str = "volume"
    adjust: str = "none"
    days_before: int = 0

    def metadata(self) -> dict[str, Any]:
        """What a dataset's sidecar keeps: rule, adjustment, contracts and roll dates."""
        return {"roll": self.roll, "adjust": self.adjust,
                "days_before": self.days_before if self.roll == "days" else None,
                "contracts": list(dict.fromkeys(self.contract.tolist())),
                "rolls": [r.to_dict() for r in self.rolls]}


def contract_month(code: str) -> tuple[str, int, int]:
    """(root, year, month) of a contract code such as ``ESZ13`` or ``ESH1``.

    A one-digit year is read as the nearest year ending in that digit within
    2010-2039 (``ESH1`` -> 2021); use two digits (``ESZ13``) to be exact.

    Raises
    ------
    DataError
        When ``code`` is not root + month letter + one or two year digits.
    """
    s = code.strip().upper()
    i = len(s) - 1
    while i >= 0 and s[i].isdigit():
        i -= 1
    digits = s[i + 1:]
    if not (1 <= len(digits) <= 2) or i < 1 or s[i] not in _MONTHS:
        raise DataError(f"{code!r} is not a futures contract code (root, month letter "
                        f"of {_MONTHS}, year digits, e.g. ESZ13); give its expiry instead")
    year = 2000 + int(digits) if len(digits) == 2 else 2020 + int(digits)
    if len(digits) == 1 and year >= 2030:
        year -= 10
    return s[:i], year, _MONTHS.index(s[i]) + 1


def equity_index_expiry(code: str) -> pd.Timestamp:
    """Last trading time of an ES / MES / NQ / MNQ contract: third Friday of the
    contract month, 08:30 America/Chicago, in UTC (CME Rulebook chapters 358-359).

    Raises
    ------
    DataError
        For another root (give expiries, e.g. from a Databento definition file).
    """
    root, year, month = contract_month(code)
    if root not in _THIRD_FRIDAY_ROOTS:
        raise DataError(f"no expiry rule for {root!r} here; pass its expiry (Databento "
                        "definition records carry an 'expiration' field)")
    fridays = [d for d in calendar.Calendar().itermonthdates(year, month)
               if d.month == month and d.weekday() == calendar.FRIDAY]
    local = dt.datetime.combine(fridays[2], dt.time(8, 30), ZoneInfo("America/Chicago"))
    return pd.Timestamp(local).tz_convert("UTC")


def contracts_from_records(records: pd.DataFrame, symbol_column: str = "symbol"
                           ) -> dict[str, pd.DataFrame]:
    """Split a multi-contract bar frame (e.g. ``DBNStore.to_df()`` of an ohlcv schema,
    indexed by ``ts_event``) into one OHLCV frame per contract.

    Raises
    ------
    DataError
        Without a ``symbol_column`` or OHLCV columns.
    """
    missing = [c for c in (symbol_column, *BAR_COLUMNS) if c not in records.columns]
    if missing:
        raise DataError(f"records lack column(s) {missing}; expected {symbol_column} + OHLCV")
    out = {}
    for sym, g in records.groupby(symbol_column, sort=True):
        frame = g[list(BAR_COLUMNS)].astype(np.float64).sort_index()
        frame.index = pd.DatetimeIndex(frame.index).tz_convert("UTC") \
            if frame.index.tz is not None else pd.DatetimeIndex(frame.index).tz_localize("UTC")
        frame.index.name = "ts_event"
        out[str(sym)] = frame
    return out


def expiries_from_definitions(definitions: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """``raw_symbol -> expiration`` (UTC) from Databento definition records."""
    if not {"raw_symbol", "expiration"} <= set(definitions.columns):
        raise DataError("definition records need 'raw_symbol' and 'expiration' columns")
    return {str(r.raw_symbol): pd.Timestamp(r.expiration).tz_convert("UTC")
            if pd.Timestamp(r.expiration).tzinfo else
            pd.Timestamp(r.expiration).tz_localize("UTC")
            for r in definitions.itertuples()}


def _order(contracts: Mapping[str, pd.DataFrame], expiries) -> list[str]:
    def key(code):
        if code in expiries:
            return (pd.Timestamp(expiries[code]).value, code)
        _, y, m = contract_month(code)
        return (pd.Timestamp(year=y, month=m, day=1, tz="UTC").value, code)
    return sorted(contracts, key=key)


def _schedule_days(order, frames, expiries, days_before) -> list[tuple[pd.Timestamp, str]]:
    missing = [c for c in order if c not in expiries]
    if missing:
        raise DataError(f"roll='days' needs the expiry of every contract; missing {missing} "
                        "(pass expiries=, e.g. expiries_from_definitions(...))")
    times = pd.DatetimeIndex(sorted(set().union(*(f.index for f in frames.values()))))
    cut = {c: pd.Timestamp(expiries[c]) - pd.Timedelta(days=days_before) for c in order}
    schedule, current = [], None
    for c_index, c in enumerate(order):
        start = times[0] if c_index == 0 else cut[order[c_index - 1]]
        end = cut[c] if c_index < len(order) - 1 else times[-1] + pd.Timedelta(1, "ns")
        held = times[(times >= start) & (times < end)]
        held = held[held.isin(frames[c].index)]
        if len(held) and c != current:
            schedule.append((held[0], c))
            current = c
    return schedule


def _schedule_volume(order, frames) -> list[tuple[pd.Timestamp, str]]:
    daily = pd.DataFrame({c: frames[c]["volume"].groupby(frames[c].index.floor("D")).sum()
                          for c in order}).sort_index()
    last_day = {c: frames[c].index[-1].floor("D") for c in order}
    rank = {c: k for k, c in enumerate(order)}
    current = min((c for c in order if len(frames[c])), key=lambda c: (frames[c].index[0], rank[c]))
    schedule = [(frames[current].index[0], current)]
    days = list(daily.index)
    for k, day in enumerate(days[:-1]):
        later = [c for c in order if rank[c] > rank[current]]
        if not later:
            break
        vol = daily.loc[day].fillna(0.0)
        best = max(later, key=lambda c: (vol[c], -rank[c]))
        switch = vol[best] > vol[current] or day >= last_day[current]
        if not switch:
            continue
        if vol[best] <= 0:                     # held contract ended, none traded today
            best = next(c for c in later if frames[c].index[-1] > day)
        nxt = frames[best].index[frames[best].index >= days[k + 1]]
        if len(nxt):
            schedule.append((nxt[0], best))
            current = best
    return schedule


def continuous_futures(contracts: Mapping[str, pd.DataFrame],
                       expiries: Mapping[str, Any] | None = None, *, roll: str = "volume",
                       days_before: int = 5, adjust: str = "none") -> ContinuousSeries:
    """Stitch individual contracts into one continuous series.

    Parameters
    ----------
    contracts : mapping of str to DataFrame
        Contract code -> OHLCV bars (float, UTC DatetimeIndex ``ts_event``, sorted),
        all of one root and one timeframe.
    expiries : mapping of str to timestamp, optional
        Contract code -> last trading time (UTC). Required for ``roll="days"``; also
        orders the contracts (else the code's month and year do).
    roll : {"volume", "days"}
        The roll rule (see the module docstring).
    days_before : int
        Calendar days before expiry at which ``roll="days"`` switches (>= 0).
    adjust : {"none", "difference", "ratio"}
        Back-adjustment of the bars before each roll.

    Returns
    -------
    ContinuousSeries
        Bars, the contract of each bar, the rolls, and ``metadata()`` for the store.

    Raises
    ------
    DataError
        No contracts, an empty or unsorted frame, an unknown rule or adjustment, a
        missing expiry for ``roll="days"``, or a difference adjustment that makes a
        price non-positive.
    """
    if roll not in ROLLS:
        raise DataError(f"roll={roll!r}; use one of {ROLLS}")
    if adjust not in ADJUSTMENTS:
        raise DataError(f"adjust={adjust!r}; use one of {ADJUSTMENTS}")
    if not isinstance(days_before, (int, np.integer)) or days_before < 0:
        raise DataError(f"days_before={days_before!r} must be a whole number of days >= 0")
    if not contracts:
        raise DataError("no contracts given; pass {code: bars} for two or more months")
    frames = {}
    for code, f in contracts.items():
        if not isinstance(f, pd.DataFrame) or f.empty:
            raise DataError(f"contract {code!r} has no bars")
        missing = [c for c in BAR_COLUMNS if c not in f.columns]
        if missing:
            raise DataError(f"contract {code!r} lacks column(s) {missing}")
        if not isinstance(f.index, pd.DatetimeIndex) or f.index.tz is None:
            raise DataError(f"contract {code!r} must be indexed by UTC timestamps (ts_event)")
        if not f.index.is_monotonic_increasing or f.index.has_duplicates:
            raise DataError(f"contract {code!r} has unsorted or duplicate timestamps")
        frames[str(code)] = f[list(BAR_COLUMNS)].astype(np.float64)
    expiries = {str(k): pd.Timestamp(v) for k, v in (expiries or {}).items()}
    order = _order(frames, expiries)
    schedule = (_schedule_days(order, frames, expiries, days_before) if roll == "days"
                else _schedule_volume(order, frames))
    pieces, labels, rolls = [], [], []
    for k, (start, code) in enumerate(schedule):
        end = schedule[k + 1][0] if k + 1 < len(schedule) else None
        f = frames[code]
        piece = f[(f.index >= start) & ((f.index < end) if end is not None else True)]
        pieces.append(piece)
        labels.append(pd.Series(code, index=piece.index))
        if k > 0:
            rolls.append(_roll(frames[schedule[k - 1][1]], f, schedule[k - 1][1], code,
                               start, adjust))
    for k, r in enumerate(rolls):           # adjust every piece before roll k
        for j in range(k + 1):
            p = pieces[j].copy()
            cols = ["open", "high", "low", "close"]
            p[cols] = p[cols] + r.adjustment if adjust == "difference" else \
                p[cols] * r.adjustment if adjust == "ratio" else p[cols]
            pieces[j] = p
    bars = pd.concat(pieces)
    bars.index.name = "ts_event"
    if (bars[["open", "high", "low", "close"]] <= 0).any().any():
        raise DataError("the difference adjustment makes some prices <= 0; use "
                        "adjust='ratio' (returns kept) or 'none'")
    contract = pd.concat(labels).rename("contract")
    return ContinuousSeries(bars=bars, contract=contract, rolls=rolls, roll=roll,
                            adjust=adjust, days_before=int(days_before))


def _roll(old: pd.DataFrame, new: pd.DataFrame, old_code: str, new_code: str,
          ts: pd.Timestamp, adjust: str) -> Roll:
    both = old.index.intersection(new.index)
    both = both[both < ts]
    if len(both):
        ref = both[-1]
        a, b = float(old.at[ref, "close"]), float(new.at[ref, "close"])
    else:
        before = old.index[old.index < ts]
        if not len(before):
            raise DataError(f"{old_code} has no bar before the roll to {new_code} at {ts}")
        ref = before[-1]
        a, b = float(old.at[ref, "close"]), float(new.at[ts, "open"])
    value = b - a if adjust == "difference" else b / a if adjust == "ratio" else 0.0
    return Roll(ts=ts, from_contract=old_code, to_contract=new_code, reference_ts=ref,
                from_price=a, to_price=b, adjustment=value)


def rolls_table(meta: Mapping[str, Any] | None) -> pd.DataFrame:
    """The roll dates of a stored continuous dataset (its sidecar's ``continuous``
    entry, ``ContinuousSeries.metadata()``) as a table for the Data page.

    Returns
    -------
    DataFrame
        One row per roll: ``roll at (UTC)``, ``from``, ``to``, ``reference bar (UTC)``,
        ``old price``, ``new price``, ``adjustment``; empty without rolls.
    """
    rows = [{"roll at (UTC)": pd.Timestamp(r["ts"]), "from": r["from"], "to": r["to"],
             "reference bar (UTC)": pd.Timestamp(r["reference_ts"]),
             "old price": r["from_price"], "new price": r["to_price"],
             "adjustment": r["adjustment"]} for r in (meta or {}).get("rolls", [])]
    return pd.DataFrame(rows, columns=["roll at (UTC)", "from", "to", "reference bar (UTC)",
                                       "old price", "new price", "adjustment"])


def store_continuous(catalog, series: ContinuousSeries, symbol: str, timeframe: str,
                     description: str = "") -> dict[str, Any]:
    """Store ``series`` as ``symbol``/``timeframe`` (asset class future) with its roll
    rule, contracts and roll dates in the sidecar (``info(...)["continuous"]``).

    Parameters
    ----------
    catalog : lab.data.Catalog
    series : ContinuousSeries
    symbol, timeframe : str
    description : str

    Returns
    -------
    dict
        The sidecar written.

    Raises
    ------
    DataError
        As ``Catalog.store_bars`` (invalid symbol, timeframe or bars).
    """
    meta = series.metadata()
    contracts = ", ".join(meta["contracts"])
    how = (f"roll {series.days_before} days before expiry" if series.roll == "days"
           else "roll on volume")
    source = f"continuous futures from {contracts} ({how}, adjust {series.adjust})"
    return catalog.store_bars(series.bars, symbol, timeframe, "future", source,
                              description or source, extra={"continuous": meta})
