"""One format for dataset ids (lab.core.ids)."""

from __future__ import annotations

import pytest

from lab.core.errors import ConfigError
from lab.core.ids import dataset_id, parse_dataset_id


def test_dataset_id_round_trips_symbols_with_separators():
    assert dataset_id("BTCUSD_COINBASE", "1h") == "BTCUSD_COINBASE@1h"
    assert parse_dataset_id(dataset_id("ES@CME", "5m")) == ("ES@CME", "5m")


@pytest.mark.parametrize("text", ["BTCUSD", "@1h", "BTC@"])
def test_malformed_dataset_ids_say_how_to_write_one(text):
    with pytest.raises(ConfigError, match="write SYMBOL@timeframe"):
        parse_dataset_id(text)
