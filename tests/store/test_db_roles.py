"""The application's database role, attacked: SQL run as the application (a leaked database
password, an injection) must not reach another tenant's rows nor rewrite the tenants table."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from errors import DatabaseError
from store.db import Database
from store.models import Contact, Conversation
from store.roles import ensure_app_login, scram_verifier


@pytest.fixture
def two_tenants(postgres_db: Database, make_tenant: Any) -> tuple[Database, int, int]:
    a, b = make_tenant(postgres_db, "tenant-a"), make_tenant(postgres_db, "tenant-b")
    for tid, wa in ((a, "111"), (b, "222")):
        with postgres_db.tenant_session(tid) as s:
            contact = Contact(tenant_id=tid, consent_source=wa)  # a marker in clear
            s.add_all([contact, Conversation(tenant_id=tid, contact_id=contact.id)])
    return postgres_db, a, b


def _visible(s: Any) -> list[str]:
    return list(s.execute(text("SELECT consent_source FROM contacts ORDER BY consent_source")).scalars())


def test_the_app_logs_in_as_a_role_that_is_neither_superuser_nor_bypassrls(postgres_db: Database) -> None:
    with postgres_db.app_session() as s:
        row = s.execute(
            text(
                "SELECT session_user, current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = session_user"
            )
        ).one()
    assert tuple(row) == ("frontdesk_app", "frontdesk_app", False, False)


def test_reset_role_and_set_role_lead_nowhere(two_tenants: tuple[Database, int, int]) -> None:
    db, a, _ = two_tenants
    with db.tenant_session(a) as s:
        s.execute(text("RESET ROLE"))
        assert s.execute(text("SELECT current_user")).scalar() == "frontdesk_app"
        assert _visible(s) == ["111"]
    for attack in (
        "SET ROLE postgres",
        "SELECT set_config('role', 'postgres', false)",
        "SET SESSION AUTHORIZATION postgres",
    ):
        with pytest.raises(DBAPIError, match="permission denied"), db.app_session() as s:
            s.execute(text(attack))


def test_set_config_cannot_name_another_tenant(two_tenants: tuple[Database, int, int]) -> None:
    db, a, b = two_tenants
    forged = [
        str(b),  # the unsigned id the policies used to trust
        db.pin(a).replace(f"{a}.", f"{b}.", 1),  # a's signature on b's id
        f"{b}.t1.{'0' * 64}",
        f"{b}.t1.{db.pin(a).rsplit('.', 1)[1]}",
    ]
    for value in forged:
        with db.tenant_session(a) as s:
            s.execute(text("SELECT set_config('app.tenant_id', :v, true)"), {"v": value})
            assert _visible(s) == []
            assert s.execute(text("SELECT count(*) FROM conversations")).scalar() == 0
        with db.app_session() as s:
            s.execute(text("SELECT set_config('app.tenant_id', :v, false)"), {"v": value})
            assert _visible(s) == []
            s.execute(text("SELECT set_config('app.tenant_id', '', false)"))


def test_a_temporary_pin_keys_table_signs_no_pin(two_tenants: tuple[Database, int, int]) -> None:
    """The session's temporary schema comes before the function's unless named last: a
    temporary ``frontdesk_pin_keys`` must not let the application sign pins of its own."""
    db, _, b = two_tenants
    key_id = db.pin(b).split(".")[1]
    forged = text(
        "SELECT set_config('app.tenant_id', :t || '.' || :k || '.' || encode(sha256('\\x00'::bytea "
        "|| sha256('\\x00'::bytea || convert_to('tenant:' || :t, 'UTF8'))), 'hex'), true)"
    )
    with db.app_session() as s:
        s.execute(text("CREATE TEMPORARY TABLE frontdesk_pin_keys (key_id text, pin_key bytea)"))
        s.execute(text("INSERT INTO frontdesk_pin_keys VALUES (:k, '\\x00'::bytea)"), {"k": key_id})
        s.execute(forged, {"t": str(b), "k": key_id})
        assert s.execute(text("SELECT frontdesk_tenant()")).scalar() is None
        assert _visible(s) == []
        assert list(s.execute(text("SELECT frontdesk_pin_key_ids()")).scalars()) == db.keyring.key_ids[:1]


def test_a_temporary_channels_table_routes_no_number(two_tenants: tuple[Database, int, int]) -> None:
    """The gateway's lookups run as their owner: a temporary ``channels`` made by SQL running as
    the application (and kept by its pooled connection) must not name a number's tenant."""
    db, _, b = two_tenants
    with db.app_session() as s:
        s.execute(
            text(
                "CREATE TEMPORARY TABLE channels (tenant_id bigint, phone_number_id text, waba_id text,"
                " verify_token_digest text, verified_at timestamptz)"
            )
        )
        s.execute(text("INSERT INTO channels VALUES (:b, '999', 'waba-9', 'digest-9', now())"), {"b": b})
        assert s.execute(text("SELECT frontdesk_channel_tenant('999')")).scalar() is None
        assert list(s.execute(text("SELECT frontdesk_waba_tenants('waba-9')")).scalars()) == []
        assert (
            list(s.execute(text("SELECT frontdesk_verify_token_tenants(ARRAY['digest-9'])")).scalars()) == []
        )
    with db.admin_session() as s:
        paths = dict(
            s.execute(
                text(
                    "SELECT proname, array_to_string(proconfig, ',') FROM pg_proc"
                    " WHERE pronamespace = current_schema()::regnamespace AND prosecdef"
                )
            ).all()
        )
    assert paths and all(str(path).endswith(", pg_temp") for path in paths.values()), paths


def test_the_pin_keys_are_out_of_the_apps_reach(postgres_db: Database) -> None:
    with pytest.raises(DBAPIError, match="permission denied"), postgres_db.app_session() as s:
        s.execute(text("SELECT * FROM frontdesk_pin_keys"))


def test_the_app_cannot_delete_insert_or_rewrite_tenants(two_tenants: tuple[Database, int, int]) -> None:
    db, a, b = two_tenants
    for attack in (
        "DELETE FROM tenants",
        f"DELETE FROM tenants WHERE id = {b}",
        "TRUNCATE tenants CASCADE",
        "INSERT INTO tenants (id, slug, name, settings, created_at) VALUES (99, 'x', 'x', '{}', now())",
    ):
        with pytest.raises(DBAPIError, match="permission denied"), db.tenant_session(a) as s:
            s.execute(text(attack))
    with db.app_session() as s:  # no tenant: no row to update
        assert s.execute(text("UPDATE tenants SET name = 'owned'")).rowcount == 0
    with db.tenant_session(a) as s:  # its own row only
        assert s.execute(text("UPDATE tenants SET name = 'owned'")).rowcount == 1
        assert s.execute(text("SELECT count(*) FROM tenants")).scalar() == 1
    with db.admin_session() as s:
        names = {i: n for i, n in s.execute(text("SELECT id, name FROM tenants"))}
    assert names[b] == "tenant-b"
    with db.tenant_session(b) as s:
        assert _visible(s) == ["222"]  # nothing cascaded away


def test_a_superuser_url_is_refused_for_the_application(
    postgres_db: Database, postgres_admin_url: str
) -> None:
    db = Database(postgres_admin_url, postgres_db.keyring, schema=postgres_db.schema)
    try:
        with pytest.raises(DatabaseError, match="superuser"):
            db.check_app()
    finally:
        db.dispose()


def test_cross_tenant_work_goes_through_narrow_functions(two_tenants: tuple[Database, int, int]) -> None:
    db, _, _ = two_tenants
    with db.app_session() as s:
        for function in ("frontdesk_stranded_mailboxes(now(), 10)", "frontdesk_due_outbox(now(), now(), 10)"):
            assert s.execute(text(f"SELECT count(*) FROM {function}")).scalar() == 0
        assert s.execute(text("SELECT frontdesk_purge_expired_vault(now())")).scalar() == 0


def test_checkpoints_of_one_tenant_are_out_of_another_tenants_reach(
    two_tenants: tuple[Database, int, int], pg_checkpoints: Any
) -> None:
    from agent.graphs.receptionist.graph import thread_id

    db, a, b = two_tenants
    store = pg_checkpoints()
    checkpoint = {
        "v": 1,
        "id": "1",
        "ts": "2026-01-01T00:00:00+00:00",
        "channel_values": {"x": "secret-b"},
        "channel_versions": {},
        "versions_seen": {},
        "pending_sends": [],
    }

    async def scenario() -> tuple[Any, Any]:
        b_thread = {"configurable": {"thread_id": thread_id(b, 1), "checkpoint_ns": ""}}
        async with store.saver(b) as saver:
            await saver.aput(b_thread, checkpoint, {}, {})
            own = await saver.aget_tuple(b_thread)
        async with store.saver(a) as saver:  # a run of tenant a asks for b's thread
            stolen = await saver.aget_tuple(b_thread)
        return own, stolen

    own, stolen = asyncio.run(scenario())
    assert own is not None and stolen is None
    with db.app_session() as s:  # plain SQL as the application: no pin, no thread
        assert s.execute(text("SELECT count(*) FROM checkpoints")).scalar() == 0
        s.execute(text("SELECT set_config('app.tenant_id', :v, true)"), {"v": str(b)})
        assert s.execute(text("SELECT count(*) FROM checkpoints")).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM frontdesk_checkpoint_threads()")).scalar() == 1
    with db.tenant_session(b) as s:
        assert s.execute(text("SELECT count(*) FROM checkpoints")).scalar() == 1
    assert asyncio.run(store.prune()) == 1


def test_migrate_gives_the_app_role_a_password_shown_once(
    postgres_db: Database, postgres_admin_url: str
) -> None:
    owner_db = Database(postgres_admin_url, postgres_db.keyring, schema=postgres_db.schema)
    try:
        url = ensure_app_login(owner_db)
    finally:
        owner_db.dispose()
    assert url is not None and url.startswith("postgresql+psycopg://frontdesk_app:")
    assert ensure_app_login(postgres_db) is None  # already the app's login: nothing to show
    verifier = scram_verifier("pw", salt=b"0" * 16)
    assert verifier.startswith("SCRAM-SHA-256$4096:MDAwMDAwMDAwMDAwMDAwMA==$")
