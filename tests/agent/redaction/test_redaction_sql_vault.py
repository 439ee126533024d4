"""The SQL vault on SQLite and on the real PostgreSQL (RLS): encrypted, concurrent-safe, expiring."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from agent.redaction.redactor import RedactionContext, Redactor, restore
from agent.redaction.sql_vault import SqlVault
from agent.redaction.vault import ConversationKey
from store.models import VaultEntry


def test_assign_is_stable_numbered_and_encrypted(any_db: Any, make_tenant: Any) -> None:
    tenant = make_tenant(any_db, "salon-a")
    vault = SqlVault(any_db)
    conv = ConversationKey(tenant, 1)
    assert vault.assign(conv, "PERSON", "Lucía Pérez") == "<PERSON_1>"
    assert vault.assign(conv, "PERSON", "lucía  pérez") == "<PERSON_1>"
    assert vault.assign(conv, "PERSON", "Ana Gómez") == "<PERSON_2>"
    assert vault.assign(conv, "PHONE_NUMBER", "+34 612 345 678") == "<PHONE_NUMBER_1>"
    assert vault.assign(conv, "PHONE_NUMBER", "+34612345678") == "<PHONE_NUMBER_1>"
    assert vault.assign(ConversationKey(tenant, 2), "PERSON", "Ana Gómez") == "<PERSON_1>"
    with any_db.admin_session() as session:
        rows = session.scalars(select(VaultEntry)).all()
        assert all("Lucía" not in r.value_ciphertext and "612" not in r.value_ciphertext for r in rows)
        assert all("lucía" not in r.value_digest for r in rows)
    items = {i.placeholder: i.value.reveal() for i in vault.items(conv)}
    assert items == {
        "<PERSON_1>": "Lucía Pérez",
        "<PERSON_2>": "Ana Gómez",
        "<PHONE_NUMBER_1>": "+34612345678",
    }


def test_restore_only_within_tenant_and_conversation(any_db: Any, make_tenant: Any) -> None:
    a, b = make_tenant(any_db, "salon-a"), make_tenant(any_db, "salon-b")
    vault = SqlVault(any_db)
    vault.assign(ConversationKey(a, 1), "PERSON", "Marta Ruiz")
    assert restore("Hola <PERSON_1>", ConversationKey(a, 1), vault).text == "Hola Marta Ruiz"
    assert restore("Hola <PERSON_1>", ConversationKey(a, 2), vault).unknown == ("<PERSON_1>",)
    assert restore("Hola <PERSON_1>", ConversationKey(b, 1), vault).unknown == ("<PERSON_1>",)


def test_concurrent_turns_get_one_placeholder_per_value(any_db: Any, make_tenant: Any) -> None:
    tenant = make_tenant(any_db, "salon-c")
    vault = SqlVault(any_db, attempts=50)
    conv = ConversationKey(tenant, 7)
    values = [f"Cliente {i}" for i in range(12)]
    barrier = threading.Barrier(6)

    def turn(worker: int) -> dict[str, str]:
        barrier.wait()
        order = values if worker % 2 else list(reversed(values))
        return {v: vault.assign(conv, "PERSON", v) for v in order}

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(turn, range(6)))
    assert all(r == results[0] for r in results)
    numbers = sorted(int(p.removeprefix("<PERSON_").removesuffix(">")) for p in results[0].values())
    assert numbers == list(range(1, 13))


def test_expiry_hides_and_purges(any_db: Any, make_tenant: Any) -> None:
    tenant = make_tenant(any_db, "salon-d")
    vault = SqlVault(any_db, ttl=timedelta(minutes=5))
    conv = ConversationKey(tenant, 1)
    vault.assign(conv, "EMAIL_ADDRESS", "ana@example.com")
    assert len(vault.items(conv)) == 1
    assert vault.purge_expired(datetime.now(UTC) + timedelta(minutes=1)) == 0
    assert vault.purge_expired(datetime.now(UTC) + timedelta(minutes=6)) == 1
    assert vault.items(conv) == []


def test_redactor_on_sql_vault_across_turns(
    sqlite_db: Any, make_tenant: Any, shared_redactor: Redactor
) -> None:
    tenant = make_tenant(sqlite_db, "salon-e")
    redactor = Redactor(SqlVault(sqlite_db), nlp=shared_redactor._nlp)
    ctx = RedactionContext(ConversationKey(tenant, 3), known_names=("Oriana Blasco",))
    assert redactor.redact("Hola, soy Oriana Blasco", ctx).text == "Hola, soy <PERSON_1>"
    assert redactor.redact("oriana otra vez, mi mail oriana@example.com", ctx).text == (
        "<PERSON_1> otra vez, mi mail <EMAIL_ADDRESS_1>"
    )
    assert redactor.restore("Gracias <Person_1>", ctx).text == "Gracias Oriana Blasco"
