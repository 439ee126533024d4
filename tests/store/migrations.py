"""A database at an older revision, on SQLite or in a PostgreSQL schema of its own (migration tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from store.crypto import Keyring
from store.db import Database, migrate


def database_at(request: pytest.FixtureRequest, tmp_path: Path, revision: str) -> Iterator[Database]:
    """``request.param`` names the backend; the database is migrated up to ``revision``."""
    keyring = Keyring.generate("m1")
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/frontdesk.db", keyring)
        migrate(db, revision)
        yield db
        db.dispose()
        return
    url = request.getfixturevalue("postgres_admin_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(url, keyring, schema=schema)
    try:
        migrate(db, revision)
        yield db
    finally:
        db.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}_keys" CASCADE'))
        admin.dispose()
