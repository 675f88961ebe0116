"""Identifiers written by hand in several places, in one format each.

* A dataset (bars of one symbol at one timeframe): ``"SYMBOL@timeframe"``, e.g.
  ``"BTCUSD_COINBASE@1h"`` (sweep manifests, sweep lists, job titles, tracking tags).
"""

from __future__ import annotations

from lab.core.errors import ConfigError

#: Separator of a dataset id.
DATASET_SEP = "@"


def dataset_id(symbol: str, timeframe: str) -> str:
    """``"SYMBOL@timeframe"``: the id of the bars of ``symbol`` at ``timeframe``."""
    return f"{symbol}{DATASET_SEP}{timeframe}"


def parse_dataset_id(text: str) -> tuple[str, str]:
    """Inverse of ``dataset_id``: ``"BTCUSD_COINBASE@1h"`` -> ``("BTCUSD_COINBASE", "1h")``.

    Raises
    ------
    ConfigError
        When ``text`` is not ``SYMBOL@timeframe``.
    """
    symbol, sep, timeframe = str(text).rpartition(DATASET_SEP)
    if not sep or not symbol or not timeframe:
        raise ConfigError(f"{text!r} is not a dataset id; write SYMBOL@timeframe, "
                          "e.g. BTCUSD_COINBASE@1h")
    return symbol, timeframe


__all__ = ["DATASET_SEP", "dataset_id", "parse_dataset_id"]
