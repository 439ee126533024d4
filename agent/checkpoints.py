"""Where conversations' graph state is checkpointed: SQLite by default, PostgreSQL in production.

Only redacted content reaches a checkpoint (the customer's raw text travels in the run's
context). Old checkpoints are pruned on a schedule, keeping the latest per thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

_SETUP_LOCK = 0x4644_4350  # "FDCP": an advisory lock key of our own


class CheckpointStore:
    """Opens a LangGraph checkpointer for a run, and prunes old checkpoints."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        parsed = make_url(url)
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        self._schema = schema
        if self.is_postgres:
            self._target = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            if schema:
                self._target += ("&" if "?" in self._target else "?") + f"options=-csearch_path%3D{schema}"
        else:
            database = parsed.database or ":memory:"
            if database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self._target = database
        self._ready = False

    def __repr__(self) -> str:
        return f"CheckpointStore(postgres={self.is_postgres})"

    @asynccontextmanager
    async def saver(self) -> AsyncGenerator[Any]:
        """A checkpointer for one run, set up on first use."""
        if self.is_postgres:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

            async with AsyncPostgresSaver.from_conn_string(self._target) as saver:
                await self._setup(saver)
                yield saver
        else:
            from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

            async with AsyncSqliteSaver.from_conn_string(self._target) as saver:
                await self._setup(saver)
                yield saver

    async def _setup(self, saver: Any) -> None:
        """Create the tables. Every run has its own event loop (one per worker thread), so no
        asyncio lock can serialize this: an ``asyncio.Lock`` shared by runs failed them with
        "bound to a different event loop" whenever two first runs met."""
        if not self.is_postgres:  # SQLite serializes writers; an in-memory database is new each time
            await saver.setup()
            return
        if self._ready:
            return
        # LangGraph's migrations are not safe to run concurrently (two workers starting together
        # collided on its migrations table): one at a time, across processes, on the saver's
        # own connection (autocommit, so the lock is the session's). Polled, not waited for:
        # a session waiting in pg_advisory_lock holds back the migrations' CREATE INDEX
        # CONCURRENTLY, and PostgreSQL reports a deadlock.
        while not await _try_lock(saver.conn):
            await asyncio.sleep(0.05)
        try:
            await saver.setup()
        finally:
            await saver.conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))
        self._ready = True

    async def prune(self) -> int:
        """Keep only the latest checkpoint of every thread; returns the threads pruned."""
        if self.is_postgres:
            async with self.saver() as saver:
                async with saver.conn.cursor() as cursor:
                    await cursor.execute("SELECT DISTINCT thread_id FROM checkpoints")
                    threads = [row["thread_id"] for row in await cursor.fetchall()]
                await saver.aprune(threads, strategy="keep_latest")
                return len(threads)
        async with self.saver():  # makes sure the tables exist
            pass
        return await asyncio.to_thread(_prune_sqlite, self._target)


async def _try_lock(conn: Any) -> bool:
    cursor = await conn.execute("SELECT pg_try_advisory_lock(%s) AS taken", (_SETUP_LOCK,))
    row = await cursor.fetchone()
    return bool(row["taken"])


def _prune_sqlite(path: str) -> int:
    latest = (
        "SELECT thread_id, checkpoint_ns, max(checkpoint_id) AS checkpoint_id "
        "FROM checkpoints GROUP BY thread_id, checkpoint_ns"
    )
    with sqlite3.connect(path) as connection:
        threads = connection.execute(f"SELECT count(*) FROM ({latest})").fetchone()[0]
        for table in ("checkpoints", "writes"):
            connection.execute(
                f"DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM ({latest}) AS l "
                f"WHERE l.thread_id = {table}.thread_id AND l.checkpoint_ns = {table}.checkpoint_ns "
                f"AND l.checkpoint_id = {table}.checkpoint_id)"
            )
    return int(threads)
