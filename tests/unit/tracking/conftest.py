"""A real local MLflow store shared by the tracking tests of one worker (creating the
SQLite tables takes ~2 s), and real backtests on the bundled samples to record in it.

Tests isolate themselves by project name (the first part of the experiment name)
rather than by store, so they never depend on what other tests recorded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lab.core import ExecutionConfig
from lab.engines.result import ORDER_COLUMNS, BacktestResult, trades_frame


@pytest.fixture(scope="session")
def store_root(tmp_path_factory):
    """Data folder whose ``mlflow/`` holds the shared store (tables created once)."""
    from lab.tracking import store

    root = tmp_path_factory.mktemp("tracking")
    store.client(store.tracking_uri(root))
    return root


@pytest.fixture(scope="session")
def uri(store_root) -> str:
    from lab.tracking import tracking_uri

    return tracking_uri(store_root)


@pytest.fixture(scope="session")
def btc_result(sample_catalog):
    from lab.api import run_backtest

    bars = sample_catalog.load("BTCUSD_COINBASE", "1h")
    return run_backtest(bars, "sma_cross", {"fast": 10, "slow": 50},
                        ExecutionConfig(direction="both", sl=0.05, leverage=2.0),
                        asset_class="crypto", timeframe="1h", symbol="BTCUSD_COINBASE")


@pytest.fixture(scope="session")
def aapl_result(sample_catalog):
    from lab.api import default_commission, run_backtest

    bars = sample_catalog.load("AAPL", "1d")
    return run_backtest(bars, "rsi", None,
                        ExecutionConfig(commission=default_commission("equity")),
                        asset_class="equity", timeframe="1d", symbol="AAPL")


@pytest.fixture(scope="session")
def tiny_result():
    """Factory of a 5-bar result built by hand (no engine), for fast and odd cases."""
    def make(strategy: str = "tiny", metrics: dict | None = None) -> BacktestResult:
        idx = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC", name="ts_event")
        equity = pd.Series([1e4, 1.01e4, 0.99e4, 1.02e4, 1.03e4], index=idx, name="equity")
        return BacktestResult(
            equity=equity, position=pd.Series(0.0, index=idx, name="position"),
            trades=trades_frame(np.empty((0, 10)), idx),
            orders=pd.DataFrame(columns=ORDER_COLUMNS),
            metrics=metrics if metrics is not None else {"total_return": 0.03},
            config=ExecutionConfig(), engine="vectorized", strategy=strategy,
            params={"n": 3}, symbol="TINY", timeframe="1d", fingerprint="f00d")
    return make
