"""Files that can hold credentials or trading state are readable by the user alone:
the helpers themselves, and the job table, the local MLflow store, Optuna's default
SQLite storage and journal files created through them (whatever the umask)."""

from __future__ import annotations

import os
import stat

import pytest

from lab.core.private import private_dir, private_file, sqlite_private, write_private


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def open_umask():
    old = os.umask(0o022)              # a usual umask: files 0644, folders 0755
    yield
    os.umask(old)


def test_private_file_and_dir_are_owner_only_even_when_they_existed(tmp_path):
    d = private_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == 0o700 and mode(d) == 0o700
    f = private_file(tmp_path / "new" / "x.db")
    assert mode(f) == 0o600 and mode(tmp_path / "new") == 0o700 and f.read_bytes() == b""
    old = tmp_path / "old.txt"
    old.write_text("kept")
    os.chmod(old, 0o644)
    assert mode(private_file(old)) == 0o600 and old.read_text() == "kept"
    (tmp_path / "s.db-wal").write_text("")
    os.chmod(tmp_path / "s.db-wal", 0o644)
    sqlite_private(tmp_path / "s.db")
    assert mode(tmp_path / "s.db") == mode(tmp_path / "s.db-wal") == 0o600
    w = write_private(tmp_path / "w" / "secret.json", "{}")
    assert mode(w) == 0o600 and w.read_text() == "{}"


def test_job_table_and_runner_log_are_owner_only(tmp_path):
    from lab.jobs import store

    store.connect(tmp_path).close()
    db = store.db_path(tmp_path)
    assert mode(db.parent) == 0o700
    for f in db.parent.iterdir():           # jobs.sqlite and its -wal / -shm
        assert mode(f) == 0o600, f


def test_local_mlflow_store_is_owner_only(tmp_path):
    from lab.tracking import store

    store.client(store.tracking_uri(tmp_path))
    folder = tmp_path.resolve() / "mlflow"
    assert mode(folder) == 0o700 and mode(folder / "artifacts") == 0o700
    assert mode(folder / "mlflow.db") == 0o600


def test_optuna_default_sqlite_and_journal_files_are_owner_only(tmp_path, monkeypatch):
    from lab.research.optimize.store import default_storage, open_storage

    monkeypatch.delenv("LAB_OPTUNA_STORAGE", raising=False)
    url = default_storage(tmp_path)
    open_storage(url).engine.dispose()
    db = tmp_path.resolve() / "optuna" / "optuna.db"
    assert url.endswith(str(db)) and mode(db) == 0o600 and mode(db.parent) == 0o700
    other = tmp_path / "elsewhere" / "study.db"
    open_storage(f"sqlite:///{other}").engine.dispose()
    assert mode(other) == 0o600
    journal = tmp_path / "j" / "study.jsonl"
    open_storage(str(journal))
    assert mode(journal) == 0o600
