"""Hot statements straight through the driver (PostgreSQL), as prepared statements.

SQLAlchemy's execution path costs about 70–100 µs of CPU per statement, more than many of the
statements on the webhook's path take to run. The transaction stays SQLAlchemy's (the
statement runs on its connection, after the tenant pin); a driver error is raised as the
SQLAlchemy error it would have been (``IntegrityError``, ``OperationalError``…), so callers
that retry or answer 503 see what they expect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

from store.models import UTCDateTime

_UTC = UTCDateTime()
_DIALECT = postgresql.dialect()


def utc(value: datetime) -> datetime:
    """A timestamp as the ORM's columns write it (UTC; a naive datetime is refused)."""
    return _UTC.process_bind_param(value, _DIALECT) or value


def execute(connection: Connection, statement: str, params: Sequence[Any] | Mapping[str, Any]) -> Any:
    """Run ``statement`` (``%s`` or ``%(name)s`` placeholders) prepared on the connection's driver
    connection; the driver's cursor (parameters are kept out of any error, as the engines do)."""
    dbapi: Any = connection.connection.dbapi_connection
    try:
        return dbapi.execute(statement, params, prepare=True)
    except connection.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            statement,
            None,
            exc,
            connection.dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=connection.dialect,
        ) from exc
