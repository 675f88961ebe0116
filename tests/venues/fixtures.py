"""pytest fixtures for the venue stand-ins (import them in a conftest or test module)."""

from __future__ import annotations

import pandas as pd
import pytest

from lab.data.samples import SAMPLES_DIR


def coinbase_btc_hourly() -> pd.DataFrame:
    """Real BTC/USD hourly bars (committed sample ``BTCUSD_COINBASE_1h``), served as
    Binance's BTCUSDT by the Binance stand-in."""
    bars = pd.read_parquet(SAMPLES_DIR / "BTCUSD_COINBASE_1h.parquet")
    return bars.set_index("ts_event").sort_index()


@pytest.fixture
def binance_server():
    """A ``BinanceServer`` serving real BTCUSDT 1h bars; stopped after the test."""
    from tests.venues.binance_server import BinanceServer

    with BinanceServer({"BTCUSDT": coinbase_btc_hourly()}, interval="1h") as server:
        yield server
