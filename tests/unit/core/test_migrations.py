"""Schema versions and migrations of SQLite files (lab.core.migrations), on real files."""

from __future__ import annotations

import sqlite3

import pytest

from lab.core.migrations import SchemaError, migrate, schema_version, split_statements

V1 = """
CREATE TABLE IF NOT EXISTS fills (id TEXT PRIMARY KEY, qty REAL NOT NULL);
CREATE INDEX IF NOT EXISTS fills_qty ON fills (qty);
"""
V2 = "ALTER TABLE fills ADD COLUMN fee REAL NOT NULL DEFAULT 0;"


def _open(path):
    return sqlite3.connect(path, isolation_level=None)


def test_new_file_gets_every_migration_and_their_count_as_version(tmp_path):
    con = _open(tmp_path / "a.sqlite")
    assert migrate(con, [V1, V2]) == 0
    assert schema_version(con) == 2
    con.execute("INSERT INTO fills (id, qty) VALUES ('x', 1.5)")
    assert con.execute("SELECT id, qty, fee FROM fills").fetchall() == [("x", 1.5, 0.0)]


def test_later_migration_adds_a_column_and_keeps_the_rows(tmp_path):
    path = tmp_path / "a.sqlite"
    con = _open(path)
    migrate(con, [V1])
    con.execute("INSERT INTO fills (id, qty) VALUES ('x', 2.0)")
    con.close()
    con = _open(path)
    assert migrate(con, [V1, V2]) == 1
    assert schema_version(con) == 2
    assert con.execute("SELECT id, qty, fee FROM fills").fetchall() == [("x", 2.0, 0.0)]
    assert migrate(con, [V1, V2]) == 2          # nothing left to do


def test_unversioned_file_with_the_v1_table_is_stamped_without_loss(tmp_path):
    path = tmp_path / "old.sqlite"
    con = _open(path)
    con.executescript(V1)                       # a file from before versioning
    con.execute("INSERT INTO fills (id, qty) VALUES ('old', 3.0)")
    assert schema_version(con) == 0
    migrate(con, [V1])
    assert schema_version(con) == 1
    assert con.execute("SELECT id, qty FROM fills").fetchall() == [("old", 3.0)]


def test_failing_migration_leaves_the_file_unchanged(tmp_path):
    path = tmp_path / "a.sqlite"
    con = _open(path)
    migrate(con, [V1])
    con.execute("INSERT INTO fills (id, qty) VALUES ('x', 1.0)")
    broken = "ALTER TABLE fills ADD COLUMN note TEXT;\nALTER TABLE nope ADD COLUMN y REAL;"
    with pytest.raises(SchemaError, match=r"migration 2 of 2 failed.*nothing was changed"):
        migrate(con, [V1, broken])
    assert schema_version(con) == 1
    columns = [row[1] for row in con.execute("PRAGMA table_info(fills)")]
    assert columns == ["id", "qty"]             # the first statement was rolled back
    assert not con.in_transaction


def test_file_newer_than_the_code_is_refused(tmp_path):
    con = _open(tmp_path / "a.sqlite")
    migrate(con, [V1, V2])
    with pytest.raises(SchemaError, match=r"schema version 2, newer than this code \(1\)"):
        migrate(con, [V1], name="ledger")
    assert schema_version(con) == 2


def test_callable_migration_runs_inside_the_transaction(tmp_path):
    con = _open(tmp_path / "a.sqlite")

    def backfill(c):
        c.execute("INSERT INTO fills (id, qty) VALUES ('seed', 0.0)")
        assert c.in_transaction

    migrate(con, [V1, backfill])
    assert con.execute("SELECT id FROM fills").fetchall() == [("seed",)]


def test_split_statements_keeps_semicolons_inside_strings():
    script = "CREATE TABLE t (a TEXT DEFAULT 'x;y');\nINSERT INTO t VALUES ('1;2');\n"
    assert split_statements(script) == ["CREATE TABLE t (a TEXT DEFAULT 'x;y');",
                                        "INSERT INTO t VALUES ('1;2');"]
    with pytest.raises(SchemaError, match="end every statement with ';'"):
        split_statements("CREATE TABLE t (a TEXT)")
