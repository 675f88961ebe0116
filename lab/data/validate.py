"""Hard validation rules: bars that break one are refused and nothing is stored.

Each broken rule becomes a problem ``{"rule", "message", "rows", "count"}`` where
``rows`` are the 0-based data row numbers of the input (header not counted; in a CSV
with one header line, row ``r`` is on line ``r + 2``), at most ``MAX_LISTED_ROWS`` of
them, and ``count`` is how many rows broke the rule. ``refuse`` raises one
``DataValidationError`` carrying every problem, with a message that says how to fix
each.
"""

from __future__ import annotations

import time
from typing import Iterable, Mapping

import numpy as np

from lab.core.errors import DataValidationError

MAX_LISTED_ROWS = 20

#: How to fix each rule; quoted in the error message.
FIXES: dict[str, str] = {
    "empty_file": "export the bars again; the file must have a header and at least one row",
    "unsupported_format": "save the bars as .csv (or .csv.gz) or .parquet, or give a "
                          "Databento .dbn / .dbn.zst file of OHLCV records",
    "several_instruments": "one dataset holds one instrument; download a continuous "
                           "symbol (MCL.c.0) or a single contract",
    "unreadable_file": "check that the file is a valid CSV/Parquet export (one header line, "
                       "the same number of fields on every line, UTF-8 text)",
    "file_too_large": "split the file by date range, or ingest it from disk with ingest_file",
    "missing_columns": "name the columns ts_event (or timestamp/datetime/date), open, high, "
                       "low, close and optionally volume",
    "unparseable_timestamp": "write times as ISO 8601 ('2020-01-31' or '2020-01-31 14:00:00', "
                             "with an offset or 'Z' if not UTC) or as Unix seconds/milliseconds",
    "timestamp_out_of_range": "times must fall between 1900 and 2200; check the unit of "
                              "numeric times (seconds vs milliseconds)",
    "duplicate_timestamp": "keep one row per bar time (drop the repeated rows)",
    "unsorted_timestamps": "sort the rows by time, oldest first",
    "missing_price": "fill or drop the rows with empty/NaN/infinite prices",
    "non_numeric": "remove text (and thousands separators) from the number columns",
    "non_positive_price": "prices must be above 0; drop or correct those rows",
    "ohlc_inconsistent": "each bar needs low <= open, close <= high; correct or drop those "
                         "rows (swapped columns?)",
    "negative_volume": "volume must be >= 0; correct or drop those rows",
    "unknown_timeframe": "pass the bar size explicitly, e.g. timeframe='1h'",
    "timeframe_mismatch": "leave the timeframe out to store the bars at their own spacing "
                          "(a DBN file states its own), or resample them / pick the file "
                          "of the timeframe you want before ingesting",
    "future_timestamp": "drop the rows dated after now (UTC), or fix the times' time zone "
                        "or unit (seconds vs milliseconds)",
}

#: Bars may be dated up to this far after the clock (ns): a venue's clock ahead of ours.
FUTURE_TOLERANCE_NS = 60 * 1_000_000_000


def problem(rule: str, message: str, rows: Iterable[int] | np.ndarray = ()) -> dict:
    """One broken rule.

    Parameters
    ----------
    rule : str
        Rule name, a key of ``FIXES``.
    message : str
        What is wrong, one sentence.
    rows : iterable of int
        0-based input row numbers that break the rule (all of them; only the first
        ``MAX_LISTED_ROWS`` are kept).

    Returns
    -------
    dict
        ``{"rule", "message", "rows", "count"}``.
    """
    rows = [int(r) for r in rows]
    return {"rule": rule, "message": message, "rows": rows[:MAX_LISTED_ROWS], "count": len(rows)}


def row_problem(rule: str, what: str, rows: np.ndarray) -> dict | None:
    """A problem for the rows in ``rows`` (None when empty).

    Parameters
    ----------
    rule : str
        Rule name.
    what : str
        Description of the failure, completed as "<n> row(s) <what>".
    rows : ndarray of int, shape (k,)
        Offending 0-based row numbers.
    """
    if len(rows) == 0:
        return None
    listed = ", ".join(str(int(r)) for r in rows[:MAX_LISTED_ROWS])
    more = f" and {len(rows) - MAX_LISTED_ROWS} more" if len(rows) > MAX_LISTED_ROWS else ""
    return problem(rule, f"{len(rows)} row(s) {what} (rows {listed}{more})", rows)


def check_values(ts_ns: np.ndarray, ts_ok: np.ndarray,
                 prices: Mapping[str, np.ndarray], volume: np.ndarray,
                 now_ns: int | None = None) -> list[dict]:
    """Apply the row rules to parsed columns.

    Parameters
    ----------
    ts_ns : ndarray of int64, shape (n,)
        Bar times, nanoseconds since the epoch (values where ``ts_ok`` is False are
        ignored).
    ts_ok : ndarray of bool, shape (n,)
        True where the time was parsed.
    prices : mapping of str to ndarray of float64, each shape (n,)
        ``open, high, low, close``; NaN where a cell was empty or not a number.
    volume : ndarray of float64, shape (n,)
        Volume (NaN already replaced).
    now_ns : int, optional
        The present, ns since the epoch (default: the clock). A bar opening after it
        (plus ``FUTURE_TOLERANCE_NS``) breaks ``future_timestamp``: such bars are
        refused, never stored or cut off silently.

    Returns
    -------
    list of dict
        Problems (see ``problem``), empty when every rule holds.
    """
    out: list[dict | None] = []
    t = ts_ns[ts_ok]
    rows = np.flatnonzero(ts_ok)
    now = time.time_ns() if now_ns is None else int(now_ns)
    late = rows[t > now + FUTURE_TOLERANCE_NS]
    if len(late):
        first = np.datetime_as_string(np.datetime64(int(ts_ns[late[0]]), "ns"), unit="s")
        out.append(row_problem("future_timestamp", f"are dated after now (the first at "
                               f"{first} UTC; now is "
                               f"{np.datetime_as_string(np.datetime64(now, 'ns'), unit='s')} "
                               "UTC)", late))
    if len(t) > 1:
        _, first = np.unique(t, return_index=True)
        dup = np.ones(len(t), dtype=bool)
        dup[first] = False
        out.append(row_problem("duplicate_timestamp", "repeat the time of an earlier row",
                               rows[dup]))
        out.append(row_problem("unsorted_timestamps", "are earlier than the row before "
                               "(the file must be sorted oldest first)",
                               rows[1:][np.diff(t) < 0]))
    o, h, lo, c = (prices[k] for k in ("open", "high", "low", "close"))
    stacked = np.vstack([o, h, lo, c])
    missing = ~np.isfinite(stacked).all(axis=0)
    out.append(row_problem("missing_price", "have an empty, NaN or infinite price",
                           np.flatnonzero(missing)))
    with np.errstate(invalid="ignore"):
        nonpos = (stacked <= 0).any(axis=0)
        out.append(row_problem("non_positive_price", "have a price <= 0", np.flatnonzero(nonpos)))
        # tolerance of 1e-9 relative absorbs float rounding in exported prices
        tol = 1e-9 * np.abs(h)
        bad = ((lo > np.minimum(o, c) + tol) | (h < np.maximum(o, c) - tol) | (lo > h + tol))
        bad &= ~missing
        out.append(row_problem("ohlc_inconsistent",
                               "break low <= min(open, close) <= max(open, close) <= high",
                               np.flatnonzero(bad)))
        out.append(row_problem("negative_volume", "have a negative volume",
                               np.flatnonzero(volume < 0)))
    return [p for p in out if p is not None]


def refusal_text(name: str, problems: list[dict], stored: bool = False) -> str:
    """The message of a refusal: one line per rule with what is wrong and how to fix it.

    Parameters
    ----------
    name : str
        The input's name (file name).
    problems : list of dict
        Broken rules, see ``problem``.
    stored : bool
        True when the input was on its way into the store (ingest, upload): the message
        then says that nothing was stored; a file read for a backtest was never going
        to be stored, and its message does not say so.
    """
    refused = "was refused and nothing was stored" if stored else "was refused"
    lines = [f"{name} {refused}; fix the following and try again "
             "(rows count data rows from 0; in a CSV, row r is on line r + 2):"]
    for p in problems:
        lines.append(f"  - {p['rule']}: {p['message']}. Fix: {FIXES.get(p['rule'], '')}")
    return "\n".join(lines)


def refuse(name: str, problems: list[dict]) -> None:
    """Raise ``DataValidationError`` for ``problems`` (no-op when there are none).

    Parameters
    ----------
    name : str
        The input's name (file name) for the message.
    problems : list of dict
        Broken rules, see ``problem``.

    Raises
    ------
    DataValidationError
        Message ``refusal_text(name, problems)``; ``.problems`` carries the rules and
        rows, ``.name`` the input's name (``lab.data.ingest`` re-raises it saying that
        nothing was stored).
    """
    if not problems:
        return
    err = DataValidationError(refusal_text(name, problems), problems)
    err.name = name
    raise err
