"""Storage URLs with a password: kept redacted (password saved 0600) or as $NAME, and
resolved back only where the storage is opened; passwords redacted from free text."""

from __future__ import annotations

import json
import os
import stat

import pytest

from lab.core import credentials
from lab.core.errors import ConfigError
from lab.core.urls import has_password, redact_text, split_credentials

URL = "postgresql://me:s3cr%40t@db.example:5432/optuna"


def test_a_url_with_a_password_is_kept_redacted_and_saved_owner_only(tmp_path):
    kept = credentials.keep(URL, tmp_path)
    assert kept == "postgresql://me:***@db.example:5432/optuna"
    path = credentials.secrets_path(tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert json.loads(path.read_text()) == {kept: URL}
    assert credentials.resolve(kept, tmp_path) == URL
    assert credentials.keep(kept, tmp_path) == kept          # already kept: unchanged


def test_urls_without_password_and_env_references_are_kept_as_typed(tmp_path, monkeypatch):
    assert credentials.keep("sqlite:///x.db", tmp_path) == "sqlite:///x.db"
    assert credentials.keep("$LAB_OPTUNA_STORAGE", tmp_path) == "$LAB_OPTUNA_STORAGE"
    assert not credentials.secrets_path(tmp_path).exists()
    monkeypatch.setenv("LAB_OPTUNA_STORAGE", URL)
    assert credentials.resolve("$LAB_OPTUNA_STORAGE", tmp_path) == URL
    assert credentials.resolve("${LAB_OPTUNA_STORAGE}", tmp_path) == URL
    # the redacted form of the environment's URL resolves without any file
    assert credentials.resolve("postgresql://me:***@db.example:5432/optuna", tmp_path) == URL


def test_unresolvable_forms_are_refused_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("NOPE_STORAGE", raising=False)
    with pytest.raises(ConfigError, match="NOPE_STORAGE is not set"):
        credentials.resolve("$NOPE_STORAGE", tmp_path)
    with pytest.raises(ConfigError, match="password is not saved"):
        credentials.resolve("postgresql://me:***@other/db", tmp_path)


def test_passwords_are_redacted_in_free_text_and_split_from_urls():
    text = "OperationalError: could not connect to postgresql://me:hunter2@h/db (x)"
    assert redact_text(text) == ("OperationalError: could not connect to "
                                 "postgresql://me:***@h/db (x)")
    assert has_password(URL) and not has_password("postgresql://me:***@h/db")
    assert split_credentials("http://alice:p%40ss@127.0.0.1:5000/x") == (
        "http://127.0.0.1:5000/x", "alice", "p@ss")
    assert split_credentials("http://127.0.0.1:5000") == ("http://127.0.0.1:5000", None, None)
