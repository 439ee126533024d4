"""Shared test fixtures: network guard and the real PostgreSQL / Redis services."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
POSTGRES_APP_URL = os.environ.get("FRONTDESK_TEST_POSTGRES_APP_URL")
"""The application's login role on the test server (default: ``frontdesk_app`` on the same
server, which ``migrate`` creates; the test server trusts local logins)."""
REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SERVICES_REQUIRED = os.environ.get("FRONTDESK_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


# --- tests never reach beyond this machine -------------------------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach the network: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach the network: {address!r}")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _refuse_network() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


# --- real services ---------------------------------------------------------------------------


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return _real_connect_ex(s, (host, port)) == 0


def _need(service: str, host: str, port: int) -> None:
    if _port_open(host, port):
        return
    message = f"{service} is not answering on {host}:{port}"
    if SERVICES_REQUIRED:
        pytest.fail(f"{message} (required in CI)")
    pytest.skip(f"{message}: start it to run this test")


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """URL of the real PostgreSQL as a superuser (skips on a laptop without it)."""
    _need("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_ADMIN_URL


def app_url_of(admin_url: str) -> str:
    """The application's login role on the server of ``admin_url`` (not superuser, not BYPASSRLS)."""
    from store.roles import app_login_url

    return POSTGRES_APP_URL or app_login_url(admin_url)


@pytest.fixture(scope="session")
def postgres_app_url(postgres_admin_url: str) -> str:
    """URL of the application's login role, as in production."""
    return app_url_of(postgres_admin_url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis (skips on a laptop without it)."""
    _need("Redis", "127.0.0.1", 6379)
    return REDIS_URL


# --- databases -------------------------------------------------------------------------------


@pytest.fixture
def keyring() -> Any:
    from store.crypto import Keyring

    return Keyring.generate("t1")


@pytest.fixture
def sqlite_db(tmp_path: Any, keyring: Any) -> Iterator[Any]:
    """A migrated SQLite database in a temporary folder."""
    from store.db import Database, migrate

    db = Database(f"sqlite:///{tmp_path}/frontdesk.db", keyring)
    migrate(db)
    yield db
    db.dispose()


@contextmanager
def scratch_schema(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL schema for one test (and its contacts' key schema), dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_keys" CASCADE'))  # contacts' data keys
        admin.dispose()


@pytest.fixture
def postgres_db(postgres_admin_url: str, postgres_app_url: str, keyring: Any) -> Iterator[Any]:
    """A migrated PostgreSQL database in its own schema: migrations run as the owner, the
    application logs in as its own role under row-level security (the production path)."""
    from store.db import Database, migrate

    with scratch_schema(postgres_admin_url) as schema:
        db = Database(postgres_app_url, keyring, admin_url=postgres_admin_url, schema=schema)
        try:
            migrate(db)
            yield db
        finally:
            db.dispose()


@pytest.fixture
def pg_checkpoints(postgres_db, postgres_admin_url, postgres_app_url):
    """Checkpoints on the production path: tables set up by the owner (``frontdesk migrate``),
    the application's login role pinned to each run's tenant."""
    from agent.checkpoints import CheckpointStore, prepare_postgres

    prepare_postgres(postgres_admin_url, postgres_db.schema)
    stores = []

    def make():
        stores.append(CheckpointStore(postgres_app_url, schema=postgres_db.schema, pin=postgres_db.pin))
        return stores[-1]

    yield make
    for store in stores:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest) -> Any:
    """Each test using it runs on SQLite and on the real PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_db")


@pytest.fixture
def make_tenant() -> Any:
    """``make_tenant(db, slug)`` creates a tenant and returns its id."""
    from store.repo import tenants

    def make(db: Any, slug: str, name: str | None = None) -> int:
        with db.admin_session() as session:
            return tenants.create(session, slug, name).id

    return make


@pytest.fixture
def embedded(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The embedded default in a fresh folder (the working directory): no FRONTDESK_ or
    LANGFUSE_ variable of the caller's shell leaks in."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("FRONTDESK_", "LANGFUSE_")):
            monkeypatch.delenv(name)
    return tmp_path
