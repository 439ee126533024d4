"""Attacks over real HTTP against the gateway served the way ``frontdesk serve`` serves it
(uvicorn with :func:`frontdesk.gateway_app.server_config`), on PostgreSQL."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from frontdesk.gateway_app import gateway_settings, server_config
from frontdesk.settings import Settings
from store.db import Database
from store.models import AuditEntry
from tests.gateway.conftest import Gateway, build
from tests.gateway.helpers import SLOW_HEAD, rows, slow_body


@contextmanager
def served(gw: Gateway) -> Iterator[int]:
    """The gateway's app on a free port of 127.0.0.1, in a thread; yields the port."""
    config: uvicorn.Config = server_config(gw.client.app, "127.0.0.1", 0, log_config=None, log_level="info")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def get(port: int, path: str, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def wrong_token(gw: Gateway) -> str:
    token = gw.a.tokens["agent"]
    return token[:10] + "X" * (len(token) - 10)


def test_a_forged_x_forwarded_for_neither_lifts_the_limit_nor_reaches_the_audit_log(
    postgres_db: Database, make_tenant: Any
) -> None:
    gw = build(postgres_db, make_tenant, client_failure_limit=4)
    with served(gw) as port:
        for n in range(4):
            headers = {"Authorization": f"Bearer fdk_nothing{n}", "X-Forwarded-For": f"203.0.113.{n}"}
            assert get(port, "/api/users", headers) == 401
        headers = {"Authorization": "Bearer fdk_nothing9", "X-Forwarded-For": "198.51.100.7"}
        assert get(port, "/api/users", headers) == 429  # still the same client: 127.0.0.1
        assert get(port, "/api/users", gw.a.auth("admin")) == 200  # the right token still works
        claimed = {"Authorization": f"Bearer {wrong_token(gw)}", "X-Forwarded-For": "6.6.6.6"}
        get(port, "/api/conversations", claimed)
    actors = {
        e.actor for e in rows(postgres_db, AuditEntry, tenant_id=gw.a.id) if e.action.startswith("auth.")
    }
    assert "client:6.6.6.6" not in actors and "client:203.0.113.0" not in actors


def test_a_listed_proxy_gives_the_client_address(postgres_db: Database, make_tenant: Any) -> None:
    gw = build(postgres_db, make_tenant, trusted_proxies=("127.0.0.1",))
    with served(gw) as port:
        claimed = {"Authorization": f"Bearer {wrong_token(gw)}", "X-Forwarded-For": "6.6.6.6"}
        assert get(port, "/api/conversations", claimed) == 401
    actors = {e.actor for e in rows(postgres_db, AuditEntry, tenant_id=gw.a.id) if e.action == "auth.failed"}
    assert actors == {"client:6.6.6.6"}


def test_the_proxy_setting_comes_from_the_environment() -> None:
    assert gateway_settings(Settings()).trusted_proxies == ()
    assert gateway_settings(Settings(trusted_proxies="10.0.0.1, 10.0.0.2")).trusted_proxies == (
        "10.0.0.1",
        "10.0.0.2",
    )
    assert gateway_settings(Settings(api_docs=False)).docs is False


@pytest.fixture
def slow(postgres_db: Database, make_tenant: Any) -> Iterator[tuple[Gateway, int]]:
    gw = build(postgres_db, make_tenant, body_timeout_seconds=1.5)
    with served(gw) as port:
        yield gw, port


def test_a_slowly_sent_body_is_answered_408_and_the_connection_closed(slow: tuple[Gateway, int]) -> None:
    _gw, port = slow
    answer, took = slow_body(port)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert took < 4


def test_a_client_disconnect_is_one_short_log_line(slow: tuple[Gateway, int], caplog: Any) -> None:
    _gw, port = slow
    caplog.set_level(logging.INFO)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(SLOW_HEAD + b'"object": "whatsapp_business_account"')
    time.sleep(0.5)
    lines = [r.getMessage() for r in caplog.records if "disconnect" in r.getMessage()]
    assert len(lines) == 1 and len(lines[0]) < 200
    assert "Traceback" not in caplog.text and "Exception in ASGI application" not in caplog.text
