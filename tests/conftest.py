"""Shared test fixtures: network guard and the real PostgreSQL / Redis services."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
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


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the real Redis (skips on a laptop without it)."""
    _need("Redis", "127.0.0.1", 6379)
    return REDIS_URL
