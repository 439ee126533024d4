"""The role and segregation matrix: every endpoint × role × own tenant / other tenant.

Other tenants' ids answer 404 (exactly like ids that do not exist), forbidden roles 403,
missing or bad tokens 401. Lists never show another tenant's rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from store.identity import new_contact
from store.models import (
    Conversation,
    EvalResult,
    Message,
    MessageTemplate,
    TurnRow,
)
from store.repo import channels as channel_repo
from store.repo import users as user_repo
from store.sealed import seal
from tests.gateway.conftest import ROLES, Gateway, TenantFixture

ADMIN = {"admin"}
STAFF = {"agent", "supervisor"}
SUPERVISOR = {"supervisor"}
ANALYST = {"analyst", "admin"}
_counter = itertools.count(1)


def new_conversation(gw: Gateway, t: TenantFixture, *, agent: int | None = None, mode: str = "human") -> int:
    with gw.db.tenant_session(t.id) as session:
        contact = new_contact(gw.db.keyring, t.id, f"3460{next(_counter):07d}")
        session.add(contact)
        session.flush()
        conversation = Conversation(
            tenant_id=t.id,
            contact_id=contact.id,
            channel_id=t.channel_id,
            mode=mode,
            assigned_agent_id=agent,
            last_customer_message_at=gw.clock.now - timedelta(hours=1),
        )
        session.add(conversation)
        session.flush()
        message = Message(
            tenant_id=t.id,
            conversation_id=conversation.id,
            direction="in",
            author="customer",
            turn_id=f"turn-{conversation.id}",
        )
        seal(gw.db.keyring, message, "body_ciphertext", f"secret body of {t.slug}")
        session.add(message)
        return conversation.id


def new_template(gw: Gateway, t: TenantFixture) -> int:
    with gw.db.tenant_session(t.id) as session:
        row = MessageTemplate(tenant_id=t.id, name=f"tpl_{next(_counter)}", language="es", status="APPROVED")
        session.add(row)
        session.flush()
        return row.id


def new_channel(gw: Gateway, t: TenantFixture) -> int:
    number = f"77{next(_counter):08d}"
    gw.cloud_api.register(number, "a-token-123")
    with gw.db.tenant_session(t.id) as session:
        channel = channel_repo.add(
            session,
            gw.db.keyring,
            t.id,
            phone_number_id=number,
            verify_token="v-token-123",
            app_secret="s-secret-123",
            access_token="a-token-123",
        )
        return channel_repo.activate(session, channel).id


def new_user(gw: Gateway, t: TenantFixture) -> int:
    with gw.db.tenant_session(t.id) as session:
        return user_repo.create(session, t.id, "agent", "someone").user.id


def new_document(gw: Gateway, t: TenantFixture) -> int:
    from knowledge.service import ingest

    text = f"# Horario {next(_counter)}\n\nAbrimos de lunes a viernes de 9 a 18.\n".encode()
    return ingest(gw.db, t.id, f"doc-{next(_counter)}.md", text).document_id


def new_run(gw: Gateway, t: TenantFixture) -> str:
    conversation = new_conversation(gw, t)
    with gw.db.tenant_session(t.id) as session:
        turn = TurnRow(
            id=f"turn-{conversation}",
            tenant_id=t.id,
            conversation_id=conversation,
            status="replied",
            epoch=0,
            message_count=1,
        )
        session.add(turn)
        session.add(
            EvalResult(
                tenant_id=t.id, run_name="nightly", scenario=f"s-{t.slug}", metric="faithfulness", score=0.9
            )
        )
        return turn.id


def new_customer(gw: Gateway, t: TenantFixture) -> int:
    with gw.db.tenant_session(t.id) as session:
        contact = new_contact(gw.db.keyring, t.id, f"3461{next(_counter):07d}")
        session.add(contact)
        session.flush()
        return contact.id


FACTORIES: dict[str, Callable[[Gateway, TenantFixture], Any]] = {
    "conversation": new_conversation,
    "contact": new_customer,
    "template": new_template,
    "channel": new_channel,
    "user": new_user,
    "document": new_document,
    "run": new_run,
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    roles: set[str]
    body: Any = None
    files: bool = False

    @property
    def placeholder(self) -> str | None:
        if "{" not in self.path:
            return None
        return self.path[self.path.index("{") + 1 : self.path.index("}")]

    def url(self, gw: Gateway, t: TenantFixture) -> str:
        name = self.placeholder
        return self.path if name is None else self.path.replace("{" + name + "}", str(FACTORIES[name](gw, t)))

    def call(self, gw: Gateway, url: str, headers: dict[str, str]) -> Any:
        kwargs: dict[str, Any] = {"headers": headers}
        if self.files:
            kwargs["files"] = {
                "file": (f"f{next(_counter)}.md", f"# Precios {next(_counter)}\n\nCorte 15 euros.".encode())
            }
        elif self.body is not None:
            kwargs["json"] = self.body(gw) if callable(self.body) else self.body
        return gw.client.request(self.method, url, **kwargs)


def _channel_body(gw: Gateway) -> dict[str, Any]:
    number = f"88{next(_counter):08d}"
    gw.cloud_api.register(number, "token-123456")  # the token owns the number: the proof passes
    return {
        "phone_number_id": number,
        "verify_token": "verify-123456",
        "app_secret": "secret-123456",
        "access_token": "token-123456",
    }


def _template_body(_gw: Gateway) -> dict[str, Any]:
    return {
        "name": f"reminder_{next(_counter)}",
        "language": "es",
        "status": "APPROVED",
        "body_params": 0,
        "purposes": ["followup"],
    }


ENDPOINTS = [
    Endpoint("GET", "/api/channels", ADMIN),
    Endpoint("POST", "/api/channels", ADMIN, _channel_body),
    Endpoint("DELETE", "/api/channels/{channel}", ADMIN),
    Endpoint("POST", "/api/channels/{channel}/verify", ADMIN),
    Endpoint("GET", "/api/provider", ADMIN),
    Endpoint(
        "PUT",
        "/api/provider/primary",
        ADMIN,
        {"provider": "openai", "model": "gpt-4o-mini", "api_key": "sk-test-123"},
    ),
    Endpoint("GET", "/api/knowledge/documents", ADMIN),
    Endpoint("POST", "/api/knowledge/documents", ADMIN, files=True),
    Endpoint("DELETE", "/api/knowledge/documents/{document}", ADMIN),
    Endpoint("GET", "/api/templates", ADMIN),
    Endpoint("POST", "/api/templates", ADMIN, _template_body),
    Endpoint("PUT", "/api/templates/{template}", ADMIN, _template_body),
    Endpoint("DELETE", "/api/templates/{template}", ADMIN),
    Endpoint("GET", "/api/settings/hours", ADMIN),
    Endpoint(
        "PUT",
        "/api/settings/hours",
        ADMIN,
        {
            "timezone": "Europe/Madrid",
            "opening_hours": {"mon": [["09:00", "18:00"]]},
            "holidays": ["2026-12-25"],
        },
    ),
    Endpoint("DELETE", "/api/settings/hours", ADMIN),
    Endpoint("GET", "/api/settings/profile", ADMIN),
    Endpoint("PUT", "/api/settings/profile", ADMIN, {"tone": "formal", "default_language": "en"}),
    Endpoint("GET", "/api/settings/handoff", ADMIN),
    Endpoint("PUT", "/api/settings/handoff", ADMIN, {"handoff_keywords": ["abogado"], "max_misses": 3}),
    Endpoint("GET", "/api/settings/redaction", ADMIN),
    Endpoint("PUT", "/api/settings/redaction", ADMIN, {"deny": ["Quetzalli"]}),
    Endpoint("GET", "/api/settings/redaction/recognizers", ADMIN),
    Endpoint("GET", "/api/users", ADMIN),
    Endpoint("POST", "/api/users", ADMIN, {"name": "new agent", "role": "agent"}),
    Endpoint("PATCH", "/api/users/{user}", ADMIN, {"can_read_bodies": True}),
    Endpoint("GET", "/api/audit", ADMIN),
    Endpoint("GET", "/api/audit/verify", ADMIN),
    Endpoint("GET", "/api/conversations", STAFF),
    Endpoint("GET", "/api/conversations/{conversation}", STAFF),
    Endpoint("GET", "/api/conversations/{conversation}/messages", STAFF),
    Endpoint("POST", "/api/conversations/{conversation}/takeover", STAFF),
    Endpoint("POST", "/api/conversations/{conversation}/handback", STAFF),
    Endpoint("POST", "/api/conversations/{conversation}/reply", STAFF, {"text": "Hola, soy Marta"}),
    Endpoint("GET", "/api/conversations/{conversation}/notes", STAFF),
    Endpoint("POST", "/api/conversations/{conversation}/notes", STAFF, {"body": "prefers mornings"}),
    Endpoint("POST", "/api/conversations/{conversation}/assign", SUPERVISOR, {"agent_id": None}),
    Endpoint("GET", "/api/events?seconds=0", STAFF),
    Endpoint("GET", "/api/settings/handoff-webhook", ADMIN),
    Endpoint("PUT", "/api/settings/handoff-webhook", ADMIN, {"url": "https://hooks.example.com/frontdesk"}),
    Endpoint("DELETE", "/api/settings/handoff-webhook", ADMIN),
    Endpoint("GET", "/api/runs", ANALYST),
    Endpoint("GET", "/api/runs/{run}", ANALYST),
    Endpoint("GET", "/api/evals", ANALYST),
    Endpoint("POST", "/api/contacts/lookup", ADMIN, {"wa_id": "34600000000"}),
    Endpoint("GET", "/api/contacts/{contact}/export", ADMIN),
    Endpoint("POST", "/api/contacts/{contact}/consent", ADMIN, {"action": "opt_out"}),
    Endpoint("DELETE", "/api/contacts/{contact}", ADMIN),
    Endpoint("GET", "/api/settings/retention", ADMIN),
    Endpoint("PUT", "/api/settings/retention", ADMIN, {"days": {"messages": 200}}),
]


def test_every_api_route_is_in_the_matrix(gw: Gateway) -> None:
    spec = gw.client.get("/openapi.json").json()
    routes = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith("/api")
        for method in item
    }
    assert routes == {
        (
            e.method,
            e.path.split("?")[0]
            .replace("{channel}", "{channel_id}")
            .replace("{document}", "{document_id}")
            .replace("{template}", "{template_id}")
            .replace("{user}", "{user_id}")
            .replace("{conversation}", "{conversation_id}")
            .replace("{run}", "{run_id}")
            .replace("{contact}", "{contact_id}")
            .replace("/primary", "/{slot}"),
        )
        for e in ENDPOINTS
    }


def test_role_and_tenant_matrix(gw: Gateway) -> None:
    failures: list[str] = []
    other_ids: list[str] = []
    for endpoint, role in itertools.product(ENDPOINTS, ROLES):
        allowed = role in endpoint.roles
        own = endpoint.call(gw, endpoint.url(gw, gw.a), gw.a.auth(role))
        expected_own = "2xx" if allowed else "403"
        if (allowed and not 200 <= own.status_code < 300) or (not allowed and own.status_code != 403):
            failures.append(
                f"{role} {endpoint.method} {endpoint.path} own: {own.status_code} (want {expected_own}) {own.text[:150]}"
            )
        if endpoint.placeholder:
            url = endpoint.url(gw, gw.b)
            other_ids.append(url.rsplit("/", 2)[-1] if endpoint.path.endswith("}") else url.split("/")[-2])
            other = endpoint.call(gw, url, gw.a.auth(role))
            want = 404 if allowed else 403
            if other.status_code != want:
                failures.append(
                    f"{role} {endpoint.method} {endpoint.path} other tenant: {other.status_code} (want {want})"
                )
    assert not failures, "\n".join(failures)
    # Lists of tenant A never show tenant B's rows or bodies.
    for endpoint in ENDPOINTS:
        if endpoint.method != "GET" or endpoint.placeholder:
            continue
        role = sorted(endpoint.roles)[0]
        text = gw.client.get(endpoint.path, headers=gw.a.auth(role)).text
        assert "globex" not in text
        assert not [i for i in other_ids if i in text], endpoint.path


def test_missing_and_bad_tokens_answer_401(sgw: Gateway) -> None:
    for endpoint in ENDPOINTS:
        url = endpoint.path.replace("{", "").replace("}", "")
        assert endpoint.call(sgw, url, {}).status_code == 401, endpoint.path
    response = sgw.client.get("/api/users", headers={"Authorization": "Bearer fdk_not-a-real-token"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_agents_see_their_own_and_unassigned_conversations_only(gw: Gateway) -> None:
    agent, other_agent = gw.a.user_ids["agent"], new_user(gw, gw.a)
    mine = new_conversation(gw, gw.a, agent=agent)
    free = new_conversation(gw, gw.a)
    theirs = new_conversation(gw, gw.a, agent=other_agent)
    listed = {c["id"] for c in gw.client.get("/api/conversations", headers=gw.a.auth("agent")).json()}
    assert listed == {mine, free}
    assert gw.client.get(f"/api/conversations/{theirs}", headers=gw.a.auth("agent")).status_code == 404
    assert (
        gw.client.get(f"/api/conversations/{theirs}/messages", headers=gw.a.auth("agent")).status_code == 404
    )
    assert (
        gw.client.post(f"/api/conversations/{theirs}/takeover", headers=gw.a.auth("agent")).status_code == 404
    )
    everything = {
        c["id"] for c in gw.client.get("/api/conversations", headers=gw.a.auth("supervisor")).json()
    }
    assert everything == {mine, free, theirs}
    # A supervisor assigns; the assignee then sees it.
    response = gw.client.post(
        f"/api/conversations/{theirs}/assign", json={"agent_id": agent}, headers=gw.a.auth("supervisor")
    )
    assert response.status_code == 200
    assert gw.client.get(f"/api/conversations/{theirs}", headers=gw.a.auth("agent")).status_code == 200
    # Assigning to another tenant's user is refused.
    response = gw.client.post(
        f"/api/conversations/{theirs}/assign",
        json={"agent_id": gw.b.user_ids["agent"]},
        headers=gw.a.auth("supervisor"),
    )
    assert response.status_code == 404


def test_analysts_see_bodies_only_when_granted(sgw: Gateway) -> None:
    run = new_run(sgw, sgw.a)
    detail = sgw.client.get(f"/api/runs/{run}", headers=sgw.a.auth("analyst")).json()
    assert detail["messages"] and all(m["body"] is None for m in detail["messages"])
    assert "secret body" not in str(detail)
    analyst = sgw.a.user_ids["analyst"]
    assert (
        sgw.client.patch(
            f"/api/users/{analyst}", json={"can_read_bodies": True}, headers=sgw.a.auth("admin")
        ).status_code
        == 200
    )
    detail = sgw.client.get(f"/api/runs/{run}", headers=sgw.a.auth("analyst")).json()
    assert detail["messages"][0]["body"] == "secret body of acme"
