"""Small SQL helpers that work the same on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def insert_ignore(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless a unique key already has it; True when the row was inserted."""
    statement: Insert
    if session.get_bind().dialect.name == "postgresql":
        statement = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    else:
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    key = next(iter(table.primary_key.columns))
    return session.execute(statement.returning(key)).first() is not None


def rowcount(result: Any) -> int:
    """The number of rows a DML statement touched."""
    return int(result.rowcount)
