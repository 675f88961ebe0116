"""Fixtures for the data tests: temporary catalogs and the bundled sample bars."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lab.data import Catalog, build_sample_store, read_bars_file
from lab.data.samples import SAMPLES_DIR

_CACHE: dict[str, pd.DataFrame] = {}


def sample_bars(name: str) -> pd.DataFrame:
    """Bars of a bundled sample file, e.g. ``"BTCUSD_COINBASE_1h"`` (a fresh copy)."""
    if name not in _CACHE:
        _CACHE[name], _ = read_bars_file(SAMPLES_DIR / f"{name}.parquet")
    return _CACHE[name].copy()


def write_csv(bars: pd.DataFrame, path: Path) -> Path:
    """Write canonical bars as a plain CSV (``ts_event`` ISO strings with offset)."""
    bars.reset_index().to_csv(path, index=False)
    return path


def store_listing(catalog: Catalog) -> list[tuple[str, int, int]]:
    """Every path under the store, with size and mtime for files, to prove nothing changed."""
    if not catalog.store.exists():
        return []
    return sorted((str(p.relative_to(catalog.store)),
                   p.stat().st_size if p.is_file() else -1,
                   p.stat().st_mtime_ns if p.is_file() else -1)
                  for p in catalog.store.rglob("*"))


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """An empty catalog in a temporary folder."""
    return Catalog(tmp_path / "data")


@pytest.fixture(scope="session")
def sample_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """A catalog holding every bundled sample (built once per test process; read only)."""
    cat = Catalog(tmp_path_factory.mktemp("samples") / "data")
    build_sample_store(cat)
    return cat
