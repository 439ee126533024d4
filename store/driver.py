"""Hot statements straight through psycopg, prepared, on a SQLAlchemy transaction's connection.

SQLAlchemy's execution path cost ~70–100 µs of CPU per statement, more than some of the
statements themselves. A :class:`Prepared` statement is compiled once for the driver and sent
as a server-side prepared statement on the transaction's own connection, so it runs under the
same tenant pin (row-level security applies). PostgreSQL only.
"""

from __future__ import annotations

from typing import Any, cast

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement, Executable

_DIALECT = postgresql.psycopg.dialect()  # pyright: ignore[reportUnknownMemberType]


def execute(sql: Connection, statement: str, params: dict[str, Any], *, named: bool = False) -> Any:
    """Run ``statement`` (``%(name)s`` parameters) on the transaction's driver connection,
    prepared; its cursor (rows with attribute names when ``named``). The driver's errors are
    raised as SQLAlchemy's (``IntegrityError``, ``OperationalError``…), parameters hidden."""
    driver: Any = sql.connection.dbapi_connection
    try:
        cursor = driver.cursor(row_factory=namedtuple_row) if named else driver.cursor()
        return cursor.execute(statement, params, prepare=True)
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, params, exc, psycopg.Error, hide_parameters=True) from exc


class Prepared:
    """A Core statement compiled once for psycopg (no expanding parameters): its constants, and
    the columns' Python-side defaults (``created_at``…) computed at each call, as SQLAlchemy's
    own execution would."""

    def __init__(self, statement: ClauseElement | Executable) -> None:
        compiled: Any = cast(ClauseElement, statement).compile(dialect=_DIALECT)
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
