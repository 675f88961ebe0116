"""The one data-folder rule (lab.core.paths) and the modules that follow it."""

from __future__ import annotations

from pathlib import Path

from lab.core.paths import data_path, data_root


def test_explicit_root_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "env"))
    assert data_root(tmp_path / "given") == (tmp_path / "given").resolve()


def test_lab_data_dir_then_dot_data_relative_to_the_cwd(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "env"))
    assert data_root() == (tmp_path / "env").resolve()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAB_DATA_DIR", "rel")
    assert data_root() == tmp_path.resolve() / "rel"
    for unset in (None, ""):
        if unset is None:
            monkeypatch.delenv("LAB_DATA_DIR")
        else:
            monkeypatch.setenv("LAB_DATA_DIR", unset)
        assert data_root() == tmp_path.resolve() / "data"
        assert data_root().is_absolute()


def test_every_store_uses_the_same_folder(tmp_path, monkeypatch):
    from lab.api import data_root as api_root
    from lab.data import Catalog
    from lab.jobs.store import jobs_dir
    from lab.research.sweep import sweeps_root
    from lab.research.walk_forward import walk_forward_root
    from lab.tracking.store import local_store_dir

    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    base = tmp_path.resolve()
    assert api_root() == base
    assert Catalog().root == base
    assert jobs_dir() == base / "jobs" == data_path("jobs")
    assert sweeps_root() == base / "sweeps"
    assert walk_forward_root() == base / "walkforward"
    assert local_store_dir() == base / "mlflow"
    assert Path(data_path("x", tmp_path / "other")) == (tmp_path / "other").resolve() / "x"
