"""A bot turn is opened with who it answers, as the runner would read it in a transaction of its own."""

from __future__ import annotations

from typing import Any

from frontdesk.runner import ReceptionistTurnRunner
from store.identity import set_profile_name
from store.models import Contact, Conversation, Message, Tenant, new_id
from store.repo import conversations
from store.sealed import seal
from tests.workers.conftest import World
from workers import mailbox
from workers.turns import OpenedTurn, TurnCustomer


def _agent_wrote(world: World, cid: int, text: str) -> None:
    with world.db.tenant_session(world.tenant_id) as session:
        row = Message(
            id=new_id(), tenant_id=world.tenant_id, conversation_id=cid, direction="out", author="agent"
        )
        seal(world.db.keyring, row, "body_ciphertext", text)
        session.add(row)
        conversation = session.get(Conversation, cid)
        assert conversation is not None
        contact = session.get(Contact, conversation.contact_id)
        assert contact is not None
        set_profile_name(world.db.keyring, contact, "Ana Pérez")


def test_the_opened_turn_carries_what_the_runner_would_read(world: World) -> None:
    cid = world.conversation()
    _agent_wrote(world, cid, "Le llamo mañana")
    mailbox.append_inbound(world.db, world.tenant_id, cid, wa_message_id="wamid.C1", text="gracias")
    opened = mailbox.open_turn(world.db, world.tenant_id, cid, 1)
    assert opened.turn is not None and opened.turn.customer is not None
    with world.db.tenant_connection(world.tenant_id) as sql:
        customer, name = conversations.customer_of(sql, world.db.keyring, cid)
        human = conversations.human_replies_since_bot(sql, world.db.keyring, cid)
    assert opened.turn.customer == TurnCustomer(customer, name, tuple(human))
    assert name == "Ana Pérez" and human == ["Le llamo mañana"] and customer
    assert "Ana" not in repr(opened.turn) and "Ana" not in repr(opened.turn.customer)


def test_the_opened_turn_carries_the_tenants_settings_version(world: World) -> None:
    cid = world.conversation()
    mailbox.append_inbound(world.db, world.tenant_id, cid, wa_message_id="wamid.V1", text="hola")
    opened = mailbox.open_turn(world.db, world.tenant_id, cid, 1)
    assert opened.turn is not None
    with world.db.admin_session() as session:
        version = session.get(Tenant, world.tenant_id).settings_version  # pyright: ignore[reportOptionalMemberAccess]
    assert opened.turn.settings_version == version


class _Receptionist:
    def __init__(self, db: Any) -> None:
        self.db = db
        self.requests: list[Any] = []

    def run(self, request: Any) -> Any:
        from agent.graphs.receptionist.context import TurnOutput

        self.requests.append(request)
        return TurnOutput()


def test_the_runner_takes_the_turns_customer_and_reads_only_without_it(world: World) -> None:
    cid = world.conversation()
    receptionist = _Receptionist(world.db)
    runner = ReceptionistTurnRunner(receptionist)  # type: ignore[arg-type]
    known = TurnCustomer("34600000001", "Luis", ("hola de un agente",))
    base = OpenedTurn(world.tenant_id, cid, "t1", 0, (1,), ("hola",))
    runner.run_turn(OpenedTurn(world.tenant_id, cid, "t1", 0, (1,), ("hola",), customer=known))
    runner.run_turn(base)  # read from the store: the conversation's own contact, no agent text
    first, second = receptionist.requests
    assert (first.customer_id, first.profile_name, list(first.human_messages)) == (
        "34600000001",
        "Luis",
        ["hola de un agente"],
    )
    assert second.customer_id and second.customer_id != "34600000001" and list(second.human_messages) == []
