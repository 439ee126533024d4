"""Writing a new row at once, without the session's unit of work."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session, make_transient_to_detached

from store.models import Base


def insert_now(session: Session, row: Base) -> None:
    """INSERT ``row`` with one Core statement; it stays in the session as if it had been flushed.

    Column defaults are filled in on the object first, so every attribute is loaded (none is
    read back). A flush of one new object costs about twice as much CPU: the webhook creates
    a contact and a conversation for every new customer.
    """
    table = cast(Table, row.__table__)
    values: dict[str, Any] = {}
    for column in table.columns:
        value = getattr(row, column.key)
        default: Any = column.default
        if value is None and (default is not None or column.server_default is not None):
            if default is None or not (default.is_scalar or default.is_callable):
                raise ValueError(
                    f"{table.name}.{column.key}: the database computes its default; flush instead"
                )
            value = default.arg(None) if default.is_callable else default.arg
        setattr(row, column.key, value)
        values[column.key] = value
    session.connection().execute(insert(table), values)
    make_transient_to_detached(row)
    session.add(row)
