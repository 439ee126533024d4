"""Placeholders: typed, numbered per conversation, stable across turns, restored only in their
conversation, tolerant of case, unknown ones reported, safe under concurrent turns, expiring."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from agent.redaction.redactor import RedactionContext, Redactor, restore
from agent.redaction.vault import ConversationKey, InMemoryVault


def test_same_value_same_placeholder_across_turns(redactor: Redactor) -> None:
    ctx = RedactionContext(ConversationKey(1, 1))
    first = redactor.redact("Hola, soy Lucía Pérez, mi móvil es 612 345 678", ctx)
    second = redactor.redact("Lucía Pérez otra vez, el 612345678 sigue igual. Mi amiga Ana Gómez viene", ctx)
    assert first.text == "Hola, soy <PERSON_1>, mi móvil es <PHONE_NUMBER_1>"
    assert "<PERSON_1> otra vez, el <PHONE_NUMBER_1>" in second.text
    assert "<PERSON_2>" in second.text
    third = redactor.redact("lucía llega tarde", ctx)  # the first name alone is the same person
    assert third.text == "<PERSON_1> llega tarde"


def test_entities_carry_type_span_placeholder(redactor: Redactor) -> None:
    text = "my email is ana@example.com"
    red = redactor.redact(text, RedactionContext(ConversationKey(1, 2)))
    (entity,) = red.entities
    assert (entity.type, text[entity.start : entity.end], entity.placeholder) == (
        "EMAIL_ADDRESS",
        "ana@example.com",
        "<EMAIL_ADDRESS_1>",
    )


def test_conversations_are_numbered_separately(redactor: Redactor) -> None:
    a = RedactionContext(ConversationKey(1, 10))
    b = RedactionContext(ConversationKey(1, 11))
    assert redactor.redact("soy Marta Ruiz", a).text == "soy <PERSON_1>"
    assert redactor.redact("soy Pedro Sanz", b).text == "soy <PERSON_1>"
    assert redactor.restore("Hola <PERSON_1>", a).text == "Hola Marta Ruiz"
    assert redactor.restore("Hola <PERSON_1>", b).text == "Hola Pedro Sanz"
    other_tenant = ConversationKey(2, 10)
    assert redactor.restore("Hola <PERSON_1>", other_tenant).unknown == ("<PERSON_1>",)


def test_restore_tolerates_case_and_reports_unknown(redactor: Redactor) -> None:
    ctx = RedactionContext(ConversationKey(1, 20))
    redactor.redact("I'm Grace Okafor, call +44 7911 123456", ctx)
    out = redactor.restore(
        "Thanks <person_1>! We'll call < Phone_Number_1 >. <PERSON_7> and <EMAIL_ADDRESS_1> unknown", ctx
    )
    assert (
        out.text == "Thanks Grace Okafor! We'll call +447911123456. <PERSON_7> and <EMAIL_ADDRESS_1> unknown"
    )
    assert out.unknown == ("<PERSON_7>", "<EMAIL_ADDRESS_1>")
    assert out.restored == 2


def test_redact_then_restore_round_trip(redactor: Redactor) -> None:
    ctx = RedactionContext(ConversationKey(1, 21))
    text = "Hallo, ich heiße Jürgen Weber, IBAN DE89 3704 0044 0532 0130 00, Tel. 030 12345678"
    red = redactor.redact(text, ctx)
    assert "Jürgen" not in red.text and "3704" not in red.text and "12345678" not in red.text
    back = redactor.restore(red.text, ctx).text
    assert "Jürgen Weber" in back and "DE89370400440532013000" in back and "03012345678" in back


def test_existing_placeholders_in_text_are_left_alone(redactor: Redactor) -> None:
    ctx = RedactionContext(ConversationKey(1, 22))
    assert redactor.redact("Hola <PERSON_3>, ¿qué tal?", ctx).text == "Hola <PERSON_3>, ¿qué tal?"


def test_concurrent_turns_agree_on_placeholders() -> None:
    vault = InMemoryVault()
    conv = ConversationKey(1, 30)
    values = [f"Person {i}" for i in range(40)]
    barrier = threading.Barrier(8)

    def turn(worker: int) -> dict[str, str]:
        barrier.wait()
        order = list(values) if worker % 2 else list(reversed(values))
        return {v: vault.assign(conv, "PERSON", v) for v in order}

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(turn, range(8)))
    assert all(r == results[0] for r in results)
    assert sorted(results[0].values(), key=lambda p: int(p[8:-1])) == [f"<PERSON_{i}>" for i in range(1, 41)]


def test_entries_expire() -> None:
    vault = InMemoryVault(ttl=timedelta(minutes=5))
    conv = ConversationKey(1, 40)
    vault.assign(conv, "PERSON", "Ana")
    assert restore("<PERSON_1>", conv, vault).text == "Ana"
    assert vault.purge_expired(datetime.now(UTC) + timedelta(minutes=6)) == 1
    assert restore("<PERSON_1>", conv, vault).unknown == ("<PERSON_1>",)
