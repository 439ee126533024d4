"""Round trips of the foundation's models on SQLite and on the real PostgreSQL."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from errors import Conflict, NotFound, UserError
from store.crypto import DecryptionError
from store.identity import new_contact
from store.models import Contact, Conversation, Message, OutboxItem
from store.repo import channels, providers, tenants, users
from store.sealed import seal, unseal


def test_tenant_round_trip_and_bad_slugs(any_db):
    with any_db.admin_session() as s:
        tenants.create(s, "clinic-a", "Clinic A", settings={"timezone": "Europe/Madrid"})
    with any_db.admin_session() as s:
        t = tenants.get_by_slug(s, "clinic-a")
        assert (t.name, t.settings["timezone"]) == ("Clinic A", "Europe/Madrid")
        assert t.created_at.tzinfo is not None
        with pytest.raises(Conflict):
            tenants.create(s, "clinic-a")
        for bad in ["", "Clinic", "a b", "-x", "x-", "a" * 64, "ü"]:
            with pytest.raises(UserError):
                tenants.create(s, bad)
        with pytest.raises(NotFound):
            tenants.get_by_slug(s, "nope")


def test_conversation_message_outbox_round_trip(any_db, make_tenant):
    tid = make_tenant(any_db, "garage")
    with any_db.tenant_session(tid) as s:
        contact = new_contact(any_db.keyring, tid, "34600111222")
        seal(any_db.keyring, contact, "profile_name_ciphertext", "María López")
        conv = Conversation(tenant_id=tid, contact_id=contact.id)
        msg = Message(
            tenant_id=tid, conversation_id=conv.id, direction="in", author="customer", wa_message_id="wamid.1"
        )
        seal(any_db.keyring, msg, "body_ciphertext", "¿Abren el sábado?")
        out = OutboxItem(
            tenant_id=tid, conversation_id=conv.id, idempotency_key="turn-1", epoch=0, body_ciphertext=""
        )
        seal(any_db.keyring, out, "body_ciphertext", "Sí, de 9 a 14.")
        s.add_all([contact, conv, msg, out])
    with any_db.tenant_session(tid) as s:
        conv = s.scalars(select(Conversation)).one()
        assert (conv.mode, conv.epoch) == ("bot", 0)
        msg = s.scalars(select(Message)).one()
        assert unseal(any_db.keyring, msg, "body_ciphertext") == "¿Abren el sábado?"
        assert (
            unseal(any_db.keyring, s.scalars(select(Contact)).one(), "profile_name_ciphertext")
            == "María López"
        )
        raw = s.execute(text("SELECT body_ciphertext FROM messages")).scalar_one()
        assert "sábado" not in raw and raw.startswith("t1.")
    with any_db.tenant_session(tid) as s:  # WhatsApp message ids are unique per tenant
        s.add(
            Message(
                tenant_id=tid,
                conversation_id=conv.id,
                direction="in",
                author="customer",
                wa_message_id="wamid.1",
            )
        )
        with pytest.raises(Exception, match=r"(?i)unique"):
            s.flush()
        s.rollback()


def test_provider_key_is_never_stored_in_plaintext(any_db, make_tenant):
    tid = make_tenant(any_db, "bakery")
    with any_db.admin_session() as s:
        providers.set_provider(
            s, any_db.keyring, tid, "openai", model="gpt-4o-mini", api_key="sk-PLAINTEXT-42"
        )
    with any_db.admin_session() as s:
        raw = s.execute(text("SELECT * FROM provider_settings")).all()
        assert "sk-PLAINTEXT-42" not in repr(raw)
        config = providers.get(s, any_db.keyring, tid)
        assert config.api_key is not None and config.api_key.reveal() == "sk-PLAINTEXT-42"
        assert "sk-PLAINTEXT-42" not in repr(config)
        assert providers.describe(s, tid)[0]["api_key"] == "***"


def test_provider_validation(sqlite_db, make_tenant):
    tid = make_tenant(sqlite_db, "x")
    with sqlite_db.admin_session() as s:
        with pytest.raises(UserError, match="unknown provider"):
            providers.set_provider(s, sqlite_db.keyring, tid, "skynet", api_key="k")
        with pytest.raises(UserError, match="needs an API key"):
            providers.set_provider(s, sqlite_db.keyring, tid, "anthropic")
        with pytest.raises(UserError, match="base URL"):
            providers.set_provider(s, sqlite_db.keyring, tid, "openai-compatible", base_url="ftp://x")
        providers.set_provider(
            s, sqlite_db.keyring, tid, "openai-compatible", base_url="http://127.0.0.1:11434/v1"
        )


def test_ciphertext_moved_to_another_row_does_not_decrypt(any_db, make_tenant):
    tid = make_tenant(any_db, "clinic")
    with any_db.admin_session() as s:
        a = channels.add(
            s,
            any_db.keyring,
            tid,
            phone_number_id="111",
            verify_token="verify-1",
            app_secret="secret-a",
            access_token="token-aaa",
        )
        b = channels.add(
            s,
            any_db.keyring,
            tid,
            phone_number_id="222",
            verify_token="verify-2",
            app_secret="secret-b",
            access_token="token-bbb",
        )
        channels.activate(s, a)
        b.app_secret_ciphertext = a.app_secret_ciphertext  # an attacker with table access swaps them
    with any_db.admin_session() as s:
        moved = channels.by_phone_number_id(s, "222")
        assert moved is not None
        with pytest.raises(DecryptionError):
            channels.secrets_of(any_db.keyring, moved)
        assert channels.tenant_of_phone_number_id(s, "111") == tid


def test_user_tokens_are_hashed(any_db, make_tenant):
    tid = make_tenant(any_db, "clinic")
    with any_db.admin_session() as s:
        created = users.create(s, tid, "agent", "Ana")
        token = created.token.reveal()
        with pytest.raises(UserError):
            users.create(s, tid, "overlord")
    with any_db.app_session() as s:
        assert users.tenant_of_token(s, token) == tid
        assert users.tenant_of_token(s, token + "x") is None
    with any_db.tenant_session(tid) as s:
        assert token not in repr(s.execute(text("SELECT * FROM users")).all())
        user = users.by_token(s, token)
        assert user is not None and user.role == "agent" and user.last_used_at is not None


def test_naive_datetimes_are_refused(sqlite_db, make_tenant):
    tid = make_tenant(sqlite_db, "x")
    with pytest.raises(Exception, match="naive"), sqlite_db.tenant_session(tid) as s:
        s.add(new_contact(sqlite_db.keyring, tid, "1", opted_out_at=datetime(2026, 1, 1)))
        s.flush()
    with sqlite_db.tenant_session(tid) as s:
        s.add(new_contact(sqlite_db.keyring, tid, "1", opted_out_at=datetime(2026, 1, 1, tzinfo=UTC)))
