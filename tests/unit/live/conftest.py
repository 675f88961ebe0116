"""Fixtures of the live tests: a fresh data folder per test whose store is the shared
sample store (so each test has its own ledgers and paper venue)."""

from __future__ import annotations

import pytest


@pytest.fixture
def live_root(tmp_path, sample_root):
    """A data folder with the bundled samples' store and no bots."""
    (tmp_path / "store").symlink_to(sample_root / "store", target_is_directory=True)
    return tmp_path
