"""``frontdesk chat`` is a sandbox: trying the receptionist with a real customer's number never
touches that customer's live conversation (processes: ``serve``, ``worker``, ``chat``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from channels.fake_cloud_api import FakeCloudApi
from store.identity import number_digests
from store.models import Contact, Conversation, Message
from store.repo import users
from tests.frontdesk.live import Live

KB = Path(__file__).parents[1] / "data" / "kb_clinica_es"
CUSTOMER = "34611222333"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    with FakeCloudApi() as graph:
        stack = Live(tmp_path, graph, extra_env={"FRONTDESK_WORKER_SWEEP_INTERVAL": "1"})
        try:
            yield stack
        finally:
            stack.stop()


def _setup(live: Live) -> tuple[int, str]:
    tenant_id = live.add_clinic("clinic", "Clínica Sonrisa", KB, settings={"default_language": "es"})
    with live.database.admin_session() as session:
        token = users.create(session, tenant_id, "supervisor", "Marta").token.reveal()
    return tenant_id, token


def _replies(live: Live, count: int, timeout: float = 60) -> list[str]:
    live.graph.wait_for(count, timeout=timeout)
    return live.texts()


def test_chat_from_a_customers_number_never_touches_the_live_conversation(live: Live) -> None:
    tenant_id, token = _setup(live)
    live.worker()
    live.serve()

    live.customer_says(CUSTOMER, "Hola, ¿cuánto cuesta una limpieza dental?")
    assert "45 €" in _replies(live, 1)[0]

    lines = ["¿Cuánto cuesta un blanqueamiento?", "quiero hablar con una persona", "/human Hola, soy Marta."]
    chat = live.cli("chat", "--tenant", "clinic", "--from", CUSTOMER, "--json", input="\n".join(lines) + "\n")
    assert chat.returncode == 0, chat.stderr
    out = [json.loads(line) for line in chat.stdout.splitlines()]
    assert "250 €" in out[0]["reply"] and out[1]["handoff"] is True and out[2]["mode"] == "human"

    time.sleep(4)  # several sweeps of the workers: nothing of the sandbox is picked up
    live.customer_says(CUSTOMER, "¿Y cuánto cuesta una endodoncia?")
    replies = _replies(live, 2)
    time.sleep(3)  # nothing else arrives
    sent = live.graph.sent
    assert len(sent) == 2 and {m.to for m in sent} == {CUSTOMER}, [m.text for m in sent]
    assert "180 €" in replies[1]
    assert not any("250 €" in text or "Marta" in text for text in replies)

    db = live.db
    assert db is not None
    with db.tenant_session(tenant_id) as session:
        contacts = session.scalars(select(Contact)).all()
        live_contact = next(c for c in contacts if not c.test)
        sandbox_contact = next(c for c in contacts if c.test)
        assert live_contact.wa_id_digest in number_digests(db.keyring, CUSTOMER)
        assert sandbox_contact.wa_id_digest is None
        live_conversation = session.scalar(select(Conversation).where(Conversation.test.is_(False)))
        sandbox = session.scalar(select(Conversation).where(Conversation.test.is_(True)))
        assert live_conversation is not None and sandbox is not None
        assert live_conversation.mode == "bot" and sandbox.mode == "human"
        sandbox_out = session.scalars(
            select(Message.status).where(Message.conversation_id == sandbox.id, Message.direction == "out")
        ).all()
        assert sandbox_out and set(sandbox_out) == {"test"}  # never marked sent: nothing left

    headers = {"authorization": f"Bearer {token}"}
    everything = httpx.get(f"{live.api}/api/conversations", headers=headers).json()
    assert sorted(c["test"] for c in everything) == [False, True]
    tests = httpx.get(f"{live.api}/api/conversations", params={"test": "true"}, headers=headers).json()
    assert [c["id"] for c in tests] == [sandbox.id] and tests[0]["contact"]["wa_id"] is None
    real = httpx.get(f"{live.api}/api/conversations", params={"test": "false"}, headers=headers).json()
    assert [c["id"] for c in real] == [live_conversation.id] and real[0]["mode"] == "bot"
