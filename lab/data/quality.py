"""Soft data-quality findings: gaps against the instrument's calendar, zero-volume bars,
extreme one-bar moves, and the bar size inferred from the data.

Nothing here refuses data (hard rules live in ``lab.data.validate``); the findings go
into a ``QualityReport`` that the Data page shows and the catalog keeps with the bars.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lab.core.types import TIMEFRAME_SECONDS, AssetClass

NS = 1_000_000_000
DAY_NS = 86_400 * NS
WEEK_NS = 7 * DAY_NS

#: A one-bar close-to-close move is extreme when its size exceeds both of these.
EXTREME_MOVE_MIN = 0.20          # fraction (0.20 = 20 %)
EXTREME_MOVE_ROBUST_STDS = 8.0   # multiples of the robust std (1.4826 x MAD) of returns
MAX_LISTED = 20                  # extreme moves listed in a report
MAX_GAPS_LISTED = 5              # largest gaps listed in a report

# FX (and futures) weekend: closed from Friday 20:00 UTC to Sunday 23:00 UTC. Spot FX
# closes Friday 17:00 New York and reopens Sunday 17:00 New York (21:00/22:00 UTC with
# daylight saving); the window adds an hour of slack on each side.
_FX_WEEK_ORIGIN_NS = (1 * 86_400 + 20 * 3_600) * NS   # Friday 1970-01-02 20:00 UTC
_FX_CLOSED_NS = 51 * 3_600 * NS                       # Fri 20:00 -> Sun 23:00
#: FX holidays (month, day), UTC calendar days when the interbank market is closed.
FX_HOLIDAYS = ((12, 25), (1, 1))
#: NYSE full-day closures that are not regular holidays (hurricanes, national days of
#: mourning, 2001-09-11), per NYSE's history of market closings.
NYSE_SPECIAL_CLOSURES = np.array([
    "1985-09-27", "1994-04-27", "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14",
    "2004-06-11", "2007-01-02", "2012-10-29", "2012-10-30", "2018-12-05", "2025-01-09",
], dtype="datetime64[D]")


@dataclass
class QualityReport:
    """What was found in a set of bars (soft findings; nothing here refused the data).

    Attributes
    ----------
    rows : int
        Number of bars.
    first, last : pandas.Timestamp or None
        Open time (UTC) of the first and last bar.
    timeframe : str or None
        Bar size used for the checks: the declared one, else the inferred one.
    inferred_timeframe : str or None
        Bar size inferred from the median spacing of the bars (None when fewer than two
        bars or when the spacing matches no supported timeframe).
    asset_class : str
        Calendar used for the gap check (``equity``, ``index``, ``fx``, ``crypto``,
        ``future``).
    gaps : dict
        ``{"count": int, "missing_bars": int, "largest": [{"start", "end",
        "missing_bars"}]}``: holes in the data beyond the instrument's closed hours.
        ``start``/``end`` are the bars either side of the hole; ``missing_bars`` is an
        estimate (missing weekdays for daily equity/index/FX bars).
    zero_volume_bars : int
        Bars whose volume is 0.
    extreme_moves : list of dict
        The largest one-bar close-to-close moves above ``extreme_move_threshold``
        (at most 20, in time order): ``{"ts": Timestamp, "move": float}`` where
        ``move`` is a fraction (-0.5 = the close halved).
    extreme_move_count : int
        Number of extreme moves (may exceed the listed ones).
    extreme_move_threshold : float or None
        Fraction above which a move counts as extreme for these bars.
    warnings : list of str
        Human-readable findings, one sentence each.
    columns : dict
        Which input column was read for each of ``ts_event, open, high, low, close,
        volume`` (empty when the bars did not come from a file).
    """

    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    timeframe: str | None
    inferred_timeframe: str | None
    asset_class: str = AssetClass.EQUITY.value
    gaps: dict = field(default_factory=lambda: {"count": 0, "missing_bars": 0, "largest": []})
    zero_volume_bars: int = 0
    extreme_moves: list = field(default_factory=list)
    extreme_move_count: int = 0
    extreme_move_threshold: float | None = None
    warnings: list = field(default_factory=list)
    columns: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable dict (timestamps as ISO 8601 strings)."""
        d = asdict(self)
        d["first"] = _iso(self.first)
        d["last"] = _iso(self.last)
        d["gaps"] = {**self.gaps, "largest": [
            {**g, "start": _iso(g["start"]), "end": _iso(g["end"])} for g in self.gaps["largest"]]}
        d["extreme_moves"] = [{"ts": _iso(m["ts"]), "move": float(m["move"])}
                              for m in self.extreme_moves]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "QualityReport":
        """Inverse of ``to_dict``."""
        d = dict(d)
        d["first"] = _ts(d.get("first"))
        d["last"] = _ts(d.get("last"))
        gaps = dict(d.get("gaps") or {"count": 0, "missing_bars": 0, "largest": []})
        gaps["largest"] = [{**g, "start": _ts(g["start"]), "end": _ts(g["end"])}
                           for g in gaps.get("largest", [])]
        d["gaps"] = gaps
        d["extreme_moves"] = [{"ts": _ts(m["ts"]), "move": m["move"]}
                              for m in d.get("extreme_moves", [])]
        return cls(**d)

    def summary(self) -> str:
        """A few lines of plain text for the CLI and the Data page."""
        if not self.rows:
            return "no bars"
        lines = [f"{self.rows} bars of {self.timeframe or '?'} ({self.asset_class}), "
                 f"{_iso(self.first)} .. {_iso(self.last)} UTC"]
        largest = self.gaps["largest"][:3]
        text = "; ".join(f"{_iso(g['start'])} -> {_iso(g['end'])} (~{g['missing_bars']} "
                         "bars missing)" for g in largest)
        lines.append(f"gaps: {self.gaps['count']}" + (f", largest: {text}" if text else ""))
        lines.append(f"zero-volume bars: {self.zero_volume_bars}")
        moves = ", ".join(f"{_iso(m['ts'])} {m['move']:+.1%}" for m in self.extreme_moves[:5])
        lines.append(f"extreme moves: {self.extreme_move_count}" + (f" ({moves})" if moves else ""))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else pd.Timestamp(ts).isoformat()


def _ts(value: Any) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")


def infer_timeframe(ts_ns: np.ndarray) -> str | None:
    """The supported timeframe nearest to the median spacing of bar times.

    Parameters
    ----------
    ts_ns : ndarray of int64, shape (n,)
        Sorted bar open times, nanoseconds since the epoch.

    Returns
    -------
    str or None
        E.g. ``"1h"``; None for fewer than two bars or when the median spacing is more
        than 1.5x away from every supported timeframe (e.g. monthly bars).
    """
    if len(ts_ns) < 2:
        return None
    spacing = float(np.median(np.diff(ts_ns))) / NS
    if spacing <= 0:
        return None
    name, seconds = min(TIMEFRAME_SECONDS.items(), key=lambda kv: abs(np.log(kv[1] / spacing)))
    return name if abs(np.log(seconds / spacing)) <= np.log(1.5) else None


def median_spacing_s(ts_ns: np.ndarray) -> float | None:
    """Median time between consecutive bars, seconds; None for fewer than two bars."""
    if len(ts_ns) < 2:
        return None
    return float(np.median(np.diff(ts_ns))) / NS


def describe_seconds(seconds: float) -> str:
    """``60`` -> ``"1 minute"``, ``86400`` -> ``"1 day"``, ``5400`` -> ``"1.5 hours"``."""
    for unit, size in (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            n = seconds / size
            text = f"{n:.0f}" if abs(n - round(n)) < 1e-9 else f"{n:.3g}"
            return f"{text} {unit}{'' if text == '1' else 's'}"
    return f"{seconds:.3g} seconds"


def timeframe_mismatch(ts_ns: np.ndarray, timeframe: str) -> str | None:
    """Why ``timeframe`` contradicts the bars' own spacing, or None when it fits.

    The declared bar size fits when the median spacing is within 1.5x of it (the
    tolerance ``infer_timeframe`` uses): daily equity bars (weekends, holidays) and
    hourly bars with overnight gaps fit; 1-minute bars declared ``1d`` do not.

    Parameters
    ----------
    ts_ns : ndarray of int64, shape (n,)
        Sorted bar open times, nanoseconds since the epoch.
    timeframe : str
        Declared bar size, a key of ``TIMEFRAME_SECONDS``.
    """
    spacing = median_spacing_s(ts_ns)
    if spacing is None or spacing <= 0:
        return None
    declared = TIMEFRAME_SECONDS[timeframe]
    if abs(np.log(declared / spacing)) <= np.log(1.5):
        return None
    inferred = infer_timeframe(ts_ns)
    found = f"{describe_seconds(spacing)} ({inferred} bars)" if inferred else \
        f"{describe_seconds(spacing)}, which matches no supported timeframe"
    return (f"timeframe {timeframe} was given but the bars are {found} apart (median "
            f"spacing of {len(ts_ns):,} bars)")


def _fx_trading_ns(t: np.ndarray) -> np.ndarray:
    """Nanoseconds of FX trading time since the epoch (weekend windows removed)."""
    shifted = t - _FX_WEEK_ORIGIN_NS
    weeks = shifted // WEEK_NS
    into_week = shifted - weeks * WEEK_NS
    return t - weeks * _FX_CLOSED_NS - np.minimum(into_week, _FX_CLOSED_NS)


def _fx_missing_ns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """FX trading time in [a, b) outside weekends and ``FX_HOLIDAYS``, ns."""
    missing = _fx_trading_ns(b) - _fx_trading_ns(a)
    for i in np.flatnonzero(missing > 0):
        first, last = pd.Timestamp(int(a[i])).year, pd.Timestamp(int(b[i])).year
        for year in range(first, last + 1):
            for month, day in FX_HOLIDAYS:
                start = pd.Timestamp(year, month, day).value
                lo, hi = max(int(a[i]), start), min(int(b[i]), start + DAY_NS)
                if hi > lo:
                    missing[i] -= int(_fx_trading_ns(np.array([hi]))[0]
                                      - _fx_trading_ns(np.array([lo]))[0])
    return missing


def _missing_weekdays(prev: np.ndarray, cur: np.ndarray, holidays: np.ndarray | None = None) -> np.ndarray:
    """Weekdays (other than ``holidays``) strictly between the UTC dates of ``prev`` and ``cur``."""
    d0 = (prev // DAY_NS).astype("datetime64[D]") + np.timedelta64(1, "D")
    d1 = (cur // DAY_NS).astype("datetime64[D]")
    holidays = np.empty(0, dtype="datetime64[D]") if holidays is None else holidays
    return np.busday_count(d0, np.maximum(d0, d1), holidays=holidays)


def find_gaps(ts_ns: np.ndarray, bar_seconds: int, asset_class: str) -> tuple[np.ndarray, np.ndarray]:
    """Holes in a bar series that the instrument's calendar does not explain.

    Rules: crypto trades 24/7, so any missing bar is a gap. FX and futures intraday:
    time inside the weekend window (Friday 20:00 to Sunday 23:00 UTC) is not missing,
    nor (FX) 25 December and 1 January. Equity and index daily (and FX daily) bars:
    weekends are not missing, a single missing weekday is taken as an exchange holiday,
    and the NYSE's unscheduled closures (``NYSE_SPECIAL_CLOSURES``, e.g. 2001-09-11 to
    -14) do not count; two or more missing weekdays in a row are a gap. Equity/index
    intraday: a hole inside one UTC day, or two or more missing weekdays between days.
    Weekly bars: any missing week.

    Parameters
    ----------
    ts_ns : ndarray of int64, shape (n,)
        Sorted, unique bar open times, nanoseconds since the epoch (UTC).
    bar_seconds : int
        Bar length, seconds.
    asset_class : str
        ``equity``, ``index``, ``fx``, ``crypto`` or ``future``.

    Returns
    -------
    positions : ndarray of int64, shape (k,)
        Index ``i`` of the first bar after each gap (the gap lies between bars
        ``i - 1`` and ``i``).
    missing : ndarray of int64, shape (k,)
        Estimated bars (or weekdays, for daily non-crypto bars) missing in each gap.
    """
    ac = AssetClass(asset_class)
    closures = NYSE_SPECIAL_CLOSURES if ac in (AssetClass.EQUITY, AssetClass.INDEX) else None
    if len(ts_ns) < 2:
        return np.empty(0, dtype="int64"), np.empty(0, dtype="int64")
    bar = int(bar_seconds) * NS
    prev, cur = ts_ns[:-1], ts_ns[1:]
    whole = (cur - prev) // bar - 1                       # missing bars on a 24/7 clock
    if ac is AssetClass.CRYPTO or bar > DAY_NS:
        missing = whole
    elif bar == DAY_NS:
        weekdays = _missing_weekdays(prev, cur, closures)
        missing = np.where(weekdays > 1, weekdays, 0)
    elif ac is AssetClass.FX:
        missing = _fx_missing_ns(prev + bar, cur) // bar
    elif ac is AssetClass.FUTURE:
        missing = (_fx_trading_ns(cur) - _fx_trading_ns(prev + bar)) // bar
    else:
        same_day = (prev // DAY_NS) == (cur // DAY_NS)
        weekdays = _missing_weekdays(prev, cur, closures)
        per_day = max(1, int(round(6.5 * 3600 * NS / bar)))
        missing = np.where(same_day, whole, np.where(weekdays > 1, weekdays * per_day, 0))
    positions = np.flatnonzero(missing >= 1) + 1
    return positions.astype("int64"), np.asarray(missing[positions - 1], dtype="int64")


def extreme_moves(close: np.ndarray) -> tuple[np.ndarray, np.ndarray, float | None]:
    """One-bar close-to-close moves that are large for this series.

    A move ``close[i] / close[i-1] - 1`` is extreme when its size exceeds both 20 % and
    8 robust standard deviations of all moves (robust std = 1.4826 x median absolute
    deviation, a consistent estimator of the std for normal data). Unadjusted splits
    (a 2:1 split is a -50 % move) and bad ticks show up here.

    Parameters
    ----------
    close : ndarray of float64, shape (n,)
        Close prices, positive.

    Returns
    -------
    positions : ndarray of int64, shape (k,)
        Bar index ``i`` of each extreme move.
    moves : ndarray of float64, shape (k,)
        The moves as fractions.
    threshold : float or None
        The size above which a move is extreme (None for fewer than three bars).
    """
    if len(close) < 3:
        return np.empty(0, dtype="int64"), np.empty(0), None
    moves = close[1:] / close[:-1] - 1.0
    median = np.median(moves)
    robust_std = 1.4826 * float(np.median(np.abs(moves - median)))
    threshold = max(EXTREME_MOVE_MIN, EXTREME_MOVE_ROBUST_STDS * robust_std)
    positions = np.flatnonzero(np.abs(moves) > threshold)
    return (positions + 1).astype("int64"), moves[positions], float(threshold)


def assess_quality(bars: pd.DataFrame, timeframe: str | None, asset_class: str,
                   warnings: list[str] | None = None,
                   columns: dict[str, str] | None = None) -> QualityReport:
    """Build the quality report of valid bars.

    Parameters
    ----------
    bars : DataFrame
        Canonical bar frame (UTC index ``ts_event``; float64 OHLCV), already validated.
    timeframe : str or None
        Declared bar size; None to use the inferred one.
    asset_class : str
        Calendar for the gap check (see ``find_gaps``).
    warnings : list of str, optional
        Findings from reading the file, carried into the report.
    columns : dict, optional
        Input column read for each bar field.

    Returns
    -------
    QualityReport
    """
    ac = AssetClass(asset_class).value
    t = np.asarray(bars.index.as_unit("ns").asi8, dtype="int64")
    inferred = infer_timeframe(t)
    used = timeframe or inferred
    notes = list(warnings or [])
    if timeframe and inferred and inferred != timeframe:
        notes.append(f"declared timeframe {timeframe} but the median bar spacing is "
                     f"{inferred}; check the timeframe you passed")
    if len(t) >= 2 and inferred is None:
        spacing = pd.Timedelta(int(np.median(np.diff(t))), "ns")
        notes.append(f"the median bar spacing {spacing} matches no supported timeframe "
                     f"({', '.join(TIMEFRAME_SECONDS)})")
    report = QualityReport(rows=len(bars), first=bars.index[0] if len(bars) else None,
                           last=bars.index[-1] if len(bars) else None, timeframe=used,
                           inferred_timeframe=inferred, asset_class=ac, warnings=notes,
                           columns=dict(columns or {}))
    if not len(bars):
        return report
    volume = bars["volume"].to_numpy()
    report.zero_volume_bars = int(np.count_nonzero(volume == 0))
    if report.zero_volume_bars == len(bars):
        notes.append("volume is 0 on every bar (no volume in the source?)")
    pos, moves, report.extreme_move_threshold = extreme_moves(bars["close"].to_numpy())
    report.extreme_move_count = int(len(pos))
    keep = np.sort(np.argsort(-np.abs(moves), kind="stable")[:MAX_LISTED])
    report.extreme_moves = [{"ts": bars.index[pos[k]], "move": float(moves[k])} for k in keep]
    if used is None:
        return report
    bar_s = TIMEFRAME_SECONDS[used]
    gap_pos, missing = find_gaps(t, bar_s, ac)
    order = np.argsort(-missing, kind="stable")[:MAX_GAPS_LISTED]
    report.gaps = {"count": int(len(gap_pos)), "missing_bars": int(missing.sum()),
                   "largest": [{"start": bars.index[gap_pos[k] - 1], "end": bars.index[gap_pos[k]],
                                "missing_bars": int(missing[k])} for k in order]}
    if bar_s <= 86_400:
        off = np.count_nonzero(t % (bar_s * NS))
        if off:
            notes.append(f"{off} bar(s) do not start on a {used} boundary counted from "
                         "00:00 UTC (first: "
                         f"{bars.index[np.flatnonzero(t % (bar_s * NS))[0]].isoformat()}); "
                         "resampled buckets start at 00:00 UTC")
    return report


def explain_moves(report: QualityReport, events: dict[str, Any] | None) -> QualityReport:
    """Name the split or dividend behind an extreme move (adds a warning per match).

    Parameters
    ----------
    report : QualityReport
        A report whose ``extreme_moves`` are listed; changed in place.
    events : dict, optional
        ``{"splits": [{"date": "YYYY-MM-DD", "ratio": float}], "dividends": [{"date",
        "amount"}]}`` as a source keeps them (dates are exchange trading dates).

    Returns
    -------
    QualityReport
        The same report.
    """
    if not events:
        return report
    by_date: dict[str, list[str]] = {}
    for s in events.get("splits", []):
        by_date.setdefault(s["date"], []).append(f"a {s['ratio']:g}-for-1 split")
    for d in events.get("dividends", []):
        by_date.setdefault(d["date"], []).append(f"a dividend of {d['amount']:g}")
    for move in report.extreme_moves:
        day = pd.Timestamp(move["ts"]).strftime("%Y-%m-%d")
        if day in by_date:
            report.warnings.append(
                f"the {move['move']:+.1%} move at {day} is {' and '.join(by_date[day])} "
                "(unadjusted prices jump there; not a data error)")
    return report
