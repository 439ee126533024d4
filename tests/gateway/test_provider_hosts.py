"""A tenant admin cannot send the stored provider key, or the worker, anywhere it likes."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlalchemy import update

from agent.llm.hosts import HostPolicy
from agent.receptionist import Receptionist
from errors import UserError
from store.db import Database
from store.models import AuditEntry, ProviderSetting
from store.repo import providers
from tests.gateway.conftest import Gateway, build
from tests.gateway.helpers import rows

PUBLIC = {
    "api.openai.com": ["162.159.140.245"],
    "evil.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
}
PRIVATE = {
    "intranet.example": ["10.1.2.3"],
    "rebind.example": ["93.184.216.34", "127.0.0.1"],  # one public address is not enough
    "metadata.example": ["169.254.169.254"],
    "vllm.lan": ["192.168.1.20"],
}


def fake_resolver(host: str, port: int) -> Sequence[str]:
    """DNS for the tests (they may not reach the network); IP literals resolve to themselves."""
    table = PUBLIC | PRIVATE | {"localhost": ["127.0.0.1", "::1"]}
    if host in table:
        return table[host]
    infos = socket.getaddrinfo(host, port, flags=socket.AI_NUMERICHOST)  # IP literals only
    return [str(info[4][0]) for info in infos]


@pytest.fixture
def pgw(postgres_db: Database, make_tenant: Any) -> Iterator[Gateway]:
    gateway = build(postgres_db, make_tenant, hosts=HostPolicy((), fake_resolver))
    with gateway.client:
        yield gateway


@pytest.fixture
def plain(postgres_db: Database, make_tenant: Any) -> Iterator[Gateway]:
    """The gateway as ``frontdesk serve`` builds it by default (real resolver, no list)."""
    gateway = build(postgres_db, make_tenant)
    with gateway.client:
        yield gateway


def put(gw: Gateway, **body: Any) -> Any:
    return gw.client.put("/api/provider/primary", json=body, headers=gw.a.auth("admin"))


def stored_key(gw: Gateway) -> str | None:
    with gw.db.tenant_session(gw.a.id) as session:
        key = providers.get(session, gw.db.keyring, gw.a.id).api_key
    return key.reveal() if key else None


def test_a_new_base_url_without_the_key_is_refused_and_the_key_never_moves(plain: Gateway) -> None:
    assert put(plain, provider="openai", api_key="sk-REAL-KEY-1").status_code == 200
    moved = put(plain, provider="openai", base_url="https://93.184.216.34/v1")
    assert moved.status_code == 422
    assert "api_key" in moved.json()["detail"] and "sk-REAL" not in moved.text
    assert rows(plain.db, ProviderSetting, tenant_id=plain.a.id)[0].base_url is None
    assert stored_key(plain) == "sk-REAL-KEY-1"
    # another provider (OpenAI-compatible at the vendor's host) is a move too
    assert put(plain, provider="openai-compatible", base_url="https://api.openai.com/v1").status_code == 422
    # the same endpoint keeps the key; a move with a new key is fine and audited by host
    assert put(plain, provider="openai", model="gpt-4o").json()["api_key_set"] is True
    assert stored_key(plain) == "sk-REAL-KEY-1"
    ok = put(plain, provider="openai", base_url="https://93.184.216.34/v1", api_key="sk-NEW-2")
    assert ok.status_code == 200 and stored_key(plain) == "sk-NEW-2"
    entry = [e for e in rows(plain.db, AuditEntry, tenant_id=plain.a.id) if e.action == "config.provider"][-1]
    assert entry.details["old_host"] == "default" and entry.details["new_host"] == "93.184.216.34:443"
    assert "sk-" not in str(entry.details)


PRIVATE_URLS = [
    "http://127.0.0.1:8765/v1",
    "http://localhost:11434/v1",
    "http://[::1]:8000/v1",
    "http://10.0.0.7/v1",
    "http://169.254.169.254/latest",
    "http://100.64.0.1/v1",
    "http://0.0.0.0:8000/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://2130706433/v1",
    "https://intranet.example/v1",
    "https://rebind.example/v1",
    "https://metadata.example/v1",
    "https://does-not-resolve.example/v1",
    "https://api.openai.com@127.0.0.1/v1",
]


def test_private_and_unresolvable_hosts_are_refused(pgw: Gateway) -> None:
    for url in PRIVATE_URLS:
        answer = put(pgw, provider="openai-compatible", base_url=url)
        assert answer.status_code == 422, (url, answer.text)
    assert rows(pgw.db, ProviderSetting, tenant_id=pgw.a.id) == []


def test_loopback_is_refused_with_the_real_resolver(plain: Gateway) -> None:
    for url in ("http://127.0.0.1:8765/v1", "http://localhost:8765/v1", "http://2130706433:8765/v1"):
        assert put(plain, provider="openai-compatible", base_url=url).status_code == 422, url
    assert rows(plain.db, ProviderSetting, tenant_id=plain.a.id) == []


def test_a_public_host_is_allowed_when_no_list_is_set(pgw: Gateway) -> None:
    assert put(pgw, provider="openai-compatible", base_url="https://evil.example/v1").status_code == 200


def test_the_operators_list_limits_the_hosts_and_may_allow_private_ones(
    postgres_db: Database, make_tenant: Any
) -> None:
    gw = build(
        postgres_db, make_tenant, hosts=HostPolicy.from_spec("api.openai.com, vllm.lan:8000", fake_resolver)
    )
    with gw.client:
        assert put(gw, provider="openai-compatible", base_url="https://evil.example/v1").status_code == 422
        assert put(gw, provider="openai-compatible", base_url="http://vllm.lan:9000/v1").status_code == 422
        assert put(gw, provider="openai-compatible", base_url="http://vllm.lan:8000/v1").status_code == 200
        assert (
            put(gw, provider="openai", base_url="https://api.openai.com/v1", api_key="k").status_code == 200
        )


class Worker:
    """The worker's side: the receptionist building a tenant's provider for a turn."""

    def __init__(self, db: Database, hosts: HostPolicy, alerts: list[str]) -> None:
        self.receptionist = Receptionist(
            db,
            redactor=None,  # type: ignore[arg-type]  # provider() needs neither
            checkpoints=None,  # type: ignore[arg-type]
            hosts=hosts,
            alert=lambda kind, _detail: alerts.append(kind),
        )

    def provider(self, tenant_id: int) -> Any:
        self.receptionist.runtimes.forget()  # read the store now, as after a second
        return self.receptionist.provider(self.receptionist.runtimes.get(tenant_id))


def _receptionist(db: Database, hosts: HostPolicy, alerts: list[str]) -> Worker:
    return Worker(db, hosts, alerts)


def test_the_key_is_sealed_to_its_host_so_an_edited_row_yields_no_key(pgw: Gateway) -> None:
    assert put(pgw, provider="openai", api_key="sk-REAL-KEY-1").status_code == 200
    with pgw.db.admin_session() as session:  # behind the application's back
        session.execute(update(ProviderSetting).values(base_url="https://evil.example/v1"))
    with pgw.db.tenant_session(pgw.a.id) as session:
        config = providers.get(session, pgw.db.keyring, pgw.a.id)
    assert config.api_key is None and config.key_withheld
    alerts: list[str] = []
    with pytest.raises(UserError, match="API key"):
        _receptionist(pgw.db, HostPolicy((), fake_resolver), alerts).provider(pgw.a.id)
    assert "provider_key_withheld" in alerts


def test_the_worker_checks_the_host_again_at_call_time(pgw: Gateway) -> None:
    assert put(pgw, provider="openai-compatible", base_url="https://evil.example/v1").status_code == 200
    alerts: list[str] = []
    worker = _receptionist(pgw.db, HostPolicy((), fake_resolver), alerts)
    provider = worker.provider(pgw.a.id)
    assert provider.name == "openai-compatible"
    # ... and checked once more when the SDK connects, to the address it checked (DNS rebinding)
    assert provider.settings.pinned_hosts == ()
    # the name now points into the worker's network (DNS rebinding), or an old row was private
    rebound = HostPolicy((), lambda host, port: ["10.0.0.5"])
    with pytest.raises(UserError, match="private"):
        _receptionist(pgw.db, rebound, alerts).provider(pgw.a.id)
    assert "provider_host_refused" in alerts
    with pgw.db.admin_session() as session:
        session.execute(update(ProviderSetting).values(base_url="http://127.0.0.1:11434/v1"))
    with pytest.raises(UserError):
        worker.provider(pgw.a.id)
    assert _receptionist(pgw.db, HostPolicy(("127.0.0.1:11434",)), alerts).provider(pgw.a.id)


def test_the_operators_cli_may_name_any_host(pgw: Gateway) -> None:
    with pgw.db.admin_session() as session:  # what `tenants set-provider --base-url` does
        providers.set_provider(
            session,
            pgw.db.keyring,
            pgw.a.id,
            "openai-compatible",
            base_url="http://127.0.0.1:11434/v1",
            trusted=True,
        )
    worker = _receptionist(pgw.db, HostPolicy((), fake_resolver), [])
    operators = worker.provider(pgw.a.id)
    assert operators.name == "openai-compatible" and operators.settings.pinned_hosts is None  # not pinned
    # a tenant admin changing only the model keeps the operator's URL
    assert (
        put(pgw, provider="openai-compatible", base_url="http://127.0.0.1:11434/v1", model="m").status_code
        == 200
    )
    assert worker.provider(pgw.a.id).name == "openai-compatible"
    # but moving it makes it the admin's URL, checked like any other
    assert put(pgw, provider="openai-compatible", base_url="http://127.0.0.1:11435/v1").status_code == 422
