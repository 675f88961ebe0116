"""Schema versions of the project's SQLite files, and their migrations.

Each SQLite file the project owns (the job table, a bot's ledger) declares its schema as
an ordered list of migrations. Migration ``k`` (1-based) takes the file from version
``k - 1`` to ``k``; the version is SQLite's own ``PRAGMA user_version`` (an integer in
the file header, 0 in a new file; https://sqlite.org/pragma.html#pragma_user_version).

``migrate`` applies the missing migrations and the new version number in one
``BEGIN IMMEDIATE`` transaction: a crash or a failing statement leaves the file exactly
as it was (SQLite DDL is transactional), and two processes opening the same file at
once cannot both migrate it. A file written by a newer version of the code (its version
above the number of migrations known here) is refused rather than guessed at.

Migrations are append-only: never edit or reorder a migration that has shipped; add a
new one (``ALTER TABLE ... ADD COLUMN ...``) at the end of the list.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Sequence, Union

from lab.core.errors import LabError

#: A migration: an SQL script (one or more statements) or a function of the connection.
Migration = Union[str, Callable[[sqlite3.Connection], None]]


class SchemaError(LabError):
    """An SQLite file's schema cannot be brought to the version this code expects."""


def schema_version(con: sqlite3.Connection) -> int:
    """The file's schema version (``PRAGMA user_version``; 0 for a new file)."""
    return int(con.execute("PRAGMA user_version").fetchone()[0])


def split_statements(script: str) -> list[str]:
    """The complete SQL statements of ``script``, in order (``sqlite3.complete_statement``
    decides where one ends), so that they can run inside one transaction
    (``executescript`` would commit first).

    Raises
    ------
    SchemaError
        When text after the last complete statement is not a complete statement.
    """
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip().rstrip(";").strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        raise SchemaError(f"incomplete SQL statement at the end of a migration: "
                          f"{current.strip()[:80]!r}; end every statement with ';'")
    return statements


def migrate(con: sqlite3.Connection, migrations: Sequence[Migration], *,
            name: str = "database") -> int:
    """Bring the file behind ``con`` to version ``len(migrations)``.

    Parameters
    ----------
    con : sqlite3.Connection
        Open connection in autocommit mode (``isolation_level=None``) and outside any
        transaction.
    migrations : sequence of str or callable
        Migration ``k`` (1-based) takes the schema from version ``k - 1`` to ``k``: an
        SQL script, or ``fn(con)`` that runs its statements with ``con.execute``.
    name : str
        What the file is, for error messages (e.g. ``"job table <path>"``).

    Returns
    -------
    int
        The version before the call (equal to ``len(migrations)`` when nothing ran).

    Raises
    ------
    SchemaError
        The file is newer than this code (update the code, or point at another data
        folder), or a migration failed (the file is left unchanged; the message names the
        migration and SQLite's error).
    """
    target = len(migrations)
    found = schema_version(con)
    if found == target:
        return found
    if con.in_transaction:
        raise SchemaError(f"{name}: migrate() needs a connection outside a transaction")
    con.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(con)          # another process may have migrated meanwhile
        if found > target:
            raise SchemaError(f"{name} has schema version {found}, newer than this code "
                              f"({target}); update the code (git pull) or use another data "
                              "folder")
        for number in range(found + 1, target + 1):
            step = migrations[number - 1]
            try:
                if callable(step):
                    step(con)
                else:
                    for statement in split_statements(step):
                        con.execute(statement)
            except sqlite3.Error as exc:
                raise SchemaError(f"{name}: migration {number} of {target} failed ({exc}); "
                                  "nothing was changed") from exc
        con.execute(f"PRAGMA user_version = {int(target)}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return found


__all__ = ["Migration", "SchemaError", "migrate", "schema_version", "split_statements"]
