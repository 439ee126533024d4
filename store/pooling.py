"""Pooled connections are pinged on checkout only after they sat idle (app database and key store)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

PING_AFTER_IDLE = 5.0
"""Seconds a pooled connection may sit idle before its next checkout pings it first."""


def ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout only when it sat idle for a while.

    A ping on every checkout costs a round trip per transaction; a connection used a moment
    ago is alive, and one that idled (a database restart, a dropped socket) is checked.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:  # pyright: ignore[reportUnusedFunction]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:  # pyright: ignore[reportUnusedFunction]
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"stale pooled connection: {type(exc).__name__}") from None


def ping(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SELECT 1")
    cursor.close()
    dbapi_connection.rollback()
