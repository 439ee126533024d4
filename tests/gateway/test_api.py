"""The REST API's behaviour: takeover, replies within and outside the 24 h window, templates,
handback, notes, knowledge, settings and users."""

from __future__ import annotations

import json

from sqlalchemy import select

from store.models import AuditEntry, ConversationNote, MessageTemplate, OutboxItem, Tenant
from store.sealed import unseal
from tests.gateway.conftest import Gateway, text_message
from tests.gateway.helpers import rows


def _customer_writes(gw: Gateway, text: str = "hola", wamid: str = "wamid.1") -> int:
    assert gw.post_webhook(text_message(gw.a, text, wamid=wamid)).status_code == 200
    return gw.drains[-1][1]


def _template(gw: Gateway, **values: object) -> dict[str, object]:
    body = {
        "name": "follow_up",
        "language": "es",
        "status": "APPROVED",
        "body_params": 1,
        "purposes": ["followup"],
    }
    body.update(values)
    response = gw.client.post("/api/templates", json=body, headers=gw.a.auth("admin"))
    assert response.status_code == 201, response.text
    return response.json()


def test_takeover_reply_handback(gw: Gateway) -> None:
    conversation = _customer_writes(gw)
    agent = gw.a.auth("agent")
    url = f"/api/conversations/{conversation}"
    refused = gw.client.post(f"{url}/reply", json={"text": "hola"}, headers=agent)
    assert refused.status_code == 409 and "take it over" in refused.json()["detail"]

    taken = gw.client.post(f"{url}/takeover", headers=agent).json()
    assert taken["mode"] == "human" and taken["epoch"] == 1
    assert taken["assigned_agent_id"] == gw.a.user_ids["agent"]

    reply = gw.client.post(
        f"{url}/reply", json={"text": "Hola, soy Marta"}, headers={**agent, "Idempotency-Key": "k-1"}
    )
    assert reply.status_code == 202
    again = gw.client.post(
        f"{url}/reply", json={"text": "Hola, soy Marta"}, headers={**agent, "Idempotency-Key": "k-1"}
    )
    assert again.json()["outbox_id"] == reply.json()["outbox_id"]
    (item,) = rows(gw.db, OutboxItem, tenant_id=gw.a.id)
    assert item.author == "agent" and item.kind == "text" and item.epoch == 1
    assert unseal(gw.db.keyring, item, "body_ciphertext") == "Hola, soy Marta"
    assert gw.sends[-1] == (gw.a.id, item.id)

    messages = gw.client.get(f"{url}/messages", headers=agent).json()
    assert [m["body"] for m in messages] == ["hola"]

    back = gw.client.post(f"{url}/handback", headers=agent).json()
    assert back["mode"] == "bot" and back["epoch"] == 2
    assert gw.client.post(f"{url}/handback", headers=agent).status_code == 409
    actions = [e.action for e in rows(gw.db, AuditEntry, tenant_id=gw.a.id)]
    for action in ("conversation.takeover", "message.queued", "conversation.handback"):
        assert action in actions
    queued = [e for e in rows(gw.db, AuditEntry, tenant_id=gw.a.id) if e.action == "message.queued"]
    assert "Marta" not in json.dumps(queued[0].details)


def test_outside_the_window_only_templates(gw: Gateway) -> None:
    conversation = _customer_writes(gw)
    agent = gw.a.auth("agent")
    url = f"/api/conversations/{conversation}"
    assert gw.client.post(f"{url}/takeover", headers=agent).status_code == 200
    gw.clock.advance(hours=24, seconds=1)
    refused = gw.client.post(f"{url}/reply", json={"text": "¿sigues ahí?"}, headers=agent)
    assert refused.status_code == 409
    assert "24-hour" in refused.json()["detail"] and "template" in refused.json()["detail"]
    assert gw.client.get(url, headers=agent).json()["window_open"] is False

    template = {"template": {"name": "follow_up", "language": "es", "params": ["Ana"]}}
    assert gw.client.post(f"{url}/reply", json=template, headers=agent).status_code == 409  # none yet
    _template(gw, status="PENDING")
    assert gw.client.post(f"{url}/reply", json=template, headers=agent).status_code == 409  # not approved
    template_id = rows(gw.db, MessageTemplate)[0].id
    approved = {
        "name": "follow_up",
        "language": "es",
        "status": "APPROVED",
        "body_params": 1,
        "purposes": ["followup"],
    }
    assert (
        gw.client.put(f"/api/templates/{template_id}", json=approved, headers=gw.a.auth("admin")).status_code
        == 200
    )
    wrong = {"template": {"name": "follow_up", "language": "es", "params": []}}
    assert gw.client.post(f"{url}/reply", json=wrong, headers=agent).status_code == 422
    sent = gw.client.post(f"{url}/reply", json=template, headers=agent)
    assert sent.status_code == 202 and sent.json()["kind"] == "template"
    (item,) = rows(gw.db, OutboxItem, tenant_id=gw.a.id)
    assert item.kind == "template"
    assert json.loads(unseal(gw.db.keyring, item, "body_ciphertext")) == {
        "name": "follow_up",
        "language": "es",
        "params": ["Ana"],
    }
    both = gw.client.post(f"{url}/reply", json={"text": "x", **template}, headers=agent)
    assert both.status_code == 422

    # The customer writes again: the window reopens.
    _customer_writes(gw, "sí", "wamid.2")
    assert gw.client.post(f"{url}/reply", json={"text": "¡Genial!"}, headers=agent).status_code == 202


def test_no_replies_to_opted_out_customers(gw: Gateway) -> None:
    conversation = _customer_writes(gw)
    agent = gw.a.auth("agent")
    gw.client.post(f"/api/conversations/{conversation}/takeover", headers=agent)
    assert gw.post_webhook(text_message(gw.a, "BAJA", wamid="wamid.2")).status_code == 200
    refused = gw.client.post(f"/api/conversations/{conversation}/reply", json={"text": "hola"}, headers=agent)
    assert refused.status_code == 409 and "opted out" in refused.json()["detail"]


def test_notes_are_sealed(sgw: Gateway) -> None:
    conversation = _customer_writes(sgw)
    url = f"/api/conversations/{conversation}/notes"
    assert (
        sgw.client.post(
            url, json={"body": "Alérgica a la penicilina"}, headers=sgw.a.auth("agent")
        ).status_code
        == 201
    )
    notes = sgw.client.get(url, headers=sgw.a.auth("supervisor")).json()
    assert [n["body"] for n in notes] == ["Alérgica a la penicilina"]
    (note,) = rows(sgw.db, ConversationNote)
    assert "penicilina" not in note.body_ciphertext


def test_templates_mirror_into_the_settings(sgw: Gateway) -> None:
    _template(sgw)
    duplicate = sgw.client.post(
        "/api/templates", json={"name": "follow_up", "language": "es"}, headers=sgw.a.auth("admin")
    )
    assert duplicate.status_code == 409
    with sgw.db.admin_session() as session:
        settings = session.scalar(select(Tenant.settings).where(Tenant.id == sgw.a.id))
    assert settings["whatsapp_templates"] == [
        {
            "name": "follow_up",
            "language": "es",
            "category": "UTILITY",
            "status": "APPROVED",
            "body_params": 1,
            "purposes": ["followup"],
        }
    ]
    bad = sgw.client.post(
        "/api/templates", json={"name": "Bad Name!", "language": "es"}, headers=sgw.a.auth("admin")
    )
    assert bad.status_code == 422


def test_knowledge_upload_list_delete(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    files = {"file": ("horario.md", b"# Horario\n\nAbrimos de lunes a viernes de 9 a 18 h.\n")}
    uploaded = sgw.client.post(
        "/api/knowledge/documents", files=files, data={"title": "Horario"}, headers=admin
    )
    assert uploaded.status_code == 201 and uploaded.json()["chunks"] >= 1
    listed = sgw.client.get("/api/knowledge/documents", headers=admin).json()
    assert [d["title"] for d in listed] == ["Horario"]
    junk = sgw.client.post(
        "/api/knowledge/documents", files={"file": ("x.png", b"\x89PNG\r\n\x1a\n....")}, headers=admin
    )
    assert junk.status_code == 400
    document = listed[0]["id"]
    assert sgw.client.delete(f"/api/knowledge/documents/{document}", headers=admin).status_code == 204
    assert sgw.client.get("/api/knowledge/documents", headers=admin).json() == []
    assert sgw.client.delete(f"/api/knowledge/documents/{document}", headers=admin).status_code == 404
    assert sgw.client.get("/api/knowledge/documents", headers=sgw.b.auth("admin")).json() == []


def test_hours_and_handoff_settings(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    hours = {
        "timezone": "Europe/Madrid",
        "opening_hours": {"mon": [["09:00", "14:00"], ["16:00", "20:00"]]},
        "holidays": ["2026-12-25"],
    }
    assert sgw.client.put("/api/settings/hours", json=hours, headers=admin).status_code == 200
    assert sgw.client.get("/api/settings/hours", headers=admin).json() == hours
    for bad in (
        {"timezone": "Mars/Olympus"},
        {"opening_hours": {"mon": [["18:00", "09:00"]]}},
        {"opening_hours": {"funday": []}},
        {"holidays": ["25/12/2026"]},
    ):
        assert sgw.client.put("/api/settings/hours", json=bad, headers=admin).status_code == 422, bad
    assert "complaint" in sgw.client.get("/api/settings/handoff", headers=admin).json()["handoff_keywords"]
    rules = {"handoff_keywords": ["abogado", "denuncia"], "max_misses": 1}
    url = "/api/settings/handoff?replace=true"
    assert sgw.client.put(url, json=rules, headers=admin).status_code == 200
    from agent.tenant import TenantProfile

    with sgw.db.admin_session() as session:
        tenant = session.get(Tenant, sgw.a.id)
        profile = TenantProfile.from_settings(tenant.name, tenant.settings)
    assert profile.handoff_keywords == ["abogado", "denuncia"] and profile.timezone == "Europe/Madrid"


def test_users_tokens_are_shown_once_and_the_last_admin_stays(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    created = sgw.client.post("/api/users", json={"name": "Marta", "role": "agent"}, headers=admin).json()
    assert created["token"].startswith("fdk_")
    assert (
        sgw.client.get(
            "/api/conversations", headers={"Authorization": f"Bearer {created['token']}"}
        ).status_code
        == 200
    )
    assert "token" not in sgw.client.get("/api/users", headers=admin).json()[0]
    me = sgw.a.user_ids["admin"]
    assert sgw.client.patch(f"/api/users/{me}", json={"role": "agent"}, headers=admin).status_code == 409
    assert (
        sgw.client.patch(f"/api/users/{created['id']}", json={"disabled": True}, headers=admin).status_code
        == 200
    )
    assert (
        sgw.client.get(
            "/api/conversations", headers={"Authorization": f"Bearer {created['token']}"}
        ).status_code
        == 401
    )


def test_disabling_an_agent_returns_their_conversations_to_the_queue(gw: Gateway) -> None:
    conversation = _customer_writes(gw)
    url = f"/api/conversations/{conversation}"
    marta = gw.a.auth("agent")
    assert (
        gw.client.post(f"{url}/takeover", headers=marta).json()["assigned_agent_id"] == gw.a.user_ids["agent"]
    )
    created = gw.client.post(
        "/api/users", json={"role": "agent", "name": "Luis"}, headers=gw.a.auth("admin")
    ).json()
    luis = {"Authorization": f"Bearer {created['token']}"}
    assert gw.client.get(url, headers=luis).status_code == 404  # Marta's, not his

    disabled = gw.client.patch(
        f"/api/users/{gw.a.user_ids['agent']}", json={"disabled": True}, headers=gw.a.auth("admin")
    )
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    waiting = gw.client.get(url, headers=luis).json()  # back in the queue, still the humans'
    assert waiting["assigned_agent_id"] is None and waiting["mode"] == "human"
    assert [c["id"] for c in gw.client.get("/api/conversations", headers=luis).json()] == [conversation]
    claimed = gw.client.post(f"{url}/takeover", headers=luis)
    assert claimed.status_code == 200 and claimed.json()["assigned_agent_id"] == created["id"]
    (entry,) = [
        a for a in rows(gw.db, AuditEntry, tenant_id=gw.a.id) if a.action == "conversation.returned_to_queue"
    ]
    assert entry.subject == f"conversation:{conversation}" and entry.details["reason"] == "agent disabled"
