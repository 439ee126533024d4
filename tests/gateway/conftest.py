"""Fixtures of the gateway tests: two tenants with a channel and a user per role, the app."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.llm.hosts import HostPolicy
from channels.cloud_api import CloudApiClient
from channels.fake_cloud_api import IN_PROCESS_URL, FakeCloudApi, text_webhook
from channels.signature import sign
from gateway.app import create_app
from gateway.services import GatewayServices, GatewaySettings
from store.db import Database
from store.repo import channels as channel_repo
from store.repo import users as user_repo
from tests.conftest import SERVICES_REQUIRED

CHROMIUM = Path(os.environ.get("FRONTDESK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CORPUS_DIR = Path("/work/shared/conformance/whatsapp")
if not CORPUS_DIR.exists():  # the channels tests keep a copy
    CORPUS_DIR = Path(__file__).parent.parent / "channels" / "data" / "whatsapp"
ROLES = ("admin", "supervisor", "agent", "analyst")


def corpus_cases() -> list[tuple[str, dict[str, Any]]]:
    """``(file:case, body)`` for every webhook body of the corpus."""
    cases: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(CORPUS_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data.get("entry"), list):
            cases.append((f"{path.stem}:<file>", data))
        for name, value in data.items():
            if isinstance(value, dict) and isinstance(value.get("entry"), list):
                cases.append((f"{path.stem}:{name}", value))
    return cases


class Clock:
    """A settable clock (UTC)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class TenantFixture:
    id: int
    slug: str
    phone_number_id: str
    waba_id: str
    app_secret: str
    verify_token: str
    channel_id: int
    access_token: str = ""
    tokens: dict[str, str] = field(default_factory=dict[str, str])
    user_ids: dict[str, int] = field(default_factory=dict[str, int])

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@dataclass
class Gateway:
    db: Database
    client: TestClient
    clock: Clock
    a: TenantFixture
    b: TenantFixture
    drains: list[tuple[int, int]]
    sends: list[tuple[int, int]]
    alerts: list[tuple[str, dict[str, object]]]
    cloud_api: FakeCloudApi = field(default_factory=FakeCloudApi)
    """Meta's side of the ownership proofs (in-process): each fixture tenant's token owns its
    number and account."""

    def post_webhook(
        self,
        body: dict[str, Any] | bytes,
        tenant: TenantFixture | None = None,
        *,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        tenant = tenant or self.a
        sig = sign(raw, secret if secret is not None else tenant.app_secret)
        all_headers = {"X-Hub-Signature-256": sig, "Content-Type": "application/json"}
        all_headers.update(headers or {})
        return self.client.post("/webhooks/whatsapp", content=raw, headers=all_headers)


def make_tenant_fixture(db: Database, make_tenant: Any, slug: str, number: str, waba: str) -> TenantFixture:
    tenant_id = make_tenant(db, slug)
    secret, verify, token = f"app-secret-{slug}-0123456789", f"verify-{slug}-token", f"EAAG-{slug}-access"
    with db.tenant_session(tenant_id) as session:
        channel = channel_repo.add(
            session,
            db.keyring,
            tenant_id,
            phone_number_id=number,
            verify_token=verify,
            app_secret=secret,
            access_token=token,
            display_phone_number="15550000000",
        )
        channel.waba_id = waba
        channel_repo.activate(session, channel)
        fixture = TenantFixture(tenant_id, slug, number, waba, secret, verify, channel.id, token)
        for role in ROLES:
            created = user_repo.create(session, tenant_id, role, f"{role}-{slug}")
            fixture.tokens[role] = created.token.reveal()
            fixture.user_ids[role] = created.user.id
    return fixture


def build(db: Database, make_tenant: Any, *, hosts: HostPolicy | None = None, **settings: Any) -> Gateway:
    clock = Clock()
    drains: list[tuple[int, int]] = []
    sends: list[tuple[int, int]] = []
    alerts: list[tuple[str, dict[str, object]]] = []
    a = make_tenant_fixture(db, make_tenant, "acme", "1000000001", "2000000001")
    b = make_tenant_fixture(db, make_tenant, "globex", "1000000002", "2000000002")
    cloud_api = FakeCloudApi()
    for t in (a, b):
        cloud_api.register(t.phone_number_id, t.access_token, waba_id=t.waba_id)
    services = GatewayServices(
        db=db,
        wake_drain=lambda t, c: drains.append((t, c)),
        wake_send=lambda t, o: sends.append((t, o)),
        settings=GatewaySettings(**settings),
        clock=clock,
        alert=lambda kind, details: alerts.append((kind, details)),
        provider_hosts=hosts or HostPolicy(),
        graph=lambda: CloudApiClient(IN_PROCESS_URL, transport=cloud_api.transport()),
    )
    client = TestClient(create_app(services), raise_server_exceptions=False)
    return Gateway(db, client, clock, a, b, drains, sends, alerts, cloud_api)


@pytest.fixture
def gw(any_db: Database, make_tenant: Any) -> Iterator[Gateway]:
    gateway = build(any_db, make_tenant)
    with gateway.client:
        yield gateway


@pytest.fixture
def sgw(sqlite_db: Database, make_tenant: Any) -> Iterator[Gateway]:
    """The gateway on SQLite only (for the slower, backend-independent tests)."""
    gateway = build(sqlite_db, make_tenant)
    with gateway.client:
        yield gateway


def text_message(
    tenant: TenantFixture,
    text: str,
    *,
    wamid: str = "wamid.T1",
    wa_id: str = "34600111222",
    name: str = "Ana",
) -> dict[str, Any]:
    """A webhook body with one text message from a customer."""
    return text_webhook(
        tenant.phone_number_id,
        wa_id,
        text,
        name=name,
        wamid=wamid,
        waba_id=tenant.waba_id,
        timestamp="1767225600",
    )


def retarget(body: dict[str, Any], tenant: TenantFixture) -> dict[str, Any]:
    """A copy of a corpus body addressed to ``tenant``'s number and account."""
    copy = json.loads(json.dumps(body))
    for entry in copy.get("entry", []):
        entry["id"] = tenant.waba_id
        for change in entry.get("changes", []):
            value = change.get("value")
            if isinstance(value, dict) and isinstance(value.get("metadata"), dict):
                value["metadata"]["phone_number_id"] = tenant.phone_number_id
    return copy


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (skips without it, fails in CI)."""
    if not CHROMIUM.exists():
        message = f"the console's browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        if SERVICES_REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
