"""Session fixtures: a sample store built from the committed real samples."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


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
