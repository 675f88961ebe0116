"""Errors raised by the lab package.

Every error message says what is wrong and how to fix it.
"""

from __future__ import annotations


class LabError(Exception):
    """Base class of every error raised on purpose by ``lab``."""


class ConfigError(LabError, ValueError):
    """An execution or run configuration is invalid (e.g. leverage below 1)."""


class ParamError(LabError, ValueError):
    """Strategy parameters are invalid (wrong name, out of range, constraint broken)."""


class StrategyError(LabError):
    """A strategy failed while computing its signals; wraps the original exception."""


class UnknownStrategyError(LabError, KeyError):
    """No strategy is registered under the requested name."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DataError(LabError, ValueError):
    """Bars are missing or cannot be used (unknown symbol, empty range, bad frame)."""


class DataValidationError(DataError):
    """Input data broke one or more validation rules; nothing was stored.

    Attributes
    ----------
    problems : list of dict
        One entry per broken rule: ``{"rule": str, "message": str, "rows": list[int]}``
        where ``rows`` are 0-based row numbers of the input (at most the first 20).
    """

    def __init__(self, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class SourceError(DataError):
    """A market data source failed (network error, timeout, refusal, unknown symbol,
    a request beyond the source's limits). Nothing of the failed chunk was stored."""
