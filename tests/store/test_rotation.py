from sqlalchemy import text

from store.crypto import Keyring
from store.db import Database
from store.identity import new_contact, number_digest, number_of
from store.models import Contact, Message
from store.repo import channels, providers
from store.rotation import rotate
from store.sealed import seal, unseal


def test_rotation_keeps_everything_readable_under_the_new_key(any_db, make_tenant):
    tid = make_tenant(any_db, "clinic")
    with any_db.admin_session() as s:
        providers.set_provider(s, any_db.keyring, tid, "anthropic", api_key="sk-ant-1")
        channel = channels.add(
            s,
            any_db.keyring,
            tid,
            phone_number_id="123",
            verify_token="verify-token",
            app_secret="app-secret",
            access_token="access-token",
        )
        channels.activate(s, channel)
    with any_db.tenant_session(tid) as s:
        from store.models import Conversation

        contact = new_contact(any_db.keyring, tid, "1")
        conv = Conversation(tenant_id=tid, contact_id=contact.id)
        msg = Message(tenant_id=tid, conversation_id=conv.id, direction="in", author="customer")
        seal(any_db.keyring, msg, "body_ciphertext", "hola")
        s.add_all([contact, conv, msg])

    new_keyring = any_db.keyring.with_new_key("t2")
    admin_url = any_db.admin_engine.url.render_as_string(hide_password=False)
    rotated_db = Database(
        any_db.url.render_as_string(hide_password=False),
        new_keyring,
        admin_url=admin_url,
        schema=any_db.schema,
    )
    try:
        report = rotate(rotated_db, batch_size=1)
        # the contact's blind index is rewritten; its data stays under its data key, re-wrapped
        assert report.rotated == {"provider_settings": 1, "channels": 1, "messages": 1, "contacts": 1}
        assert report.rewrapped_data_keys == 1
        assert rotate(rotated_db).total == 0  # idempotent

        only_new = Keyring.from_spec(new_keyring.to_spec().split(",")[0])  # the old key retired
        retired_db = Database(
            any_db.url.render_as_string(hide_password=False),
            only_new,
            admin_url=admin_url,
            schema=any_db.schema,
        )
        with retired_db.admin_session() as s:
            assert providers.get(s, only_new, tid).api_key.reveal() == "sk-ant-1"
            channel = channels.by_phone_number_id(s, "123")
            assert channels.secrets_of(only_new, channel).verify_token.reveal() == "verify-token"
            assert channel.verify_token_digest == only_new.blind_index("verify-token")
            assert unseal(only_new, s.get(Message, msg.id), "body_ciphertext") == "hola"
            stored = s.get(Contact, contact.id)
            assert stored is not None and number_of(retired_db.keyring, stored) == "1"
            assert stored.wa_id_digest == number_digest(only_new, "1")
            tokens = s.execute(text("SELECT api_key_ciphertext FROM provider_settings")).scalars().all()
            assert all(t.startswith("t2.") for t in tokens)
        retired_db.dispose()
    finally:
        rotated_db.dispose()
