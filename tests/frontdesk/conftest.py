"""A fresh embedded default for CLI tests: its own folder, SQLite file and master key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from store.crypto import Keyring


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No FRONTDESK_/LANGFUSE_ variable of the caller's shell leaks in."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("FRONTDESK_", "LANGFUSE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", f"sqlite:///{tmp_path}/fd.db")
    monkeypatch.setenv("FRONTDESK_MASTER_KEYS", Keyring.new_key_spec("k1"))
    return tmp_path
