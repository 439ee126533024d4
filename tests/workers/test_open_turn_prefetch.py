"""A bot turn on PostgreSQL is opened with its vault entries and its tenant's knowledge state,
read in the turn's own transaction: what changed before a turn opens is what that turn sees."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import knowledge
from agent.redaction.sql_vault import SqlVault
from agent.redaction.turn_vault import TurnVault
from agent.redaction.vault import ConversationKey
from knowledge import search as knowledge_search
from store.db import Database
from tests.workers.conftest import World
from workers import mailbox
from workers.turns import OpenedTurn


def _open(world: World, cid: int, wamid: str, fence: int) -> OpenedTurn:
    mailbox.append_inbound(world.db, world.tenant_id, cid, wa_message_id=wamid, text="hola")
    opened = mailbox.open_turn(world.db, world.tenant_id, cid, fence)
    assert opened.turn is not None
    # the turn done: its messages consumed, so the next message opens the next turn
    assert mailbox.close_without_reply(world.db, opened.turn, fence, "silent")
    return opened.turn


@pytest.fixture
def pg_world(postgres_db: Database, make_tenant: Any) -> Iterator[World]:
    from tests.workers.conftest import make_ctx

    tenant_id = make_tenant(postgres_db, "acme")
    ctx = make_ctx(postgres_db)
    yield World(postgres_db, tenant_id, ctx, ctx.runner, ctx.sender, ctx.enqueue)  # type: ignore[arg-type]
    ctx.close()


def test_the_next_turn_sees_a_vault_entry_assigned_since(pg_world: World) -> None:
    world, vault = pg_world, SqlVault(pg_world.db)
    cid = world.conversation()
    conversation = ConversationKey(world.tenant_id, cid)
    first = _open(world, cid, "wamid.P1", 1)
    assert first.vault_items == ()
    placeholder = vault.assign(conversation, "PHONE", "612 345 678")
    second = _open(world, cid, "wamid.P2", 2)
    assert second.vault_items is not None
    assert [(i.placeholder, i.value.reveal()) for i in second.vault_items] == [
        (i.placeholder, i.value.reveal()) for i in vault.items(conversation)
    ]
    assert [i.placeholder for i in second.vault_items] == [placeholder]
    assert "612" not in repr(second) and "612" not in repr(second.vault_items)
    # the turn's view starts from them and reads nothing more
    view = TurnVault(_NoReads(), conversation, second.vault_items)
    assert [i.placeholder for i in view.items(conversation)] == [placeholder]


class _NoReads:
    def items(self, conversation: Any) -> Any:
        raise AssertionError("the view read the vault again")


def test_the_next_turn_searches_a_document_ingested_since(pg_world: World) -> None:
    world = pg_world
    cid = world.conversation()
    knowledge.ingest(world.db, world.tenant_id, "horario.md", b"# Horario\nAbrimos de lunes a viernes.\n")
    first = _open(world, cid, "wamid.K1", 1)
    assert first.knowledge_state is not None
    query = "aparcamiento gratuito"
    assert knowledge_search(world.db, world.tenant_id, query, state=first.knowledge_state) == []
    knowledge.ingest(
        world.db, world.tenant_id, "parking.md", b"# Aparcamiento\nAparcamiento gratuito para pacientes.\n"
    )
    second = _open(world, cid, "wamid.K2", 2)
    assert second.knowledge_state != first.knowledge_state
    found = knowledge_search(world.db, world.tenant_id, query, state=second.knowledge_state)
    assert found and found == knowledge_search(world.db, world.tenant_id, query)
    assert "gratuito" in found[0].text
    knowledge.remove(world.db, world.tenant_id, "parking.md")
    third = _open(world, cid, "wamid.K3", 3)
    assert knowledge_search(world.db, world.tenant_id, query, state=third.knowledge_state) == []


def test_sqlite_turns_read_them_themselves(sqlite_db: Database, make_tenant: Any) -> None:
    from tests.workers.conftest import make_conversations

    tenant_id = make_tenant(sqlite_db, "acme")
    cid = make_conversations(sqlite_db, tenant_id, 1)[0]
    mailbox.append_inbound(sqlite_db, tenant_id, cid, wa_message_id="wamid.S1", text="hola")
    turn = mailbox.open_turn(sqlite_db, tenant_id, cid, 1).turn
    assert turn is not None and turn.vault_items is None and turn.knowledge_state is None


def test_the_runner_hands_them_to_the_turn(pg_world: World) -> None:
    from frontdesk.runner import ReceptionistTurnRunner
    from tests.workers.test_open_turn_customer import _Receptionist  # pyright: ignore[reportPrivateUsage]

    cid = pg_world.conversation()
    turn = _open(pg_world, cid, "wamid.R1", 1)
    receptionist = _Receptionist(pg_world.db)
    ReceptionistTurnRunner(receptionist).run_turn(turn)  # type: ignore[arg-type]
    [request] = receptionist.requests
    assert request.vault_items == turn.vault_items and request.knowledge_state == turn.knowledge_state
