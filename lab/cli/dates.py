"""``--start`` / ``--end`` of every command: a date or an ISO 8601 time, UTC unless it
carries an offset; anything else is one line saying what to type.

``--end`` is inclusive: a bare date (``2020-12-31``) means the whole of that day.
"""

from __future__ import annotations

import argparse
import re

#: YYYY-MM-DD, optionally followed by [T or space]HH:MM[:SS[.fff]] and Z or +HH:MM.
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}"
                 r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
EXAMPLE = "e.g. 2020-01-31 or 2020-01-31T14:30 (UTC; an offset such as +02:00 is allowed)"


def parse_time(text, what: str = "--start", end: bool = False):
    """A UTC ``pd.Timestamp`` from ``text``.

    Parameters
    ----------
    text : str, Timestamp or None
        ``YYYY-MM-DD`` or an ISO 8601 time (``2020-01-31T14:30``, ``...Z``,
        ``...+02:00``); a Timestamp passes through (converted to UTC).
    what : str
        The option's name, for the message.
    end : bool
        Inclusive end: a bare date is extended to its last nanosecond.

    Returns
    -------
    pd.Timestamp or None

    Raises
    ------
    argparse.ArgumentTypeError
        Not a date nor an ISO time, or no such date (``2020-02-30``); the message gives
        an example.
    """
    import pandas as pd

    if text is None:
        return None
    if isinstance(text, pd.Timestamp):
        return text.tz_localize("UTC") if text.tzinfo is None else text.tz_convert("UTC")
    raw = str(text).strip()
    bad = argparse.ArgumentTypeError(f"{what} {raw!r} is not a date or time; type a date "
                                     f"or an ISO time, {EXAMPLE}")
    if not ISO.match(raw):
        raise bad
    try:
        ts = pd.Timestamp(raw)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{what} {raw!r} is no such date or time; "
                                         f"{EXAMPLE}") from None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if end and len(raw) == 10:
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(nanoseconds=1)
    return ts


def start_time(text):
    """``type=`` of ``--start``: see ``parse_time``."""
    return parse_time(text, "--start")


def end_time(text):
    """``type=`` of ``--end`` (inclusive; a bare date covers its whole day)."""
    return parse_time(text, "--end", end=True)


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr, exit status 2:
    ``error: <what is wrong> (python -m lab <command> --help lists the options)``.
    Subparsers made from it are of the same class."""

    def error(self, message: str):     # noqa: D401 - argparse's hook
        import sys

        sys.stderr.write(f"error: {message} ({self.prog} --help lists the options)\n")
        raise SystemExit(2)
