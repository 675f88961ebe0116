"""Session fixtures: the committed real samples as frames, and a store built from them.

``LAB_SAMPLES_DIR`` overrides the samples folder (to run against other real data).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"

SAMPLES = Path(os.environ.get("LAB_SAMPLES_DIR", ROOT / "data" / "samples"))
OHLCV = ["open", "high", "low", "close", "volume"]


def _pick(*choices: tuple[tuple[str, ...], ...]) -> Path:
    """First sample matching the first choice that matches anything.

    A choice is a tuple of word groups; a file matches when its lower-case name
    contains one word of every group.
    """
    files = sorted(SAMPLES.glob("*.parquet"))
    for groups in choices:
        for f in files:
            name = f.name.lower()
            if all(any(w in name for w in group) for group in groups):
                return f
    pytest.fail(f"no sample matching {choices} in {SAMPLES} (found "
                f"{[f.name for f in files]}); commit one to data/samples or set "
                "LAB_SAMPLES_DIR")


def load_sample(path: Path) -> pd.DataFrame:
    """OHLCV float64 frame indexed by ``ts_event``, oldest first."""
    df = pd.read_parquet(path)
    if "ts_event" in df.columns:
        df = df.set_index("ts_event")
    return df.sort_index()[OHLCV].astype("float64")


def spx_daily_path() -> Path:
    return _pick((("sp500", "spx", "gspc"), ("1d",)))


def btc_hourly_path() -> Path:
    return _pick((("coinbase",), ("btc",), ("1h",)), (("btcusd",), ("1h",)))


@pytest.fixture(scope="session")
def spx_daily() -> pd.DataFrame:
    return load_sample(spx_daily_path())


@pytest.fixture(scope="session")
def btc_hourly() -> pd.DataFrame:
    return load_sample(btc_hourly_path())


@pytest.fixture(scope="session", params=["spx_daily", "btc_hourly"])
def real_bars(request) -> pd.DataFrame:
    """Each real sample in turn."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory) -> Path:
    """A data folder whose store holds every bundled sample (built once per worker)."""
    from lab.data import Catalog, build_sample_store

    root = tmp_path_factory.mktemp("lab-data")
    build_sample_store(Catalog(root))
    return root


@pytest.fixture(scope="session")
def sample_catalog(sample_root):
    """``Catalog`` over ``sample_root``."""
    from lab.data import Catalog

    return Catalog(sample_root)


@pytest.fixture
def artifacts_dir() -> Path:
    """Folder kept after the run for screenshots and reports (``test-artifacts/``)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def lab_env(sample_root, monkeypatch):
    """Point the app and the CLI at the sample store."""
    monkeypatch.setenv("LAB_DATA_DIR", str(sample_root))
    return sample_root


def pytest_configure(config):
    os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server (``tests.postgres.PostgresServer``) for this worker.

    Skipped where PostgreSQL's server is not installed, except under CI (``$CI`` set),
    where ``.ci/run`` installs it and its absence is a failure."""
    from tests.postgres import PostgresServer, pg_bin

    bin_dir = pg_bin()
    if bin_dir is None:
        msg = "PostgreSQL server not installed (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"{msg}; .ci/run should have installed it")
        pytest.skip(msg)
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()


#: The planted password of ``mlflow_auth`` (scanned for by the secrets tests).
MLFLOW_PASSWORD = "Pl4nted-mlflow-S3cret"


@pytest.fixture(scope="session")
def mlflow_auth():
    """A real ``mlflow server`` on 127.0.0.1 behind HTTP basic auth (user ``alice``,
    password ``MLFLOW_PASSWORD``; ``tests.mlflow_server``), one per worker."""
    from tests.mlflow_server import AuthMlflowServer

    server = AuthMlflowServer("alice", MLFLOW_PASSWORD).start()
    try:
        yield server
    finally:
        server.stop()
