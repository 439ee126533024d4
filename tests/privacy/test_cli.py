"""The reviewers' flow on the embedded default (var/frontdesk.db, var/keys.db): webhook, export,
a copy of the database, erasure, export of the other customer, audit verify, the old copy."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from channels.signature import sign
from frontdesk.cli import app
from frontdesk.settings import load_settings
from frontdesk.wiring import open_database
from gateway.app import create_app
from gateway.services import GatewayServices
from store.crypto import DecryptionError
from store.db import Database
from store.models import Message
from store.repo import channels, tenants
from store.sealed import unseal
from tests.gateway.conftest import TenantFixture, text_message

ANA, BETO = "34600111222", "34600999888"


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _webhooks(db: Database) -> None:
    with db.admin_session() as session:
        tenant_id = tenants.get_by_slug(session, "clinic").id
    with db.tenant_session(tenant_id) as session:
        channel = channels.add(
            session,
            db.keyring,
            tenant_id,
            phone_number_id="1000000001",
            verify_token="verify-token-1",
            app_secret="app-secret-0123456789",
            access_token="EAAG-access",
        )
        channel.waba_id = "2000000001"
        channels.activate(session, channel)
    tenant = TenantFixture(tenant_id, "clinic", "1000000001", "2000000001", "app-secret-0123456789", "v", 0)
    services = GatewayServices(db=db, wake_drain=lambda _t, _c: None, wake_send=lambda _t, _o: None)
    with TestClient(create_app(services)) as client:
        for n, (wa_id, name, text) in enumerate(
            [(ANA, "Ana", "Hola, quiero una cita"), (BETO, "Beto", "¿Abrís el sábado?"), (ANA, "Ana", "STOP")]
        ):
            body = json.dumps(text_message(tenant, text, wa_id=wa_id, name=name, wamid=f"wamid.{n}")).encode()
            headers = {
                "X-Hub-Signature-256": sign(body, tenant.app_secret),
                "Content-Type": "application/json",
            }
            assert client.post("/webhooks/whatsapp", content=body, headers=headers).status_code == 200


def test_the_reviewers_flow_on_the_embedded_default(embedded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("migrate").exit_code == 0
    assert run("tenants", "create", "clinic", "--name", "Clínica").exit_code == 0
    db = open_database(load_settings())
    _webhooks(db)
    var = embedded / "var"
    assert (var / "keys.db").exists() and (var / "keys.db").stat().st_mode & 0o777 == 0o600

    exported = run("privacy", "export", "--tenant", "clinic", "--wa-id", ANA)
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.stdout)
    texts = [m["text"] for c in document["conversations"] for m in c["messages"]]
    assert "Hola, quiero una cita" in texts and "STOP" in texts and BETO not in exported.stdout
    assert document["consent_events"][0]["kind"] == "opt_out"
    written = run("privacy", "export", "--tenant", "clinic", "--wa-id", ANA, "--out", "ana.json")
    assert written.exit_code == 0 and (embedded / "ana.json").stat().st_mode & 0o777 == 0o600

    with db.admin_engine.connect() as connection:  # what a backup of the file would hold
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(var / "frontdesk.db", embedded / "backup.db")
    assert ANA.encode() not in (embedded / "backup.db").read_bytes()

    refused = run("privacy", "erase", "--tenant", "clinic", "--wa-id", ANA)
    assert refused.exit_code == 2 and "--yes" in refused.output
    erased = run("privacy", "erase", "--tenant", "clinic", "--wa-id", ANA, "--yes")
    assert erased.exit_code == 0, erased.output
    result = json.loads(erased.stdout)
    assert result["data_key_destroyed"] and result["deleted"]["messages"] == 2
    again = run("privacy", "export", "--tenant", "clinic", "--wa-id", ANA)
    assert again.exit_code == 2 and len(again.output.strip().splitlines()) == 1
    other = run("privacy", "export", "--tenant", "clinic", "--wa-id", BETO)
    assert other.exit_code == 0 and "¿Abrís el sábado?" in other.stdout
    verified = run("audit", "verify")
    assert verified.exit_code == 0, verified.output

    contact_id = document["contact"]["id"]
    conversation_id = document["conversations"][0]["id"]
    live = sqlite3.connect(var / "frontdesk.db")
    for (table,) in live.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        columns = [c[1] for c in live.execute(f"PRAGMA table_info({table})")]
        for column, value in (("contact_id", contact_id), ("conversation_id", conversation_id)):
            if column in columns:
                count = live.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", (value,)).fetchone()[
                    0
                ]
                assert count == 0, f"{table} keeps rows of the erased customer"
    assert live.execute("SELECT count(*) FROM contacts WHERE id = ?", (contact_id,)).fetchone()[0] == 0
    live.close()

    db.dispose()
    restore = embedded / "restore"  # the old copy restored, with the live key store and keys
    restore.mkdir()
    shutil.copyfile(embedded / "backup.db", restore / "frontdesk.db")
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", f"sqlite:///{restore}/frontdesk.db")
    monkeypatch.setenv("FRONTDESK_KEYSTORE_URL", f"sqlite:///{var}/keys.db")
    shredded = run("privacy", "export", "--tenant", "clinic", "--wa-id", ANA)
    assert shredded.exit_code == 2 and "erased" in shredded.output
    assert "¿Abrís el sábado?" in run("privacy", "export", "--tenant", "clinic", "--wa-id", BETO).stdout
    restored = open_database(load_settings())  # a new process: the same master key and key store
    try:
        with restored.admin_session() as session:
            rows = session.query(Message).filter(Message.conversation_id == conversation_id).all()
            assert len(rows) == 2
            for row in rows:
                with pytest.raises(DecryptionError):
                    unseal(restored.keyring, row, "body_ciphertext")
    finally:
        restored.dispose()


def test_export_of_an_unknown_customer_is_one_line_and_exit_2(embedded: Path) -> None:
    assert run("tenants", "create", "clinic", "--name", "Clínica").exit_code == 0
    result = run("privacy", "export", "--tenant", "clinic", "--wa-id", "34999")
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "no customer" in result.output
    unknown_tenant = run("privacy", "export", "--tenant", "nope", "--wa-id", "34999")
    assert unknown_tenant.exit_code == 2
    assert run("privacy", "purge", "--dry-run").exit_code == 0
    retention = run("privacy", "retention", "--tenant", "clinic", "--set", "messages=90")
    assert retention.exit_code == 0 and json.loads(retention.stdout)["days"]["messages"] == 90
    assert run("privacy", "retention", "--tenant", "clinic", "--set", "audit=10").exit_code == 2
