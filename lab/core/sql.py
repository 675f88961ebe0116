"""Quoting text into DuckDB SQL: for file paths and column names that a statement names
and cannot take as a bound parameter (views, ``read_parquet`` of a list)."""

from __future__ import annotations


def literal(text: str) -> str:
    """``text`` as an SQL string literal: in single quotes, single quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """``name`` as an SQL identifier: in double quotes, double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'
