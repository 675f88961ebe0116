"""Parsing of the level and range text inputs of the forms (Sweep, Walk-forward,
Optimize): one rule for percent levels, ``off`` and ``low:high`` ranges.

Percent inputs are divided by 100 (the library takes fractions: ``"2.5"`` -> 0.025);
``off`` / ``none`` (and ``0`` for a percent level) mean no stop or target.
"""

from __future__ import annotations

from lab.core.errors import ConfigError

#: Words that switch a level off.
OFF = ("off", "none")


def split_list(text: str) -> list[str]:
    """``"1, 2; 3"`` -> ``["1", "2", "3"]``: entries separated by commas or semicolons,
    blanks dropped."""
    return [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]


def parse_levels(text: str, what: str, percent: bool = True) -> tuple:
    """``"off, 1, 2.5"`` -> ``(None, 0.01, 0.025)`` (percent) or floats.

    Raises
    ------
    ConfigError
        Naming the entry that is not a number.
    """
    out = []
    for part in split_list(text):
        part = part.rstrip("%").strip()
        if not part:
            continue
        if percent and (part.lower() in OFF or part == "0"):
            out.append(None)
            continue
        try:
            v = float(part)
        except ValueError:
            raise ConfigError(f"{what}: {part!r} is not a number; write e.g. "
                              f"{'off, 1, 2.5' if percent else '1, 2, 3'}") from None
        out.append(v / 100 if percent else v)
    if not out:
        raise ConfigError(f"{what}: give at least one level ({'off' if percent else '1'})")
    return tuple(out)


def parse_range(text: str, what: str, percent: bool = True) -> tuple[float, float] | None:
    """``"off"`` -> None, ``"1:5"`` -> (0.01, 0.05) (percent) or (1, 5).

    Raises
    ------
    ConfigError
        Not ``low:high`` numbers with low <= high.
    """
    t = str(text).strip().replace("%", "")
    if t.lower() in ("",) + OFF:
        return None
    try:
        lo, hi = (float(x) for x in t.split(":"))
    except ValueError:
        raise ConfigError(f"{what}: write low:high (e.g. 1:5) or 'off'") from None
    if lo > hi or lo < 0:
        raise ConfigError(f"{what}: low must be >= 0 and <= high")
    k = 100.0 if percent else 1.0
    return lo / k, hi / k


__all__ = ["OFF", "parse_levels", "parse_range", "split_list"]
