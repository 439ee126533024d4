"""A tenant with two customers whose data reaches every store: messages (through the webhook),
consent, an edit, a turn with a handoff summary and the AI disclosure, an outbox item, a note,
vault values, checkpoints and traces."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint

from agent.checkpoints import CheckpointStore, prepare_postgres
from agent.redaction.sql_vault import SqlVault
from agent.redaction.vault import ConversationKey
from agent.tracing.capture import CapturedSpan, OtlpCapture, running_capture
from agent.tracing.langfuse_tracer import LangfuseProject
from store.db import Database
from store.models import Conversation
from store.privacy import find_by_number
from tests.gateway.conftest import Gateway, build, text_message
from workers import mailbox
from workers.privacy import PrivacyServices, thread_id
from workers.turns import TurnResult

ANA, BETO = "34600111222", "34600999888"


@dataclass
class Customer:
    wa_id: str
    contact_id: int
    conversation_id: int
    name: str


@dataclass
class World:
    gw: Gateway
    db: Database
    tenant_id: int
    slug: str
    ana: Customer
    beto: Customer
    checkpoints: CheckpointStore
    capture: OtlpCapture
    project: LangfuseProject
    services: PrivacyServices


def _edit(tenant: Any, wa_id: str, wamid: str) -> dict[str, Any]:
    body = text_message(tenant, "x", wa_id=wa_id, wamid=wamid)
    value = body["entry"][0]["changes"][0]["value"]
    value["messages"] = [
        {
            "from": wa_id,
            "id": wamid + ".edit",
            "timestamp": "1767225700",
            "type": "edit",
            "edit": {
                "original_message_id": wamid,
                "message": {"type": "text", "text": {"body": "corrected"}},
            },
        }
    ]
    return body


def _customer(world_db: Database, gw: Gateway, wa_id: str, name: str, tag: str) -> Customer:
    tenant = gw.a
    for n, text in enumerate((f"Hola, soy {name} {tag}", f"Quiero una cita {tag}")):
        response = gw.post_webhook(
            text_message(tenant, text, wa_id=wa_id, name=name, wamid=f"wamid.{tag}{n}")
        )
        assert response.status_code == 200
    assert gw.post_webhook(_edit(tenant, wa_id, f"wamid.{tag}0")).status_code == 200
    with world_db.tenant_session(tenant.id) as session:
        contact = find_by_number(session, world_db, tenant.id, wa_id)
        assert contact is not None
        conversation_id = (
            session.query(Conversation.id).filter(Conversation.contact_id == contact.id).scalar()
        )
        assert conversation_id is not None
        return Customer(wa_id, contact.id, int(conversation_id), name)


def _turn(db: Database, tenant_id: int, customer: Customer, tag: str) -> None:
    opened = mailbox.open_turn(db, tenant_id, customer.conversation_id, fence=1)
    assert opened.turn is not None
    result = TurnResult(
        reply=f"Soy un asistente virtual. Claro {tag}",
        handoff=True,
        handoff_summary=f"Customer: cita {tag}",
        disclosure="Soy un asistente virtual.",
        language="es",
    )
    assert mailbox.commit_turn(db, opened.turn, 1, result).status == "handoff"


def _checkpoint(store: CheckpointStore, thread: str) -> None:
    async def put() -> None:
        async with store.saver(int(thread.partition(":")[0])) as saver:
            config: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
            await saver.aput(config, empty_checkpoint(), {"source": "input", "step": 0}, {})

    asyncio.run(put())


def _span(capture: OtlpCapture, project: LangfuseProject, trace: str, session: str, user: str) -> None:
    capture.spans.append(
        CapturedSpan(
            name="receptionist-turn",
            trace_id=trace,
            span_id=trace[:16],
            parent_span_id="",
            attributes={"session.id": session, "user.id": user},
            public_key=project.public_key,
        )
    )


@pytest.fixture
def world(any_db: Database, make_tenant: Any, tmp_path: Path) -> Iterator[World]:
    gw = build(any_db, make_tenant)
    with gw.client, running_capture() as capture:
        tenant_id = gw.a.id
        ana = _customer(any_db, gw, ANA, "Ana", "A")
        beto = _customer(any_db, gw, BETO, "Beto", "B")
        vault = SqlVault(any_db)
        for who, tag in ((ana, "A"), (beto, "B")):
            _turn(any_db, tenant_id, who, tag)
            vault.assign(
                ConversationKey(tenant_id, who.conversation_id), "EMAIL", f"{who.name.lower()}@example.com"
            )
            note = gw.client.post(
                f"/api/conversations/{who.conversation_id}/notes",
                json={"body": f"VIP customer {tag}"},
                headers=gw.a.auth("supervisor"),
            )
            assert note.status_code == 201, note.text
        stop = text_message(gw.a, "STOP", wa_id=ANA, name="Ana", wamid="wamid.Astop")
        assert gw.post_webhook(stop).status_code == 200
        if any_db.is_postgres:
            admin = any_db.admin_engine.url.render_as_string(hide_password=False)
            prepare_postgres(admin, any_db.schema)  # the production path: the app's role, pinned
            app_url = any_db.url.render_as_string(hide_password=False)
            checkpoints = CheckpointStore(app_url, schema=any_db.schema, pin=any_db.pin)
        else:
            checkpoints = CheckpointStore(f"sqlite:///{tmp_path}/checkpoints.db")
        for who in (ana, beto):
            _checkpoint(checkpoints, thread_id(tenant_id, who.conversation_id))
        project = LangfuseProject("pk-acme", "sk-acme", capture.base_url)
        services = PrivacyServices(
            any_db, checkpoints=checkpoints, project_of=lambda _t: project, own_project_of=lambda _t: project
        )
        yield World(gw, any_db, tenant_id, gw.a.slug, ana, beto, checkpoints, capture, project, services)
        checkpoints.close()
