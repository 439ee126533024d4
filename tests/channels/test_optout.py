"""Opt-out and opt-in keywords per language, negative examples, and the consent record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.optout import (
    LANGUAGES,
    apply_consent,
    consent_confirmation,
    detect_consent_command,
    may_be_consent_command,
    unsupported_reply,
)
from store.identity import new_contact
from store.models import ConsentEvent, Contact

OPT_OUT = [
    "STOP",
    "stop",
    "Stop.",
    " stop!! ",
    "🛑 STOP",
    "STOP por favor",
    "please stop",
    "unsubscribe",
    "Opt-out",
    "BAJA",
    "baja",
    "Darme de baja",
    "PARAR",
    "cancelar",
    "No más mensajes",
    "SAIR",
    "Pare",
    "Não quero mais mensagens",
    "ABMELDEN",
    "Stopp",
    "abbestellen bitte",
    "ARRÊT",
    "arret",
    "Désabonner",
    "cancellami",
    "DISISCRIVIMI",
]
OPT_IN = ["START", "start", "Alta", "ALTA por favor", "VOLTAR", "ANMELDEN", "démarrer", "iscrivimi", "UNSTOP"]
NEITHER = [
    "no pares de llamar",
    "can I stop by tomorrow?",
    "stop calling me at night please, only mornings",
    "la baja de mi hijo",
    "baja el precio",
    "start time?",
    "alta calidad",
    "quiero sair mais cedo",
    "Hola",
    "",
    "   ",
    "🙂",
    "fin",  # only with a language hint
    "stop " * 20,
]


@pytest.mark.parametrize("text", OPT_OUT)
def test_opt_out_words(text: str) -> None:
    assert detect_consent_command(text) == "opt_out"


@pytest.mark.parametrize("text", OPT_IN)
def test_opt_in_words(text: str) -> None:
    assert detect_consent_command(text) == "opt_in"


@pytest.mark.parametrize("text", NEITHER)
def test_normal_sentences_are_not_commands(text: str) -> None:
    assert detect_consent_command(text) is None


def test_only_commands_in_some_language_may_be_commands() -> None:
    assert all(may_be_consent_command(text) for text in [*OPT_OUT, *OPT_IN, "FIN", "basta", "Ende!"])
    assert not any(may_be_consent_command(text) for text in NEITHER if text != "fin")


def test_language_hint_enables_ambiguous_words() -> None:
    assert detect_consent_command("FIN", lang_hint="es") == "opt_out"
    assert detect_consent_command("Fin.", lang_hint="fr-FR") == "opt_out"
    assert detect_consent_command("basta", lang_hint="it") == "opt_out"
    assert detect_consent_command("basta", lang_hint="en") is None
    assert detect_consent_command("STOP", lang_hint="de") == "opt_out"


NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)


class FakeSession:
    def __init__(self) -> None:
        self.added: list[object] = []

    def add(self, row: object) -> None:
        self.added.append(row)


def test_apply_consent_records_changes_with_timestamps() -> None:
    contact = Contact(tenant_id=1, opted_out=False)
    session = FakeSession()
    assert apply_consent(session, contact, "opt_out", NOW)  # type: ignore[arg-type]
    assert (contact.opted_out, contact.opted_out_at, contact.consent_source) == (True, NOW, "keyword")
    assert not apply_consent(session, contact, "opt_out", LATER)  # type: ignore[arg-type]
    assert contact.opted_out_at == NOW
    assert apply_consent(session, contact, "opt_in", LATER, source="whatsapp_preferences")  # type: ignore[arg-type]
    assert (contact.opted_out, contact.opted_in_at, contact.consent_source) == (
        False,
        LATER,
        "whatsapp_preferences",
    )
    assert contact.opted_out_at == NOW  # the history of the last opt-out stays
    assert not apply_consent(session, contact, "opt_in", LATER)  # type: ignore[arg-type]
    events = [row for row in session.added if isinstance(row, ConsentEvent)]
    assert [row for row in session.added if row is contact] == [contact, contact]
    assert [(e.kind, e.source, e.at) for e in events] == [  # one consent record per change
        ("opt_out", "keyword", NOW),
        ("opt_in", "whatsapp_preferences", LATER),
    ]


def test_apply_consent_refuses_naive_time() -> None:
    with pytest.raises(ValueError):
        apply_consent(FakeSession(), Contact(tenant_id=1), "opt_out", datetime(2025, 1, 1))  # type: ignore[arg-type]


def test_apply_consent_on_a_real_database(sqlite_db, make_tenant) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(sqlite_db, "acme")
    with sqlite_db.tenant_session(tenant) as session:
        contact = new_contact(sqlite_db.keyring, tenant, "34600000001")
        session.add(contact)
        session.flush()
        apply_consent(session, contact, "opt_out", NOW)
        contact_id = contact.id
    with sqlite_db.tenant_session(tenant) as session:
        stored = session.get(Contact, contact_id)
        assert stored is not None and stored.opted_out and stored.opted_out_at == NOW


@pytest.mark.parametrize("lang", LANGUAGES)
def test_texts_exist_in_every_language(lang: str) -> None:
    texts = {
        consent_confirmation("opt_out", lang),
        consent_confirmation("opt_in", lang),
        unsupported_reply(lang),
    }
    assert len(texts) == 3 and all(texts)
    # Each confirmation names a word that really undoes it.
    out_text = consent_confirmation("opt_out", lang)
    assert any(detect_consent_command(w.strip(".,!")) == "opt_in" for w in out_text.split() if w.isupper())
    in_text = consent_confirmation("opt_in", lang)
    assert any(detect_consent_command(w.strip(".,!")) == "opt_out" for w in in_text.split() if w.isupper())


def test_texts_fall_back_to_english() -> None:
    assert unsupported_reply("ja") == unsupported_reply("en")
    assert consent_confirmation("opt_out", None) == consent_confirmation("opt_out", "en_US")
    assert unsupported_reply("pt_BR") == unsupported_reply("pt")
