"""Where conversations' graph state is checkpointed: SQLite by default, PostgreSQL in production.

Only redacted content reaches a checkpoint (the customer's raw text travels in the run's
context). Old checkpoints are pruned on a schedule, keeping the latest per thread.

On PostgreSQL the process shares one small connection pool, borrowed per checkpoint read or
write. A run used to open a connection of its own and hold it for the whole turn, model call
included: 200 turns in flight per worker meant 200 connections, past PostgreSQL's limit.

The application reaches the checkpoint tables as its own login role, under row-level security
keyed by the tenant a thread id names (``store.rls.secure_checkpoints``): every borrowed
connection is pinned to the run's tenant, so a run of one tenant never reads another's
threads. ``frontdesk migrate`` sets the tables up as the owner (:func:`prepare_postgres`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import make_url

from agent.stages import stage
from store.rls import TENANT_SETTING, definer, secure_checkpoints

_SETUP_LOCK = 0x4644_4350  # "FDCP": an advisory lock key of our own
POOL_SIZE = 10
"""PostgreSQL connections per process for checkpoints (each is held for one read or write)."""


class CheckpointStore:
    """Opens a LangGraph checkpointer for a run, and prunes old checkpoints."""

    def __init__(
        self, url: str, *, schema: str | None = None, pin: Callable[[int], str] | None = None
    ) -> None:
        """``pin`` gives a tenant's signed row-level-security pin (``Database.pin``): with it,
        every PostgreSQL read and write runs pinned to the run's tenant."""
        parsed = make_url(url)
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        self._schema = schema
        self._pin = pin
        if self.is_postgres:
            self._target = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            if schema:
                self._target += ("&" if "?" in self._target else "?") + f"options=-csearch_path%3D{schema}"
        else:
            database = parsed.database or ":memory:"
            if database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self._target = database
        self._postgres: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CheckpointStore(postgres={self.is_postgres})"

    @asynccontextmanager
    async def saver(self, tenant_id: int | None = None) -> AsyncGenerator[Any]:
        """A checkpointer for one run of ``tenant_id``, set up on first use."""
        if self.is_postgres:
            pin = self._pin(tenant_id) if self._pin is not None and tenant_id is not None else None
            yield _InRunThread(self._postgres_saver(), pin)
            return
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(self._target) as saver:
            await saver.setup()  # SQLite serializes writers; an in-memory database is new each time
            yield saver

    def _postgres_saver(self) -> Any:
        """The process's saver over its pool, the tables made on first use.

        Runs have event loops of their own (one per worker thread), so a thread lock guards
        this, not an asyncio one (which failed runs with "bound to a different event loop").
        """
        if self._postgres is not None:  # every run after the first: no lock to take
            return self._postgres
        with self._lock:
            if self._postgres is None:
                from langgraph.checkpoint.postgres import PostgresSaver
                from psycopg.rows import dict_row
                from psycopg_pool import ConnectionPool

                options = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
                pool = ConnectionPool(self._target, min_size=1, max_size=POOL_SIZE, kwargs=options, open=True)
                with pool.connection() as connection:
                    if not _is_set_up(connection):
                        _setup_alone(PostgresSaver(connection))  # pyright: ignore[reportArgumentType]
                self._postgres = PostgresSaver(pool)  # pyright: ignore[reportArgumentType]
            return self._postgres

    def close(self) -> None:
        """Close the PostgreSQL pool (if one was opened)."""
        with self._lock:
            if self._postgres is not None:
                self._postgres.conn.close()
                self._postgres = None

    async def prune(self) -> int:
        """Keep only the latest checkpoint of every thread; returns the threads pruned."""
        if self.is_postgres:
            return await asyncio.to_thread(self._prune_postgres)
        async with self.saver():  # makes sure the tables exist
            pass
        return await asyncio.to_thread(_prune_sqlite, self._target)

    async def delete_threads(self, thread_ids: list[str]) -> int:
        """Delete every checkpoint of these threads (an erasure, or retention); returns how many
        of them had checkpoints."""
        if not thread_ids:
            return 0
        present = set(await self.threads()) & set(thread_ids)
        if self.is_postgres:
            saver = self._postgres_saver()

            def delete(thread: str) -> None:
                tenant = thread.partition(":")[0]
                pin = self._pin(int(tenant)) if self._pin is not None and tenant.isdigit() else None
                with _pinned(saver, pin) as pinned:
                    pinned.delete_thread(thread)

            for thread in present:
                await asyncio.to_thread(delete, thread)
        else:
            await asyncio.to_thread(_delete_sqlite, self._target, sorted(present))
        return len(present)

    async def threads(self) -> list[str]:
        """Every thread with a checkpoint."""
        if self.is_postgres:
            saver = self._postgres_saver()

            def read() -> list[str]:
                with saver.conn.connection() as connection:
                    rows = connection.execute(self._threads_query()).fetchall()
                return [str(row["thread_id"]) for row in rows]

            return await asyncio.to_thread(read)
        async with self.saver():  # makes sure the tables exist
            pass

        def read_sqlite() -> list[str]:
            with sqlite3.connect(self._target) as connection:
                rows = connection.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
            return [str(row[0]) for row in rows]

        return await asyncio.to_thread(read_sqlite)

    def _threads_query(self) -> str:
        if self._pin is not None:  # the application sees no thread without a tenant
            return "SELECT thread_id FROM frontdesk_checkpoint_threads()"
        return "SELECT DISTINCT thread_id FROM checkpoints"

    def _prune_postgres(self) -> int:
        saver = self._postgres_saver()
        with saver.conn.connection() as connection:
            rows = connection.execute(self._threads_query()).fetchall()
        threads = [row["thread_id"] for row in rows]
        if self._pin is None:
            saver.prune(threads, strategy="keep_latest")
            return len(threads)
        by_tenant: dict[int, list[str]] = {}
        for thread in threads:
            tenant = thread.partition(":")[0]
            if tenant.isdigit():
                by_tenant.setdefault(int(tenant), []).append(thread)
        for tenant, own in by_tenant.items():
            with _pinned(saver, self._pin(tenant), session=True) as pinned:
                pinned.prune(own, strategy="keep_latest")
        return len(threads)


def prepare_postgres(admin_url: str, schema: str | None = None) -> None:
    """As the owner: create or upgrade LangGraph's checkpoint tables and keep each tenant's
    rows to itself (``frontdesk migrate`` runs this)."""
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    target: str = CheckpointStore(admin_url, schema=schema)._target  # pyright: ignore[reportPrivateUsage]
    connection: Any = psycopg.connect(target, autocommit=True, row_factory=dict_row)  # pyright: ignore[reportArgumentType]
    with connection:
        _setup_alone(PostgresSaver(connection))
        for statement in [*secure_checkpoints(), *_THREADS_FUNCTION]:
            connection.execute(statement)


_THREADS_FUNCTION = (
    definer(
        "frontdesk_checkpoint_threads",
        "TABLE(thread_id text)",
        "sql",
        " SELECT DISTINCT thread_id FROM checkpoints ",
    ),
    "REVOKE ALL ON FUNCTION frontdesk_checkpoint_threads() FROM PUBLIC",
    "GRANT EXECUTE ON FUNCTION frontdesk_checkpoint_threads() TO frontdesk_app",
)
"""Pruning runs in the workers, across tenants: it may list thread ids, nothing else."""

_SET_PIN = f"SELECT set_config('{TENANT_SETTING}', %s, true)"
"""The tenant pin, local to the operation's transaction (gone at its end: nothing to reset)."""
_SET_SESSION_PIN = f"SELECT set_config('{TENANT_SETTING}', %s, false)"


def _is_set_up(connection: Any) -> bool:
    """Whether LangGraph's checkpoint migrations have all run (the application may not run them)."""
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg import errors

    try:
        row = connection.execute("SELECT max(v) AS v FROM checkpoint_migrations").fetchone()
    except errors.UndefinedTable:
        return False
    return row is not None and row["v"] is not None and row["v"] >= len(PostgresSaver.MIGRATIONS) - 1


@contextmanager
def _pinned(saver: Any, pin: str | None, *, session: bool = False) -> Generator[Any]:
    """A saver on one pooled connection pinned to a tenant (the shared saver without a pin).

    The operation runs in one transaction with the pin local to it, pipelined: the pin and
    a read go in one round trip, the commit in a second, and a checkpoint's rows (blobs and
    checkpoint) are written together with one commit instead of one each. ``session``: the
    pin holds for the connection's session until reset (pruning runs transactions of its own).
    """
    if pin is None:
        yield saver
        return
    from langgraph.checkpoint.postgres import PostgresSaver

    if session:
        with saver.conn.connection() as connection:
            connection.execute(_SET_SESSION_PIN, (pin,))
            try:
                yield PostgresSaver(connection, serde=saver.serde)
            finally:  # back to the pool pinned to no tenant
                connection.execute(_SET_SESSION_PIN, ("",))
        return
    with saver.conn.connection() as connection, connection.pipeline(), connection.transaction():
        connection.execute(_SET_PIN, (pin,))
        yield PostgresSaver(connection, serde=saver.serde)


def _setup_alone(saver: Any) -> None:
    """LangGraph's migrations are not safe to run concurrently (two workers starting together
    collided on its migrations table): one at a time, across processes, under an advisory lock
    on the connection (autocommit, so the lock is the session's). Polled, not waited for: a
    session waiting in pg_advisory_lock holds back the migrations' CREATE INDEX CONCURRENTLY,
    and PostgreSQL reports a deadlock."""
    connection = saver.conn
    while not connection.execute("SELECT pg_try_advisory_lock(%s) AS taken", (_SETUP_LOCK,)).fetchone()[
        "taken"
    ]:
        time.sleep(0.05)
    try:
        saver.setup()
    finally:
        connection.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK,))


class _InRunThread(BaseCheckpointSaver[Any]):
    """LangGraph's async checkpointer interface over the pooled sync PostgreSQL saver.

    Each run has its worker thread and event loop to itself, so a short blocking read or
    write holds up no other run.
    """

    def __init__(self, inner: Any, pin: str | None = None) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner
        self._pin = pin
        self._reuse = False
        self._kept: tuple[tuple[str, str], Any] | None = None

    def get_next_version(self, current: Any, channel: Any) -> Any:
        return self.inner.get_next_version(current, channel)

    def reuse_next_read(self) -> None:
        """Keep the next read of the thread's latest checkpoint for the read after it.

        A turn looks at its thread (is it paused for a human?), then the run reads the same
        checkpoint again: the second read gets the first one's tuple. Kept once, and not
        when the checkpoint has pending writes (LangGraph's look applies those to it); any
        write drops it. One run per conversation at a time, so nothing else writes between.
        """
        self._reuse = True

    async def aget_tuple(self, config: Any) -> Any:
        key = _latest_of(config)
        kept, self._kept = self._kept, None
        if kept is not None and kept[0] == key:
            return kept[1]
        with stage("checkpoint read"), _pinned(self.inner, self._pin) as saver:
            found = saver.get_tuple(config)
        if self._reuse and key is not None and not (found is not None and found.pending_writes):
            self._kept = (key, found)
        self._reuse = False
        return found

    async def alist(
        self,
        config: Any,
        *,
        filter: dict[str, Any] | None = None,
        before: Any = None,
        limit: int | None = None,
    ) -> AsyncIterator[Any]:
        with _pinned(self.inner, self._pin) as saver:
            items = list(saver.list(config, filter=filter, before=before, limit=limit))
        for item in items:
            yield item

    async def aput(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        self._kept = None
        with stage("checkpoint write"), _pinned(self.inner, self._pin) as saver:
            return saver.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        self._kept = None
        with stage("checkpoint write"), _pinned(self.inner, self._pin) as saver:
            saver.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self._kept = None
        with _pinned(self.inner, self._pin) as saver:
            saver.delete_thread(thread_id)


def _latest_of(config: Any) -> tuple[str, str] | None:
    """(thread, namespace) of a read of a thread's latest checkpoint; None for a named one."""
    configurable = config.get("configurable", {})
    if configurable.get("checkpoint_id") or "thread_id" not in configurable:
        return None
    return str(configurable["thread_id"]), str(configurable.get("checkpoint_ns", ""))


def reuse_next_read(saver: Any) -> None:
    """Let ``saver`` serve the next two reads of a thread's latest checkpoint with one
    (the PostgreSQL saver; others read twice)."""
    reuse = getattr(saver, "reuse_next_read", None)
    if reuse is not None:
        reuse()


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


def _delete_sqlite(path: str, thread_ids: list[str]) -> None:
    if not thread_ids:
        return
    marks = ",".join("?" for _ in thread_ids)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA secure_delete=ON")
        for table in ("checkpoints", "writes"):
            connection.execute(f"DELETE FROM {table} WHERE thread_id IN ({marks})", thread_ids)
