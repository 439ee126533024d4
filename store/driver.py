"""Hot statements straight through the driver (PostgreSQL), as prepared statements.

SQLAlchemy's execution path costs about 70–100 µs of CPU per statement, more than many of the
statements on the webhook's path take to run. The transaction stays SQLAlchemy's (the
statement runs on its connection, after the tenant pin); a driver error is raised as the
SQLAlchemy error it would have been (``IntegrityError``, ``OperationalError``…), so callers
that retry or answer 503 see what they expect. :class:`Hot` runs a Core statement compiled once
for the driver on PostgreSQL, and through SQLAlchemy elsewhere (SQLite).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from psycopg.rows import namedtuple_row
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement, Executable

from store.models import UTCDateTime

_UTC = UTCDateTime()
_DIALECT = postgresql.dialect()
_PSYCOPG = postgresql.psycopg.dialect()  # pyright: ignore[reportUnknownMemberType]


def utc(value: datetime) -> datetime:
    """A timestamp as the ORM's columns write it (UTC; a naive datetime is refused)."""
    return _UTC.process_bind_param(value, _DIALECT) or value


def execute(
    connection: Connection,
    statement: str,
    params: Sequence[Any] | Mapping[str, Any],
    *,
    named: bool = False,
) -> Any:
    """Run ``statement`` (``%s`` or ``%(name)s`` placeholders) prepared on the connection's driver
    connection; the driver's cursor, its rows with attribute names when ``named`` (parameters are
    kept out of any error, as the engines do)."""
    dbapi: Any = connection.connection.dbapi_connection
    try:
        cursor = dbapi.cursor(row_factory=namedtuple_row) if named else dbapi.cursor()
        return cursor.execute(statement, params, prepare=True)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            statement,
            None,
            exc,
            connection.dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=connection.dialect,
        ) from exc


class Prepared:
    """A Core statement compiled once for psycopg (no expanding parameters): its constants, and
    the columns' Python-side defaults (``created_at``…) computed at each call, as SQLAlchemy's
    own execution would."""

    def __init__(self, statement: ClauseElement | Executable) -> None:
        compiled: Any = cast(ClauseElement, statement).compile(dialect=_PSYCOPG)
        self.text: str = compiled.string
        self.constants = {k: v for k, v in compiled.params.items() if v is not None}
        prefetch = [*compiled.insert_prefetch, *compiled.update_prefetch]
        self.defaults = {
            column.key: column.default if column.default is not None else column.onupdate
            for column in prefetch
        }

    def __call__(self, sql: Connection, params: dict[str, Any], *, named: bool = False) -> Any:
        values = {**self.constants, **params}
        for name, default in self.defaults.items():
            if name not in values:
                values[name] = default.arg(None) if default.is_callable else default.arg
        return execute(sql, self.text, values, named=named)


class Hot:
    """A statement sent through the driver on PostgreSQL (:class:`Prepared`), through
    SQLAlchemy elsewhere (SQLite); ``postgres``: the PostgreSQL form, when it differs."""

    def __init__(self, statement: Executable, postgres: Executable | None = None) -> None:
        self.statement = statement
        self.prepared = Prepared(statement if postgres is None else postgres)

    def rows(self, sql: Connection, params: dict[str, Any]) -> list[Any]:
        """Every row it answers (attribute and index access alike)."""
        if sql.dialect.name == "postgresql":
            return self.prepared(sql, params, named=True).fetchall()
        return list(sql.execute(self.statement, params).all())
