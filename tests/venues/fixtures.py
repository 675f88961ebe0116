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


#: AAPL's real splits and dividends within the committed sample (2000-03 .. 2013-03):
#: 2-for-1 splits effective 2000-06-21 and 2005-02-28; quarterly dividends of $2.65
#: from August 2012 (ex-dates 2012-08-09, 2012-11-07, 2013-02-07).
AAPL_SPLITS = [("2000-06-21", 2, 1), ("2005-02-28", 2, 1)]
AAPL_DIVIDENDS = [("2012-08-09", 2.65), ("2012-11-07", 2.65), ("2013-02-07", 2.65)]


def aapl_daily_raw() -> pd.DataFrame:
    """Real unadjusted AAPL daily bars (committed sample ``AAPL_1d``)."""
    return pd.read_parquet(SAMPLES_DIR / "AAPL_1d.parquet").set_index("ts_event").sort_index()


def es_minutes() -> pd.DataFrame:
    """Real ES (E-mini S&P 500, Dec-2013) 1-minute bars, 2013-10-07 .. 2013-10-11 UTC
    (QuantConnect Lean, Apache-2.0; /work/shared/datasets/lean_ESZ13_1min_utc.csv)."""
    from pathlib import Path

    path = Path(__file__).parent / "data" / "lean_ESZ13_1min_utc.csv.gz"
    bars = pd.read_csv(path, parse_dates=["datetime"])
    index = pd.DatetimeIndex(bars.pop("datetime")).tz_localize("UTC").as_unit("ns")
    return bars.set_index(index.rename("ts_event")).astype("float64")


@pytest.fixture
def yahoo_server(tmp_path_factory):
    """A ``YahooServer`` serving real AAPL daily bars (with its splits and dividends) and
    real ES=F minute bars; yfinance's time-zone cache goes to a temporary folder."""
    import yfinance as yf

    from tests.venues.yahoo_server import YahooInstrument, YahooServer

    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yf-cache")))
    instruments = {
        "AAPL": YahooInstrument(aapl_daily_raw(), "1d", AAPL_SPLITS, AAPL_DIVIDENDS),
        "ES=F": YahooInstrument(es_minutes(), "1m", instrument_type="FUTURE",
                                exchange="CME"),
    }
    with YahooServer(instruments) as server:
        yield server


@pytest.fixture
def databento_server(monkeypatch):
    """A ``DatabentoServer`` (HTTPS) with ``DATABENTO_API_KEY``, ``LAB_DATABENTO_GATEWAY``
    and ``REQUESTS_CA_BUNDLE`` set for the test."""
    from tests.venues.databento_server import DatabentoServer

    with DatabentoServer() as server:
        monkeypatch.setenv("DATABENTO_API_KEY", "db-TESTKEY0000000000000000000000")
        monkeypatch.setenv("LAB_DATABENTO_GATEWAY", server.gateway)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_bundle))
        yield server
