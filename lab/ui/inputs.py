"""Parsing of level lists and ranges typed as text: one grammar for the forms (Sweep,
Walk-forward, Optimize) and the command line (``--sl``, ``--tp``, ``--leverage``, grids).

* a list: entries separated by commas (or semicolons), e.g. ``off, 1, 2.5``;
* a range: ``low:high``, or one number for a fixed value where a command takes one;
* ``off`` / ``none`` / ``-`` mean no stop or target (where a level may be off).

The forms take percent (divided by 100, the library takes fractions: ``"2.5"`` ->
0.025, and ``0`` is off too); the command line takes fractions as typed.
"""

from __future__ import annotations

from lab.core.errors import ConfigError

#: Words that switch a level off.
OFF = ("off", "none", "-")


def split_list(text: str) -> list[str]:
    """``"1, 2; 3"`` -> ``["1", "2", "3"]``: entries separated by commas or semicolons,
    blanks dropped."""
    return [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]


def _example(percent: bool, off: bool) -> str:
    return "off, 1, 2.5" if percent else ("none, 0.02, 0.05" if off else "1, 2, 3")


def parse_levels(text: str, what: str, percent: bool = True,
                 allow_off: bool | None = None) -> tuple:
    """``"off, 1, 2.5"`` -> ``(None, 0.01, 0.025)`` (percent) or floats as typed.

    Parameters
    ----------
    text : str
    what : str
        The field's name in messages (``"Stop-loss"``, ``"--sl"``).
    percent : bool
        Divide by 100 (forms); False: fractions or plain numbers (command line).
    allow_off : bool, optional
        Whether ``off`` / ``none`` / ``-`` give None; default ``percent`` (where ``0``
        is off too).

    Raises
    ------
    ConfigError
        Naming the entry that is not a number, with an example.
    """
    allow_off = percent if allow_off is None else allow_off
    out = []
    for part in split_list(text):
        part = part.rstrip("%").strip()
        if not part:
            continue
        if allow_off and (part.lower() in OFF or (percent and part == "0")):
            out.append(None)
            continue
        try:
            v = float(part)
        except ValueError:
            raise ConfigError(f"{what}: {part!r} is not a number; write e.g. "
                              f"{_example(percent, allow_off)}") from None
        out.append(v / 100 if percent else v)
    if not out:
        raise ConfigError(f"{what}: give at least one level (e.g. "
                          f"{_example(percent, allow_off)})")
    return tuple(out)


def parse_range(text: str, what: str, percent: bool = True) -> tuple[float, float] | None:
    """``"off"`` -> None, ``"1:5"`` -> (0.01, 0.05) (percent) or (1, 5).

    Raises
    ------
    ConfigError
        Not ``low:high`` numbers with 0 <= low <= high.
    """
    return parse_value_or_range(text, what, percent, fixed_ok=False)[1]


def parse_value_or_range(text: str | None, what: str, percent: bool = True, *,
                         fixed_ok: bool = True) -> tuple[float | None, tuple | None]:
    """``"off"`` / None -> (None, None), ``"2"`` -> (2.0, None), ``"1:5"`` -> (None,
    (1.0, 5.0)); percent inputs divided by 100.

    Raises
    ------
    ConfigError
        Not one number (when ``fixed_ok``) or ``low:high`` with 0 <= low <= high.
    """
    t = "" if text is None else str(text).strip().replace("%", "")
    if t.lower() in ("",) + OFF:
        return None, None
    k = 100.0 if percent else 1.0
    example = "1:5" if percent else "0.01:0.05"
    fix = f"write low:high (e.g. {example}){', one number' if fixed_ok else ''} or 'off'"
    try:
        if ":" not in t and fixed_ok:
            return float(t) / k, None
        lo, hi = (float(x) for x in t.split(":"))
    except ValueError:
        raise ConfigError(f"{what}: {t!r}: {fix}") from None
    if lo > hi or lo < 0:
        raise ConfigError(f"{what}: {t!r}: low must be >= 0 and <= high")
    return None, (lo / k, hi / k)


__all__ = ["OFF", "parse_levels", "parse_range", "parse_value_or_range", "split_list"]
