"""Row-level security on the real PostgreSQL: the database itself keeps tenants apart."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from store.identity import new_contact
from store.models import Contact, Conversation
from store.repo import providers


@pytest.fixture
def two_tenants(postgres_db, make_tenant):
    a = make_tenant(postgres_db, "tenant-a")
    b = make_tenant(postgres_db, "tenant-b")
    for tid, wa in ((a, "111"), (b, "222")):
        with postgres_db.tenant_session(tid) as s:
            contact = new_contact(postgres_db.keyring, tid, wa, consent_source=wa)  # a marker in clear
            s.add_all([contact, Conversation(tenant_id=tid, contact_id=contact.id)])
        with postgres_db.admin_session() as s:
            providers.set_provider(s, postgres_db.keyring, tid, "openai", api_key=f"key-{tid}")
    return postgres_db, a, b


def test_app_connects_as_a_role_that_cannot_bypass_rls(postgres_db):
    with postgres_db.app_session() as s:
        role, bypass, superuser = s.execute(
            text("SELECT current_user, rolbypassrls, rolsuper FROM pg_roles WHERE rolname = current_user")
        ).one()
    assert (role, bypass, superuser) == ("frontdesk_app", False, False)


def test_without_the_tenant_setting_queries_return_nothing(two_tenants):
    db, _, _ = two_tenants
    with db.app_session() as s:
        for table in ("contacts", "conversations", "provider_settings"):
            assert s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
        assert s.scalars(select(Contact)).all() == []


def test_a_query_that_forgets_the_tenant_sees_only_its_own(two_tenants):
    db, a, b = two_tenants
    with db.tenant_session(a) as s:
        rows = s.execute(text("SELECT tenant_id, consent_source FROM contacts")).all()  # no WHERE tenant_id
        assert rows == [(a, "111")]
        assert s.execute(text("SELECT count(*) FROM provider_settings")).scalar_one() == 1
        # updates and deletes of B's rows touch nothing
        assert (
            s.execute(
                text("UPDATE contacts SET consent_source = 'x' WHERE tenant_id = :b"), {"b": b}
            ).rowcount
            == 0
        )
        assert s.execute(text("DELETE FROM conversations WHERE tenant_id = :b"), {"b": b}).rowcount == 0
    with db.tenant_session(b) as s:
        assert s.execute(text("SELECT consent_source FROM contacts")).scalars().all() == ["222"]
        assert s.execute(text("SELECT count(*) FROM conversations")).scalar_one() == 1


def test_tenant_a_cannot_write_rows_for_b(two_tenants):
    db, a, b = two_tenants
    with pytest.raises(ProgrammingError, match="row-level security"), db.tenant_session(a) as s:
        s.add(new_contact(db.keyring, b, "999"))
        s.flush()


def test_the_tenant_setting_does_not_leak_between_transactions(two_tenants):
    db, a, _ = two_tenants
    with db.tenant_session(a) as s:
        assert s.execute(text("SELECT count(*) FROM contacts")).scalar_one() == 1
    # the pooled connection is reused: the setting was transaction-local
    with db.app_session() as s:
        assert s.execute(text("SELECT count(*) FROM contacts")).scalar_one() == 0


def _sees_only_its_own(sql, a, b):
    """Tenant ``a``'s connection reads only a's contact and cannot update b's."""
    assert sql.execute(text("SELECT tenant_id, consent_source FROM contacts")).all() == [(a, "111")]
    update = text("UPDATE contacts SET consent_source = 'x' WHERE tenant_id = :b")
    assert sql.execute(update, {"b": b}).rowcount == 0


def test_a_tenant_connection_sees_only_its_tenant_and_leaves_no_setting_behind(two_tenants):
    db, a, b = two_tenants
    with db.tenant_connection(a) as sql:
        _sees_only_its_own(sql, a, b)
    with db.tenant_connection(b) as sql:
        assert sql.execute(text("SELECT consent_source FROM contacts")).scalars().all() == ["222"]
    with db.app_session() as s:  # the same pooled connection, the next transaction
        assert s.execute(text("SELECT count(*) FROM contacts")).scalar_one() == 0


def test_a_tenant_connection_without_flush_is_pinned_and_leaves_no_setting_behind(two_tenants):
    db, a, b = two_tenants
    with db.tenant_connection(a, flush=False) as sql:
        assert sql.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
        _sees_only_its_own(sql, a, b)
        sql.execute(text("UPDATE contacts SET consent_source = 'a2'"))
    with db.tenant_connection(a) as sql:  # committed, and the next transaction flushes again
        assert sql.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
        assert sql.execute(text("SELECT consent_source FROM contacts")).scalars().all() == ["a2"]
    with db.app_session() as s:
        assert s.execute(text("SELECT count(*) FROM contacts")).scalar_one() == 0
