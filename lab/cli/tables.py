"""Tables for a terminal: chosen columns, units in the headers, no scientific notation,
fitted to a width (the widest text column is cut with an ellipsis).

A column is described by ``(header, kind)``; kinds: ``pct`` (a fraction shown as a
percentage, the header says ``%``), ``prob`` (a probability, 0.00-1.00), ``ratio`` (two
decimals), ``int`` (thousands separators), ``money`` (two decimals, separators),
``date`` (YYYY-MM-DD), ``level`` (a fraction of the entry price, ``off`` when NaN),
``text``.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping, Sequence

import pandas as pd

#: Terminal width the default tables fit.
WIDTH = 100


def _number(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def format_value(v: Any, kind: str) -> str:
    """One cell: ``v`` formatted as ``kind`` (see the module docstring)."""
    if kind == "text":
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    if kind == "date":
        return "" if v is None or pd.isna(v) else f"{pd.Timestamp(v):%Y-%m-%d}"
    f = _number(v)
    if kind == "level":
        return "off" if f is None or f == 0 else f"{f * 100:g}%"
    if f is None:
        return "n/a"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if kind == "pct":
        return f"{f * 100:,.1f}"
    if kind == "prob":
        return f"{f:.2f}"
    if kind == "int":
        return f"{int(round(f)):,d}"
    if kind == "money":
        return f"{f:,.2f}"
    return f"{f:,.2f}"


def params_text(params: Any) -> str:
    """``{"fast": 20, "slow": 50}`` (or its JSON) -> ``"fast=20 slow=50"``."""
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            return params
    if not isinstance(params, Mapping):
        return "" if params is None else str(params)
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in params.items())


def levels_text(row: Mapping[str, Any]) -> str:
    """``"2%/off/3x"`` (stop-loss / take-profit / leverage) from a row's ``sl``, ``tp``
    and ``leverage``; a level that is off shows ``off``."""
    lev = _number(row.get("leverage"))
    return (f"{format_value(row.get('sl'), 'level')}/{format_value(row.get('tp'), 'level')}"
            f"/{1.0 if lev is None else lev:g}x")


def render(frame: pd.DataFrame, columns: Sequence[str],
           specs: Mapping[str, tuple[str, str]], width: int = WIDTH) -> str:
    """``frame``'s ``columns`` as aligned text of at most ``width`` characters a line.

    Parameters
    ----------
    frame : DataFrame
        One row per line.
    columns : sequence of str
        Column names in order; a name missing from ``specs`` is shown as text under its
        own name.
    specs : mapping
        Column -> ``(header, kind)``.
    width : int
        Line width to fit: the widest text column is shortened (ending in "…") until the
        lines fit, down to 8 characters.

    Raises
    ------
    KeyError
        A column that ``frame`` does not have (the message lists those it has).
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"no column(s) {missing}; choose from {list(frame.columns)}")
    headers, cells, right = [], [], []
    for c in columns:
        header, kind = specs.get(c, (c, "text"))
        headers.append(header)
        cells.append([format_value(v, kind) for v in frame[c].tolist()])
        right.append(kind not in ("text", "date"))
    widths = [max([len(h)] + [len(s) for s in col]) for h, col in zip(headers, cells)]
    while sum(widths) + 2 * (len(widths) - 1) > width:
        text_cols = [i for i, r in enumerate(right) if not r and widths[i] > 8]
        if not text_cols:
            break
        i = max(text_cols, key=lambda j: widths[j])
        over = sum(widths) + 2 * (len(widths) - 1) - width
        widths[i] = max(8, widths[i] - over)
    for i, w in enumerate(widths):
        cells[i] = [s if len(s) <= w else s[: w - 1] + "…" for s in cells[i]]
        headers[i] = headers[i][:w]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w)
                         for v, w, r in zip(values, widths, right)).rstrip()

    out = [line(headers)]
    out += [line([col[k] for col in cells]) for k in range(len(frame))]
    return "\n".join(out)
