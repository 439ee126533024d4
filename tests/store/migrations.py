"""A database at an older revision, on SQLite or in a PostgreSQL schema of its own (migration tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store.crypto import Keyring
from store.db import Database, migrate
from tests.conftest import scratch_schema


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
    with scratch_schema(url) as schema:
        db = Database(url, keyring, schema=schema)
        try:
            migrate(db, revision)
            yield db
        finally:
            db.dispose()
