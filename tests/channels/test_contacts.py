"""Contacts keyed by wa_id and/or BSUID, on the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from channels.contacts import UnknownContact, change_number, find_contact, resolve_contact
from channels.events import ContactRef
from store.identity import bsuid_of, number_of
from store.models import Contact
from store.sealed import unseal
from tests.conftest import app_url_of, scratch_schema


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One migrated database per module (SQLite, and PostgreSQL under row-level security)."""
    from store.crypto import Keyring
    from store.db import Database, migrate

    keyring = Keyring.generate("t1")
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path_factory.mktemp('contacts')}/f.db", keyring)
        migrate(database)
        yield database
        database.dispose()
        return
    url = request.getfixturevalue("postgres_admin_url")
    with scratch_schema(url) as schema:
        database = Database(app_url_of(url), keyring, admin_url=url, schema=schema)
        try:
            migrate(database)
            yield database
        finally:
            database.dispose()


@pytest.fixture
def tenant(db: Any, make_tenant: Any) -> int:
    return make_tenant(db, f"acme-{uuid.uuid4().hex[:8]}")


def test_new_contact_with_both_ids_and_sealed_name(db: Any, tenant: int) -> None:
    ref = ContactRef(wa_id="34600000001", bsuid="US.1", profile_name="Ana")
    with db.tenant_session(tenant) as session:
        contact = resolve_contact(session, db.keyring, tenant, ref)
        assert (number_of(db.keyring, contact), bsuid_of(db.keyring, contact)) == ("34600000001", "US.1")
        assert contact.profile_name_ciphertext and "Ana" not in contact.profile_name_ciphertext
        assert unseal(db.keyring, contact, "profile_name_ciphertext") == "Ana"


def test_phone_then_bsuid_only_find_the_same_contact(db: Any, tenant: int) -> None:
    with db.tenant_session(tenant) as session:
        first = resolve_contact(session, db.keyring, tenant, ContactRef(wa_id="34600000001"))
        both = resolve_contact(session, db.keyring, tenant, ContactRef(wa_id="34600000001", bsuid="US.1"))
        future = resolve_contact(session, db.keyring, tenant, ContactRef(bsuid="US.1"))
        assert first.id == both.id == future.id
        assert bsuid_of(db.keyring, future) == "US.1" and number_of(db.keyring, future) == "34600000001"


def test_bsuid_first_then_number_added(db: Any, tenant: int) -> None:
    with db.tenant_session(tenant) as session:
        first = resolve_contact(session, db.keyring, tenant, ContactRef(bsuid="US.2"))
        again = resolve_contact(session, db.keyring, tenant, ContactRef(wa_id="34600000002", bsuid="US.2"))
        assert first.id == again.id and number_of(db.keyring, again) == "34600000002"
        assert find_contact(session, db.keyring, tenant, ContactRef(wa_id="34600000002")) is again


def test_number_follows_the_person(db: Any, tenant: int) -> None:
    with db.tenant_session(tenant) as session:
        ana = resolve_contact(session, db.keyring, tenant, ContactRef(wa_id="34600000001", bsuid="US.1"))
        moved = resolve_contact(session, db.keyring, tenant, ContactRef(wa_id="34600000009", bsuid="US.1"))
        assert moved.id == ana.id and number_of(db.keyring, moved) == "34600000009"


def test_recycled_number_goes_to_the_new_person(db: Any, tenant: int) -> None:
    with db.tenant_session(tenant) as session:
        old = resolve_contact(session, db.keyring, tenant, ContactRef(wa_id="34600000001", bsuid="US.1"))
        new = resolve_contact(session, db.keyring, tenant, ContactRef(wa_id="34600000001", bsuid="US.99"))
        assert new.id != old.id
        assert (number_of(db.keyring, old), number_of(db.keyring, new), bsuid_of(db.keyring, new)) == (
            None,
            "34600000001",
            "US.99",
        )


def test_tenants_do_not_share_contacts(db: Any, make_tenant: Any) -> None:
    a, b = make_tenant(db, f"a-{uuid.uuid4().hex[:8]}"), make_tenant(db, f"b-{uuid.uuid4().hex[:8]}")
    ref = ContactRef(wa_id="34600000001", bsuid="US.1")
    with db.tenant_session(a) as session:
        in_a = resolve_contact(session, db.keyring, a, ref).id
    with db.tenant_session(b) as session:
        assert find_contact(session, db.keyring, b, ref) is None
        assert resolve_contact(session, db.keyring, b, ref).id != in_a


def test_profile_name_update_and_unknown_sender(db: Any, tenant: int) -> None:
    with db.tenant_session(tenant) as session:
        resolve_contact(session, db.keyring, tenant, ContactRef(wa_id="1", profile_name="Ana"))
        contact = resolve_contact(session, db.keyring, tenant, ContactRef(wa_id="1", profile_name="Ana M."))
        assert unseal(db.keyring, contact, "profile_name_ciphertext") == "Ana M."
        with pytest.raises(UnknownContact):
            resolve_contact(session, db.keyring, tenant, ContactRef(profile_name="nobody"))


def test_change_number(db: Any, tenant: int) -> None:
    with db.tenant_session(tenant) as session:
        contact = resolve_contact(session, db.keyring, tenant, ContactRef(wa_id="972987654321"))
        changed = change_number(session, db.keyring, tenant, "972987654321", "972912345678")
        assert changed is contact and number_of(db.keyring, contact) == "972912345678"
        assert change_number(session, db.keyring, tenant, "000", "111") is None
        assert session.query(Contact).filter(Contact.tenant_id == tenant).count() == 1
