"""Small SQL helpers that work the same on SQLite and PostgreSQL."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


@cache
def _insert_ignore(dialect: str, table: Table) -> Insert:
    """Built once per table: a statement built per call costs more CPU than running it."""
    module = postgresql if dialect == "postgresql" else sqlite
    key = next(iter(table.primary_key.columns))
    return module.insert(table).on_conflict_do_nothing().returning(key)


def insert_ignore(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless a unique key already has it; True when the row was inserted.

    A Core statement: objects added to the session and not flushed yet are not written first.
    """
    sql = session.connection()
    return sql.execute(_insert_ignore(sql.dialect.name, table), values).first() is not None


def rowcount(result: Any) -> int:
    """The number of rows a DML statement touched."""
    return int(result.rowcount)
