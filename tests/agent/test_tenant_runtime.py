"""The per-process tenant runtime cache: a settings change is seen within a second by every
process, one tenant's settings or key never serve another, and an unchanged tenant costs
at most one small statement a second."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select

from agent.tenant_runtime import TenantRuntimes
from store.db import Database
from store.models import ProviderSetting, Tenant
from store.repo import providers


def _version(db: Database, tenant_id: int) -> int:
    with db.admin_session() as session:
        return session.scalars(select(Tenant.settings_version).where(Tenant.id == tenant_id)).one()


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    """The statements SQLAlchemy sends on the application's engine meanwhile."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _another_process(db: Database) -> Database:
    """A second Database on the same data: its own engines and pools, as another worker has."""
    url = db.url.render_as_string(hide_password=False)
    return Database(url, db.keyring, schema=db.schema)


def test_every_settings_write_bumps_the_version(any_db: Any, make_tenant: Any) -> None:
    tenant, other = make_tenant(any_db, "clinic"), make_tenant(any_db, "bakery")
    seen = [_version(any_db, tenant)]
    with any_db.admin_session() as session:
        session.get(Tenant, tenant).settings = {"tone": "warm"}
    seen.append(_version(any_db, tenant))
    with any_db.admin_session() as session:
        providers.set_provider(session, any_db.keyring, tenant, "openai", api_key="sk-one")
    seen.append(_version(any_db, tenant))
    with any_db.admin_session() as session:
        providers.set_provider(session, any_db.keyring, tenant, "openai", api_key="sk-two")
    seen.append(_version(any_db, tenant))
    with any_db.admin_session() as session:
        session.delete(
            session.scalars(select(ProviderSetting).where(ProviderSetting.tenant_id == tenant)).one()
        )
    seen.append(_version(any_db, tenant))
    assert seen == sorted(set(seen)), seen  # strictly increasing: every write bumped it
    assert _version(any_db, other) == 1


def test_a_change_reaches_another_process_within_a_second(any_db: Any, make_tenant: Any) -> None:
    tenant = make_tenant(any_db, "clinic", "Clínica Sol")
    with any_db.admin_session() as session:
        providers.set_provider(session, any_db.keyring, tenant, "openai", model="gpt-a", api_key="sk-old")
    worker = _another_process(any_db)
    try:
        runtimes = TenantRuntimes(worker)
        before = runtimes.get(tenant)
        assert (before.provider.model, before.keys(worker.keyring)[0]) == ("gpt-a", "sk-old")
        with any_db.admin_session() as session:
            providers.set_provider(session, any_db.keyring, tenant, "openai", model="gpt-b", api_key="sk-new")
            session.get(Tenant, tenant).name = "Clínica Luna"
        changed = time.monotonic()
        while (now := runtimes.get(tenant)).version == before.version:
            assert time.monotonic() - changed < 1.2, "the change was not seen within a second"
            time.sleep(0.02)
        assert (now.provider.model, now.keys(worker.keyring)[0]) == ("gpt-b", "sk-new")
        assert now.profile.business_name == "Clínica Luna"
    finally:
        worker.dispose()


def test_tenants_never_share_settings_or_keys(any_db: Any, make_tenant: Any) -> None:
    a, b = make_tenant(any_db, "clinic"), make_tenant(any_db, "bakery")
    with any_db.admin_session() as session:
        providers.set_provider(session, any_db.keyring, a, "openai", model="gpt-a", api_key="sk-a")
        providers.set_provider(session, any_db.keyring, b, "anthropic", model="claude-b", api_key="sk-b")
        providers.set_provider(
            session, any_db.keyring, b, "openai", model="gpt-b", api_key="sk-b2", slot="fallback"
        )
    runtimes = TenantRuntimes(any_db)
    for _ in range(2):  # loaded, then from memory
        first, second = runtimes.get(a), runtimes.get(b)
        assert (first.tenant_id, first.slug, first.provider.model) == (a, "clinic", "gpt-a")
        assert first.keys(any_db.keyring) == ("sk-a", None) and first.provider.fallback is None
        assert (second.tenant_id, second.slug, second.provider.model) == (b, "bakery", "claude-b")
        assert second.keys(any_db.keyring) == ("sk-b", "sk-b2")
    assert "sk-" not in repr(first) + repr(second)


def test_an_unchanged_tenant_costs_one_small_statement_a_second(any_db: Any, make_tenant: Any) -> None:
    tenant = make_tenant(any_db, "clinic")
    now = [100.0]
    runtimes = TenantRuntimes(any_db, clock=lambda: now[0])
    first = runtimes.get(tenant)
    with _statements(any_db) as statements:
        now[0] += 0.5
        assert runtimes.get(tenant) is first and statements == []
        now[0] += 0.6
        assert runtimes.get(tenant) is first
        assert [s for s in statements if "settings_version" in s] and len(statements) <= 2  # + pin
        with any_db.admin_session() as session:
            session.get(Tenant, tenant).settings = {"tone": "brief"}
        assert runtimes.get(tenant) is first  # trusted for a second
        now[0] += 1.0
        assert runtimes.get(tenant).profile.tone == "brief"


def test_a_version_read_with_the_turn_replaces_the_check(any_db: Any, make_tenant: Any) -> None:
    """A worker's turn reads the version with the turn: no statement of its own while it
    matches, and a newer one is loaded at once (not a second later)."""
    tenant = make_tenant(any_db, "clinic")
    now = [100.0]
    runtimes = TenantRuntimes(any_db, clock=lambda: now[0])
    first = runtimes.get(tenant)
    with _statements(any_db) as statements:
        now[0] += 5.0  # past the revalidation: the version given stands in for the check
        assert runtimes.get(tenant, version=first.version) is first and statements == []
        with any_db.admin_session() as session:
            session.get(Tenant, tenant).settings = {"tone": "brief"}
        changed = runtimes.get(tenant, version=_version(any_db, tenant))  # no second's wait
        assert changed.version > first.version and changed.profile.tone == "brief"
        assert runtimes.get(tenant, version=first.version) is changed  # an older read: still current
