"""A turn's view of its conversation's vault: read once, kept exact across the turn's assignments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent.redaction.sql_vault import SqlVault
from agent.redaction.turn_vault import TurnVault
from agent.redaction.vault import ConversationKey, InMemoryVault, VaultItem


class _Counting:
    """A vault that counts its reads (``assign_item`` only when the inner vault has it)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads = 0
        if hasattr(inner, "assign_item"):
            self.assign_item = inner.assign_item

    def assign(self, conversation: ConversationKey, entity_type: str, value: str) -> str:
        return self.inner.assign(conversation, entity_type, value)

    def items(self, conversation: ConversationKey) -> Sequence[VaultItem]:
        self.reads += 1
        return self.inner.items(conversation)


def _view(items: Sequence[VaultItem]) -> dict[str, tuple[str, str]]:
    return {i.placeholder: (i.entity_type, i.value.reveal()) for i in items}


def test_sql_vault_assignments_join_the_view_without_a_read(any_db: Any, make_tenant: Any) -> None:
    tenant = make_tenant(any_db, "salon-tv")
    conv = ConversationKey(tenant, 5)
    sql = SqlVault(any_db)
    sql.assign(conv, "PERSON", "Lucía Pérez")
    vault = _Counting(sql)
    turn = TurnVault(vault, conv)  # pyright: ignore[reportArgumentType]
    assert _view(turn.items(conv)) == {"<PERSON_1>": ("PERSON", "Lucía Pérez")}
    assert turn.assign(conv, "PERSON", "lucía  pérez") == "<PERSON_1>"  # the value as first stored
    assert turn.assign(conv, "PHONE_NUMBER", "+34 612 345 678") == "<PHONE_NUMBER_1>"
    assert turn.assign(conv, "PERSON", "Ana Gómez") == "<PERSON_2>"
    assert _view(turn.items(conv)) == _view(sql.items(conv))
    assert _view(turn.items(conv))["<PERSON_1>"] == ("PERSON", "Lucía Pérez")
    assert vault.reads == 1


def test_a_vault_without_assign_item_is_read_again() -> None:
    conv = ConversationKey(1, 5)
    vault = _Counting(InMemoryVault())
    turn = TurnVault(vault, conv)  # pyright: ignore[reportArgumentType]
    assert turn.items(conv) == []
    turn.assign(conv, "PERSON", "Lucía Pérez")
    assert _view(turn.items(conv)) == {"<PERSON_1>": ("PERSON", "Lucía Pérez")}
    assert vault.reads == 2


def test_other_conversations_pass_through(any_db: Any, make_tenant: Any) -> None:
    tenant = make_tenant(any_db, "salon-tw")
    mine, other = ConversationKey(tenant, 1), ConversationKey(tenant, 2)
    sql = SqlVault(any_db)
    turn = TurnVault(sql, mine)
    assert turn.items(mine) == []
    assert turn.assign(other, "PERSON", "Marta Ruiz") == "<PERSON_1>"
    assert turn.items(mine) == []
    assert _view(turn.items(other)) == {"<PERSON_1>": ("PERSON", "Marta Ruiz")}
