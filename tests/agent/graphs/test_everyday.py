"""Everyday answers through real turns: hours not set, no substituted item, when the team is
back after hours, and the conversation's language kept across short messages."""

from datetime import UTC, datetime

import pytest

import knowledge
from agent.checkpoints import CheckpointStore
from agent.receptionist import Receptionist
from agent.redaction.redactor import Redactor
from agent.redaction.sql_vault import SqlVault
from store.repo import providers, tenants
from tests.agent.graphs.conftest import CLINIC_KB, SETTINGS, use_provider
from textnorm import detect_language

BAKERY_KB = """# Panadería Lola

## Precios

- Pan sin gluten: 3,50 €
- Croissant: 1,20 €

## Horario

Abrimos de lunes a sábado de 8:00 a 14:00.
"""
SATURDAY_NIGHT = datetime(2026, 12, 5, 19, 30, tzinfo=UTC)  # 20:30 in Madrid, closed until Monday
TUESDAY_MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 11:00 in Madrid, open


def make_tenant(db, slug, settings, kb, provider="extractive"):
    with db.admin_session() as s:
        tenant = tenants.create(s, slug, slug.title(), settings=settings)
        if provider == "extractive":
            providers.set_provider(s, db.keyring, tenant.id, "extractive")
    knowledge.ingest(db, tenant.id, f"{slug}.md", kb.encode())
    return tenant.id


@pytest.fixture
def at(sqlite_db, nlp, tmp_path):
    """A receptionist whose clock reads the given moment."""

    def make(now):
        return Receptionist(
            sqlite_db,
            redactor=Redactor(SqlVault(sqlite_db), nlp=nlp),
            checkpoints=CheckpointStore(f"sqlite:///{tmp_path}/checkpoints-{now:%H%M}.db"),
            now=lambda: now,
        )

    return make


# --- 5. hours not set --------------------------------------------------------------------


def test_unset_hours_answer_from_the_knowledge_base_never_closed(sqlite_db, at, turn):
    bakery = make_tenant(sqlite_db, "lola", {"timezone": "Europe/Madrid"}, BAKERY_KB)
    out = at(SATURDAY_NIGHT).run(turn(bakery, "¿A qué hora abrís el sábado?"))
    assert not out.handoff
    assert "8:00 a 14:00" in out.reply
    assert "cerrado" not in out.reply.lower()


def test_unset_hours_tool_says_not_configured_and_brings_the_passages(sim, sqlite_db, at, turn):
    bakery = make_tenant(sqlite_db, "lola", {"timezone": "Europe/Madrid"}, BAKERY_KB, provider="openai")
    use_provider(sqlite_db, bakery, sim)
    sim.add_rule("abiert|horario", tool="business_hours", after_tool="Según lo que sé: {result}")
    out = at(SATURDAY_NIGHT).run(turn(bakery, "¿Estáis abiertos ahora?"))
    tool_results = [m for r in sim.requests for m in r.body.get("messages", []) if m.get("role") == "tool"]
    assert tool_results, "the model called business_hours"
    content = tool_results[0]["content"]
    assert "not configured" in content and "8:00 a 14:00" in content
    assert "CLOSED" not in content and "CERRADOS" not in content and "CERRADOS" not in out.reply


# --- 6. the asked item, not another ------------------------------------------------------


@pytest.mark.parametrize(
    "question", ["how much is an empanada?", "¿cuánto cuesta una empanada?", "Was kostet eine Empanada?"]
)
def test_extractive_never_answers_with_another_items_price(sqlite_db, at, turn, question):
    bakery = make_tenant(sqlite_db, "lola", {"timezone": "Europe/Madrid"}, BAKERY_KB)
    out = at(TUESDAY_MORNING).run(turn(bakery, question))
    assert "3,50" not in out.reply and "1,20" not in out.reply
    assert out.handoff or out.reply.rstrip().endswith("?")


def test_extractive_still_answers_the_asked_item(sqlite_db, at, turn):
    bakery = make_tenant(sqlite_db, "lola", {"timezone": "Europe/Madrid"}, BAKERY_KB)
    out = at(TUESDAY_MORNING).run(turn(bakery, "¿Cuánto cuesta el pan sin gluten?"))
    assert "3,50 €" in out.reply and not out.handoff


# --- 7. after hours, say when the team is back -------------------------------------------


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("Quiero hablar con una persona, por favor", "el lunes a las 09:00"),
        ("I want to talk to a human please", "on Monday at 09:00"),
        ("Posso falar com um atendente, por favor?", "na segunda-feira às 09:00"),
        ("Ich möchte bitte mit einem Mitarbeiter sprechen", "am Montag um 09:00 Uhr"),
    ],
)
def test_out_of_hours_handoff_says_when_the_team_is_back(sqlite_db, at, turn, text, back):
    clinic = make_tenant(sqlite_db, "clinic", SETTINGS, CLINIC_KB)
    out = at(SATURDAY_NIGHT).run(turn(clinic, text))
    assert out.handoff and back in out.reply
    assert "shortly" not in out.reply and "en breve" not in out.reply


def test_handoff_in_opening_hours_keeps_the_usual_wording(sqlite_db, at, turn):
    clinic = make_tenant(sqlite_db, "clinic", SETTINGS, CLINIC_KB)
    out = at(TUESDAY_MORNING).run(turn(clinic, "Quiero hablar con una persona, por favor"))
    assert out.handoff and "en breve" in out.reply and "cerrados" not in out.reply


def test_out_of_hours_wording_is_the_tenants_own(sqlite_db, at, turn):
    settings = SETTINGS | {"messages": {"handoff_closed": {"es": "Volvemos {when}. ¡Gracias!"}}}
    clinic = make_tenant(sqlite_db, "clinic", settings, CLINIC_KB)
    out = at(datetime(2026, 12, 1, 19, 0, tzinfo=UTC)).run(turn(clinic, "Quiero hablar con una persona"))
    assert out.reply.endswith("Volvemos mañana a las 09:00. ¡Gracias!")


# --- 8. short messages keep the conversation's language ----------------------------------


@pytest.mark.parametrize("word", ["perfecto", "no", "ok", "thanks"])
def test_a_one_word_message_keeps_the_conversations_language(sqlite_db, at, turn, word):
    settings = SETTINGS | {"default_language": "en"}
    clinic = make_tenant(sqlite_db, "clinic", settings, CLINIC_KB)
    receptionist = at(TUESDAY_MORNING)
    first = receptionist.run(turn(clinic, "Hola, ¿cuánto cuesta una limpieza dental?"))
    assert first.language == "es" and "45 €" in first.reply
    out = receptionist.run(turn(clinic, word))
    assert out.language == "es"
    assert detect_language(out.reply, "en") == "es", out.reply


def test_a_new_conversation_with_a_short_message_uses_the_tenants_language(sqlite_db, at, turn):
    clinic = make_tenant(sqlite_db, "clinic", SETTINGS, CLINIC_KB)  # default_language es
    out = at(TUESDAY_MORNING).run(turn(clinic, "ok"))
    assert out.language == "es" and "asistente de IA" in out.reply


def test_a_full_sentence_in_another_language_switches(sqlite_db, at, turn):
    clinic = make_tenant(sqlite_db, "clinic", SETTINGS, CLINIC_KB)
    receptionist = at(TUESDAY_MORNING)
    receptionist.run(turn(clinic, "Hola, ¿cuánto cuesta una limpieza dental?"))
    out = receptionist.run(turn(clinic, "Sorry, I don't speak Spanish. How much is a filling?"))
    assert out.language == "en"
