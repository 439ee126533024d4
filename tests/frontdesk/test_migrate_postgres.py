"""`frontdesk migrate` on PostgreSQL: run as the owner, it gives the application its login role."""

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from frontdesk.cli import app
from store.crypto import Keyring
from tests.conftest import POSTGRES_APP_URL


@pytest.fixture
def schema_url(postgres_admin_url, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("FRONTDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDESK_MASTER_KEYS", Keyring.new_key_spec("k1"))
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{postgres_admin_url}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.mark.skipif(bool(POSTGRES_APP_URL), reason="would change the password of the configured app role")
def test_migrate_prints_the_app_url_once_and_the_app_runs_under_it(schema_url, monkeypatch):
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", schema_url)  # the old single-URL setup
    first = CliRunner().invoke(app, ["migrate"])
    assert first.exit_code == 0, first.output
    line = next(x for x in first.output.splitlines() if x.startswith("FRONTDESK_DATABASE_URL="))
    app_url = line.partition("=")[2]
    assert app_url.startswith("postgresql+psycopg://frontdesk_app:") and "search_path" in app_url
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", app_url)
    again = CliRunner().invoke(app, ["migrate", "--admin-url", schema_url])
    assert again.exit_code == 0 and "FRONTDESK_DATABASE_URL=" not in again.output
    # operator commands without the owner's URL: one clear line, nothing written
    refused = CliRunner().invoke(app, ["tenants", "create", "acme"])
    assert refused.exit_code == 2 and "FRONTDESK_DATABASE_ADMIN_URL" in refused.output
    monkeypatch.setenv("FRONTDESK_DATABASE_ADMIN_URL", schema_url)
    assert CliRunner().invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    from frontdesk.wiring import open_database

    db = open_database()
    try:
        db.check_app()
        with db.app_session() as s:
            assert s.execute(text("SELECT current_user")).scalar() == "frontdesk_app"
            assert s.execute(text("SELECT count(*) FROM tenants")).scalar() == 0
    finally:
        db.dispose()
