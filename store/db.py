"""Engines and sessions. Every tenant session pins the tenant for row-level security.

On PostgreSQL the application logs in as a role that is neither superuser nor BYPASSRLS
(``frontdesk_app``, created by ``frontdesk migrate``); a connection that logs in as such a role
is refused. Each transaction of a tenant session sets a signed pin in ``app.tenant_id``
(:mod:`store.rls`), so a query that forgets the tenant still sees only that tenant, a query
outside a tenant session sees no tenant rows at all, and SQL run as the application cannot
name another tenant. Migrations and operator commands use the admin engine (the owner).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from errors import DatabaseError
from store.audit_anchor import AuditAnchor
from store.crypto import Keyring
from store.keystore import DataKeyring, KeyStore, default_store_url
from store.pooling import ping_when_idle
from store.rls import TENANT_SETTING, create_app_role, pin_value, register_pin_keys

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
KEYRING = "keyring"
"""``Session.info`` key: the database's keyring (audit entries are keyed under it)."""
AUDIT_HEADS = "audit_heads"
"""``Session.info`` key: chain heads appended in the transaction, anchored after its commit."""
AUDIT_GUESSES = "audit_guesses"
"""``Session.info`` key: the chain heads this process appended last, shared by the database's
sessions (a guess the append checks under the chain's lock: :func:`store.audit.append`)."""

log = logging.getLogger(__name__)


def private_sqlite_file(path: str | Path) -> None:
    """Create ``path`` (and a missing parent folder, 0700) readable by its owner only (0600).

    SQLite gives its journal and WAL files the database file's mode, so they stay private too;
    an existing file and its journals are narrowed to 0600.
    """
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for each in (path, *path.parent.glob(f"{path.name}-*")):
        with contextlib.suppress(OSError):  # a file of another owner stays as it is
            if each.stat().st_mode & 0o077:
                each.chmod(0o600)


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        private_sqlite_file(database)


_SET_TENANT = "SELECT set_config(%s, %s, true)"
_SET_TENANT_NO_FLUSH = "SELECT set_config(%s, %s, true), set_config('synchronous_commit', 'off', true)"


def _pin_tenant(session: Session, _tx: Any, connection: Any) -> None:
    """At each transaction's start, set the session's tenant for row-level security.

    Straight through the driver (PostgreSQL only), as a prepared statement: it runs once per
    transaction, and SQLAlchemy's execution path cost more CPU than the statement itself.
    """
    pin = session.info.get(TENANT_SETTING)
    if pin is not None:
        _pin(connection, pin)


def _pin(connection: Connection, pin: str, *, flush: bool = True) -> None:
    statement = _SET_TENANT if flush else _SET_TENANT_NO_FLUSH
    connection.connection.dbapi_connection.execute(statement, (TENANT_SETTING, pin), prepare=True)  # pyright: ignore[reportOptionalMemberAccess]


_LOGIN_ROLE = "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"


SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def check_url(url: str) -> URL:
    """The parsed URL of a supported database, else :class:`DatabaseError` (the URL is not echoed:
    it may hold a password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            "invalid database URL: expected sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise DatabaseError(
            f"unsupported database {backend!r}: use sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME"
        )
    return parsed


def _forget_heads(session: Session) -> None:
    session.info.pop(AUDIT_HEADS, None)


class Database:
    """The application's view of one database (SQLite file or PostgreSQL)."""

    def __init__(
        self,
        url: str,
        keyring: Keyring,
        *,
        admin_url: str | None = None,
        schema: str | None = None,
        pool_size: int = 10,
        max_overflow: int | None = None,
        keystore: KeyStore | None = None,
        audit_anchor: AuditAnchor | None = None,
    ) -> None:
        self.url = check_url(url)
        if admin_url is not None:
            check_url(admin_url)
        self.schema = schema
        self.audit_anchor = audit_anchor
        """Where audit chain heads are kept outside the database (None: not anchored)."""
        self.is_postgres = self.url.get_backend_name() == "postgresql"
        if isinstance(keyring, DataKeyring):
            self.keyring = keyring
        else:
            if keystore is None and self.is_postgres:  # tests and tools: a schema of its own
                keystore = KeyStore(admin_url or url, schema=f"{schema or 'frontdesk'}_keys")
            self.keyring = DataKeyring(keyring, keystore or KeyStore(default_store_url(url)))
        self.keys = self.keyring.store
        """The contacts' data keys (outside this database)."""
        overflow = pool_size if max_overflow is None else max_overflow
        self.engine = self._make_engine(url, app=True, pool_size=pool_size, max_overflow=overflow)
        self.admin_engine = self._make_engine(admin_url or url, app=False, pool_size=2, max_overflow=2)
        info = {KEYRING: keyring, AUDIT_GUESSES: {}}
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info=info)
        if self.is_postgres:
            event.listen(self._sessions, "after_begin", _pin_tenant)
        self._admin_sessions = sessionmaker(self.admin_engine, expire_on_commit=False, info=info)
        self._pins: dict[int, str] = {}
        self._pin_key: str | None = None
        for maker in (self._sessions, self._admin_sessions):
            event.listen(maker, "after_commit", self._anchor_heads)
            event.listen(maker, "after_rollback", _forget_heads)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    def _anchor_heads(self, session: Session) -> None:
        """After a commit, move the anchor to the chain heads the transaction appended."""
        heads: dict[int | None, tuple[int, str]] | None = session.info.pop(AUDIT_HEADS, None)
        if not heads or self.audit_anchor is None:
            return
        for chain, (seq, digest) in heads.items():
            try:
                self.audit_anchor.advance(chain, seq, digest)
            except Exception as exc:  # committed already: a lagging anchor is no false alarm
                log.warning("audit anchor not advanced: %s", type(exc).__name__)

    def _make_engine(self, url: str, *, app: bool, pool_size: int, max_overflow: int) -> Engine:
        kwargs: dict[str, Any] = {}
        if make_url(url).get_backend_name() == "sqlite":
            _prepare_sqlite_file(url)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            # Connections beyond pool_size are closed when returned: under a steady load above
            # it, each transaction would pay for a new connection (a PostgreSQL fork and login).
            kwargs.update(pool_size=pool_size, max_overflow=max_overflow, pool_use_lifo=True)
        # A failed statement's parameters (message bodies, ids) stay out of errors and logs.
        engine = create_engine(url, hide_parameters=True, **kwargs)
        event.listen(engine, "connect", self._on_connect_listener(app))
        if self.is_postgres:
            ping_when_idle(engine)
        return engine

    def _on_connect_listener(self, app: bool) -> Any:
        schema, is_postgres = self.schema, self.is_postgres

        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if is_postgres:
                if schema:
                    cursor.execute(f'SET search_path TO "{schema}"')
                if app:
                    cursor.execute(_LOGIN_ROLE)
                    role, superuser, bypass = cursor.fetchone()
                    if superuser or bypass:
                        dbapi_connection.close()
                        raise DatabaseError(
                            f"FRONTDESK_DATABASE_URL logs in as {role!r}, which "
                            f"{'is a superuser' if superuser else 'bypasses row-level security'}: "
                            "the application must log in as the role `frontdesk migrate` creates "
                            "(keep this URL as FRONTDESK_DATABASE_ADMIN_URL for migrations)"
                        )
                dbapi_connection.commit()
            else:
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.execute("PRAGMA secure_delete=ON")  # erased rows leave no bytes behind
            cursor.close()

        return on_connect

    def pin(self, tenant_id: int) -> str:
        """The signed ``app.tenant_id`` value of a tenant (computed once per process), under
        the newest master key the database knows (``frontdesk migrate`` and ``keys rotate``
        register new ones; until then this process keeps signing with an older one)."""
        pin = self._pins.get(tenant_id)
        if pin is None:
            pin = self._pins[tenant_id] = pin_value(self.keyring, tenant_id, self._pin_key_id())
        return pin

    def _pin_key_id(self) -> str:
        if self._pin_key is None:
            with self.engine.connect() as connection:
                known = set(connection.execute(text("SELECT frontdesk_pin_key_ids()")).scalars())
            usable = [k for k in self.keyring.key_ids if k in known]
            if not usable:
                raise DatabaseError(
                    "the database knows none of the configured master keys: run `frontdesk migrate`"
                )
            self._pin_key = usable[0]
        return self._pin_key

    @contextmanager
    def tenant_session(self, tenant_id: int) -> Generator[Session]:
        """A session that sees only ``tenant_id``; commits on a clean exit."""
        session = self._sessions(info={TENANT_SETTING: self.pin(tenant_id)} if self.is_postgres else {})
        with session, session.begin():
            yield session

    @contextmanager
    def tenant_connection(self, tenant_id: int, *, flush: bool = True) -> Generator[Connection]:
        """Like :meth:`tenant_session`, for Core statements only: no session to set up (the
        workers' hot transactions, where that cost more than some of the statements).

        ``flush=False`` (PostgreSQL): the commit does not wait for its WAL flush
        (``synchronous_commit`` off for this transaction; the pin and the setting go in one
        statement). Only for writes that a later synchronous commit of the same work depends
        on: any session's next synchronous commit flushes the WAL past this one, and a server
        crash before that loses asynchronous commits only (never a later synchronous one, and
        without corruption), so the work that depended on them fails and runs again.
        """
        with self.engine.begin() as connection:
            if self.is_postgres:
                _pin(connection, self.pin(tenant_id), flush=flush)
            yield connection

    @contextmanager
    def app_session(self) -> Generator[Session]:
        """An application session with no tenant: tenant rows are invisible on PostgreSQL."""
        session = self._sessions()
        with session, session.begin():
            yield session

    @contextmanager
    def admin_session(self) -> Generator[Session]:
        """A session on the admin engine, across tenants (migrations, operator commands)."""
        session = self._admin_sessions()
        with session, session.begin():
            yield session

    def check(self) -> None:
        """Raise :class:`DatabaseError` with a clear message when the database does not answer."""
        try:
            with self.admin_engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            where = self.url.render_as_string(hide_password=True)
            raise DatabaseError(f"cannot reach the database at {where}: {type(exc).__name__}") from None

    def check_app(self) -> None:
        """Connect once as the application: raises :class:`DatabaseError` when its login role
        could escape row-level security (a process refuses to start rather than run so)."""
        self.check()
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        self.admin_engine.dispose()
        self.keys.dispose()


def migrate(db: Database, revision: str = "head") -> list[str]:
    """Bring the schema to ``revision`` with Alembic, on the admin engine.

    Returns the revisions it applied, oldest first (empty: the schema was already there).
    """
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    db.check()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["keyring"] = db.keyring  # the audit chain is keyed under it; contacts' keys
    with db.admin_engine.connect() as connection:
        if not db.is_postgres:
            # SQLite rebuilds a table to drop a column: with foreign keys on, dropping the old
            # table would cascade to every row that references it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                config.attributes["schema"] = db.schema
                before = _current_revisions(connection, db.schema)
                command.upgrade(config, revision)
                after = _current_revisions(connection, db.schema)
                if db.is_postgres:
                    register_keys(connection, db.keyring)
        finally:
            if not db.is_postgres:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    if before == after:
        return []
    script = ScriptDirectory.from_config(config)
    applied = script.iterate_revisions(tuple(after), tuple(before) or "base")
    return [r.revision for r in reversed(list(applied))]


def register_keys(connection: Connection, keyring: Keyring) -> None:
    """Let the database check tenant pins made with every configured master key (after a
    migration and a key rotation: a key the database does not know pins no tenant)."""
    for statement in create_app_role():
        connection.execute(text(statement))
    for statement, params in register_pin_keys(keyring):
        connection.execute(text(statement), params)


def _current_revisions(connection: Connection, schema: str | None) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    if schema and connection.dialect.name == "postgresql":
        connection.execute(text(f'SET search_path TO "{schema}"'))
    return set(MigrationContext.configure(connection).get_current_heads())
