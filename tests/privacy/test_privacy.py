"""Export, erasure that reaches backups (crypto-shredding), retention and consent, on SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text

import knowledge.models  # noqa: F401  (its tables are in the metadata too)
from store.audit import verify_chain
from store.crypto import DecryptionError
from store.db import Database
from store.models import AuditEntry, Base, ConsentEvent, Message, TraceErasure, WebhookEvent
from store.privacy import CUSTOMER_TABLES, NO_CUSTOMER_DATA, export_contact
from store.sealed import unseal
from tests.privacy.conftest import World, _span
from workers import privacy
from workers.privacy import thread_id

CUSTOMER_COLUMNS = ("contact_id", "conversation_id", "wa_id", "bsuid", "phone", "recipient", "customer")
BUSINESS_NUMBERS = {"channels.phone_number_id", "channels.display_phone_number"}
"""The business's own WhatsApp number, not a customer's."""


def test_every_table_has_export_and_erasure_rules() -> None:
    """A new table that names a customer, without rules here, fails this test."""
    for name, table in Base.metadata.tables.items():
        columns = [c.name for c in table.columns if f"{name}.{c.name}" not in BUSINESS_NUMBERS]
        named = any(c.startswith(CUSTOMER_COLUMNS) for c in columns)
        assert (name in CUSTOMER_TABLES) != (name in NO_CUSTOMER_DATA), f"{name}: needs exactly one rule"
        if named and name not in CUSTOMER_TABLES:
            assert name == "audit_log", f"{name} names a customer ({columns}) but has no erasure rule"
        for column in columns:  # identifiers only as blind indexes or sealed
            if column.startswith(("wa_id", "bsuid", "phone")):
                assert column.endswith(("_digest", "_ciphertext")), (
                    f"{name}.{column} would hold a number in clear"
                )


def _texts(document: dict[str, Any]) -> list[str]:
    return [m["text"] for c in document["conversations"] for m in c["messages"]]


def test_export_is_complete(world: World) -> None:
    document = privacy.export_customer(world.services, world.tenant_id, world.ana.contact_id, actor="test")
    assert document["contact"]["wa_id"] == world.ana.wa_id and document["contact"]["profile_name"] == "Ana"
    assert document["contact"]["opted_out"] is True
    texts = _texts(document)
    assert {"Hola, soy Ana A", "Quiero una cita A", "STOP"} <= set(texts)
    conversation = document["conversations"][0]
    message = conversation["messages"][0]
    assert {"author", "at", "status", "direction"} <= set(message)
    assert conversation["notes"][0]["text"] == "VIP customer A"
    assert conversation["turns"][0]["handoff_summary"] == "Customer: cita A"
    assert "ANA" in conversation["redaction_vault"][0]["value"].upper()  # the vault's stored form
    assert any("Claro A" in (o["text"] or "") for o in conversation["outbox_unsent"])
    kinds = {(e["kind"], e["source"]) for e in document["consent_events"]}
    assert ("disclosure", "agent") in kinds and ("opt_out", "keyword") in kinds
    opt_out = next(e for e in document["consent_events"] if e["kind"] == "opt_out")
    assert opt_out["wording"] and opt_out["at"]  # the words the customer was shown, and when
    assert any(e["kind"] == "edit" and e["payload"] for e in document["webhook_events"])
    actions = {a["action"] for a in document["audit"]}
    assert {"message.received", "consent.opt_out", "conversation.note"} <= actions
    blob = json.dumps(document)
    assert "Beto" not in blob and world.beto.wa_id not in blob and "cita B" not in blob
    with world.db.tenant_session(world.tenant_id) as session:  # the export itself is audited
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        assert last.action == "privacy.exported" and "Ana" not in json.dumps(last.details)


def _backup(world: World, where: Path) -> Any:
    """A copy of the database as a backup would take it (file copy; pg_dump of the schema)."""
    db = world.db
    if not db.is_postgres:
        with db.admin_engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert db.url.database is not None
        copy = where / "backup.db"
        shutil.copyfile(db.url.database, copy)
        return copy
    url = db.admin_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--schema", str(db.schema), url],
        check=True,
        capture_output=True,
    ).stdout
    copy = where / "backup.sql"
    copy.write_bytes(dump)
    return copy


def _restore(world: World, backup: Path) -> Database:
    """The backup restored, opened with the same master key and key store as the live system."""
    db = world.db
    if not db.is_postgres:
        return Database(f"sqlite:///{backup}", db.keyring)
    schema = f"r_{uuid.uuid4().hex[:12]}"
    dump = (
        backup.read_text()
        .replace(f"{db.schema}.", f"{schema}.")
        .replace(f"SCHEMA {db.schema}", f"SCHEMA {schema}")
    )
    url = db.admin_engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input=dump.encode(), check=True, capture_output=True
    )
    admin = db.admin_engine.url.render_as_string(hide_password=False)
    return Database(db.url.render_as_string(hide_password=False), db.keyring, admin_url=admin, schema=schema)


def _rows_of(db: Database, contact_id: int, conversation_ids: list[int]) -> dict[str, int]:
    """Rows left anywhere that belong to the customer."""
    left: dict[str, int] = {}
    with db.admin_engine.connect() as connection:
        for name, table in Base.metadata.tables.items():
            clauses = []
            if "contact_id" in table.c:
                clauses.append(table.c.contact_id == contact_id)
            if "conversation_id" in table.c:
                clauses.append(table.c.conversation_id.in_(conversation_ids))
            if name == "contacts":
                clauses.append(table.c.id == contact_id)
            if name == "conversations":
                clauses.append(table.c.id.in_(conversation_ids))
            if name == "worker_leases":
                clauses.append(table.c.key.in_([f"conv:{c}" for c in conversation_ids]))
            if not clauses:
                continue
            from sqlalchemy import func, or_

            count = connection.execute(select(func.count()).select_from(table).where(or_(*clauses))).scalar()
            if count:
                left[name] = int(count)
    return left


def test_erasure_reaches_every_store_and_the_backups(world: World, tmp_path: Path) -> None:
    db, ana, beto = world.db, world.ana, world.beto
    _span(world.capture, world.project, "a" * 32, f"{world.slug}:{ana.conversation_id}", "u-a")
    _span(world.capture, world.project, "b" * 32, f"{world.slug}:{beto.conversation_id}", "u-b")
    backup = _backup(world, tmp_path)
    assert ana.wa_id.encode() not in backup.read_bytes()  # never in clear, even before the erasure
    assert beto.wa_id.encode() not in backup.read_bytes()

    result = privacy.erase_customer(world.services, world.tenant_id, ana.contact_id, actor="test")

    assert result["data_key_destroyed"] and result["deleted"]["messages"] >= 3
    assert result["deleted"]["checkpoint_threads"] == 1 and result["traces"]["done"] == 1
    assert _rows_of(db, ana.contact_id, [ana.conversation_id]) == {}
    with db.admin_session() as session:
        assert not session.scalars(
            select(WebhookEvent).where(WebhookEvent.contact_id == ana.contact_id)
        ).all()
    threads = asyncio.run(world.checkpoints.threads())
    assert thread_id(world.tenant_id, ana.conversation_id) not in threads
    assert thread_id(world.tenant_id, beto.conversation_id) in threads
    assert world.capture.traces(world.project.public_key) == {"b" * 32}  # only Ana's trace went
    assert verify_chain(db).ok
    with db.tenant_session(world.tenant_id) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.erased")).one()
        assert entry.subject == f"contact:{ana.contact_id}"
        assert ana.wa_id not in json.dumps(entry.details) and "Ana" not in json.dumps(entry.details)
    other = export_contact(db, world.tenant_id, beto.contact_id)  # the other customer is intact
    assert {"Hola, soy Beto B", "Quiero una cita B"} <= set(_texts(other))
    assert other["conversations"][0]["notes"][0]["text"] == "VIP customer B"

    restored = _restore(world, backup)
    try:
        with restored.admin_session() as session:
            rows = session.scalars(
                select(Message).where(Message.conversation_id == ana.conversation_id)
            ).all()
            assert rows, "the backup still has the rows"
            for row in rows:  # but none of them can be read: the data key is gone
                with pytest.raises(DecryptionError):
                    unseal(restored.keyring, row, "body_ciphertext")
        assert {"Hola, soy Beto B"} <= set(_texts(export_contact(restored, world.tenant_id, beto.contact_id)))
    finally:
        restored.dispose()


def test_trace_erasure_is_queued_and_retried_while_langfuse_is_down(world: World) -> None:
    ana = world.ana
    _span(world.capture, world.project, "c" * 32, f"{world.slug}:{ana.conversation_id}", "u-c")
    world.capture.api_down = True
    result = privacy.erase_customer(world.services, world.tenant_id, ana.contact_id, actor="test")
    assert result["traces"] == {"done": 0, "retry": 1, "traces": 0}
    assert "c" * 32 in world.capture.traces()
    with world.db.admin_session() as session:
        queued = session.scalars(select(TraceErasure)).one()
        assert queued.status == "pending" and queued.attempts == 1 and "503" in (queued.last_error or "")
        assert ana.wa_id not in json.dumps(queued.session_ids + queued.user_ids)
        due = queued.next_attempt_at
    assert privacy.process_traces(world.services) == {"done": 0, "retry": 0, "traces": 0}  # not due yet
    world.capture.api_down = False
    assert privacy.process_traces(world.services, now=due + timedelta(seconds=1))["done"] == 1
    assert "c" * 32 not in world.capture.traces()


def test_retention_purges_exactly_what_expired(world: World) -> None:
    db, now = world.db, world.gw.clock.now  # the webhook stored messages at this time
    with db.admin_session() as session:
        from store import retention

        retention.set_policy(session, world.tenant_id, {"messages": 10, "webhook_events": 5}, actor="test")
    with db.tenant_session(world.tenant_id) as session:
        ids = list(
            session.scalars(select(Message.id).where(Message.conversation_id == world.beto.conversation_id))
        )
        old, young = ids[0], ids[1]
        session.execute(
            text("UPDATE messages SET created_at = :at WHERE id = :id"),
            {"at": now - timedelta(days=11), "id": old},
        )
        session.execute(
            text("UPDATE messages SET created_at = :at WHERE id = :id"),
            {"at": now - timedelta(days=9), "id": young},
        )
        session.execute(text("UPDATE webhook_events SET received_at = :at"), {"at": now - timedelta(days=6)})
        events = len(session.scalars(select(WebhookEvent.id)).all())
    dry = privacy.purge(world.services, now=now, dry_run=True)
    counts = dry.tenants[[t.tenant_id for t in dry.tenants].index(world.tenant_id)].counts
    assert counts["messages"] == 1 and counts["webhook_events"] == events
    with db.tenant_session(world.tenant_id) as session:
        assert session.get(Message, old) is not None  # a dry run deletes nothing
    report = privacy.purge(world.services, now=now)
    assert report.totals()["messages"] == 1
    with db.tenant_session(world.tenant_id) as session:
        assert session.get(Message, old) is None and session.get(Message, young) is not None
        assert not session.scalars(select(WebhookEvent.id)).all()
        purged = select(AuditEntry).where(
            AuditEntry.action == "privacy.purged", AuditEntry.tenant_id == world.tenant_id
        )
        entry = session.scalars(purged).one()
        assert entry.details["deleted"]["messages"] == 1
    assert verify_chain(db).ok


def test_retention_refuses_unknown_types_and_values_below_the_minimum(world: World) -> None:
    headers = world.gw.a.auth("admin")
    client = world.gw.client
    assert (
        client.put("/api/settings/retention", json={"days": {"audit": 1}}, headers=headers).status_code == 400
    )
    assert (
        client.put("/api/settings/retention", json={"days": {"messages": 0}}, headers=headers).status_code
        == 400
    )
    assert (
        client.put("/api/settings/retention", json={"days": {"nope": 3}}, headers=headers).status_code == 400
    )
    done = client.put("/api/settings/retention", json={"days": {"messages": 30}}, headers=headers)
    assert done.status_code == 200 and done.json()["days"]["messages"] == 30
    got = client.get("/api/settings/retention", headers=headers).json()
    assert got["days"]["messages"] == 30 and got["days"]["turns"] == got["defaults"]["turns"]


def test_admin_api_finds_exports_records_consent_and_erases(world: World) -> None:
    client, headers, ana = world.gw.client, world.gw.a.auth("admin"), world.ana
    assert (
        client.post(
            "/api/contacts/lookup", json={"wa_id": ana.wa_id}, headers=world.gw.a.auth("agent")
        ).status_code
        == 403
    )
    found = client.post("/api/contacts/lookup", json={"wa_id": "+34 600 111 222"}, headers=headers)
    assert found.status_code == 200 and found.json()["contact_id"] == ana.contact_id
    other_tenant = client.post(
        "/api/contacts/lookup", json={"wa_id": ana.wa_id}, headers=world.gw.b.auth("admin")
    )
    assert other_tenant.status_code == 200 and other_tenant.json()["contact_id"] is None, other_tenant.text
    assert (
        client.get(f"/api/contacts/{ana.contact_id}/export", headers=world.gw.b.auth("admin")).status_code
        == 404
    )
    opted = client.post(
        f"/api/contacts/{ana.contact_id}/consent",
        json={"action": "opt_in", "wording": "¿Podemos escribirte por WhatsApp?", "language": "es"},
        headers=headers,
    )
    assert opted.status_code == 200 and opted.json()["opted_out"] is False
    exported = client.get(f"/api/contacts/{ana.contact_id}/export", headers=headers)
    assert exported.status_code == 200
    events = exported.json()["consent_events"]
    given = [e for e in events if e["source"] == "api"]
    assert [(e["kind"], e["wording"]) for e in given] == [("opt_in", "¿Podemos escribirte por WhatsApp?")]
    erased = client.delete(f"/api/contacts/{ana.contact_id}", headers=headers)
    assert erased.status_code == 200 and erased.json()["data_key_destroyed"] is True
    assert client.get(f"/api/contacts/{ana.contact_id}/export", headers=headers).status_code == 404
    with world.db.tenant_session(world.tenant_id) as session:
        assert not session.scalars(
            select(ConsentEvent).where(ConsentEvent.contact_id == ana.contact_id)
        ).all()
    assert verify_chain(world.db).ok


def test_keystore_file_is_private_and_outside_the_database(world: World) -> None:
    if world.db.is_postgres:
        schemas = inspect(world.db.admin_engine).get_schema_names()
        assert f"{world.db.schema}_keys" in schemas  # a schema of its own, not in the app's dump
        return
    database = Path(str(world.db.url.database))
    keys = database.parent / "keys.db"
    assert keys.exists() and (keys.stat().st_mode & 0o777) == 0o600
    assert "data_keys" not in inspect(world.db.admin_engine).get_table_names()
