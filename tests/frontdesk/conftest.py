"""A fresh embedded default for CLI tests: its own folder, SQLite file and master key."""

from __future__ import annotations

from pathlib import Path

import pytest

from store.crypto import Keyring


@pytest.fixture
def cli_env(embedded: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The embedded default with its own SQLite file and master key."""
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", f"sqlite:///{embedded}/fd.db")
    monkeypatch.setenv("FRONTDESK_MASTER_KEYS", Keyring.new_key_spec("k1"))
    return embedded
