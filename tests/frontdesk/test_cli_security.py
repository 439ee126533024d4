"""The operator CLI keeps secrets off the command line and local files private."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from channels.fake_cloud_api import FakeCloudApi
from frontdesk.cli import app
from store.crypto import Keyring


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("FRONTDESK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRONTDESK_MASTER_KEYS", Keyring.new_key_spec("k1"))
    return tmp_path


def run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=stdin)


def query(path: Path, sql: str) -> list[Any]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def test_the_embedded_defaults_files_are_private(env: Path) -> None:
    umask = os.umask(0o022)
    try:
        assert run("tenants", "create", "clinic-a").exit_code == 0
    finally:
        os.umask(umask)
    var = env / "var"
    assert var.stat().st_mode & 0o777 == 0o700
    for name in ("frontdesk.db", "checkpoints.db", "broker.db"):
        assert (var / name).stat().st_mode & 0o777 == 0o600, name
    for journal in var.glob("frontdesk.db-*"):
        assert journal.stat().st_mode & 0o077 == 0, journal
    (var / "frontdesk.db").chmod(0o644)  # made by an older version
    assert run("tenants", "list").exit_code == 0
    assert (var / "frontdesk.db").stat().st_mode & 0o777 == 0o600


def test_the_verify_token_is_read_from_stdin_never_from_arguments(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = FakeCloudApi().start()  # the access tokens prove they own the numbers
    graph.register("1234", "access-token")
    graph.register("5678", "access-token-2")
    monkeypatch.setenv("FRONTDESK_WHATSAPP_GRAPH_URL", graph.base_url)
    run("tenants", "create", "clinic-a")
    base = ["channels", "add", "--tenant", "clinic-a", "--phone-number-id", "1234"]
    refused = run(*base, "--verify-token", "vt-SECRET-9", stdin="app-secret\naccess-token\n")
    assert refused.exit_code == 2 and "vt-SECRET-9" not in refused.output
    assert "standard input" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert query(env / "var" / "frontdesk.db", "SELECT count(*) FROM channels") == [(0,)]
    missing = run(*base, stdin="app-secret\naccess-token\n")
    assert missing.exit_code == 2 and "verify token" in missing.stderr
    added = run(*base, stdin="app-secret\naccess-token\nvt-SECRET-9\n")
    assert added.exit_code == 0, added.output
    assert "vt-SECRET-9" not in added.output
    from frontdesk.wiring import open_database
    from store.models import Channel
    from store.repo.channels import secrets_of

    db = open_database()
    with db.admin_session() as session:
        (channel,) = session.query(Channel).all()
        assert secrets_of(db.keyring, channel).verify_token.reveal() == "vt-SECRET-9"
    # the option name still works as "read it from standard input"
    again = run(*base[:-1], "5678", "--verify-token", "-", stdin="app-secret-2\naccess-token-2\nvt-token-2\n")
    assert again.exit_code == 0, again.output
    graph.stop()


def test_a_token_can_be_given_an_expiry(env: Path) -> None:
    run("tenants", "create", "clinic-a")
    made = run("users", "create", "--tenant", "clinic-a", "--role", "agent", "--expires-in", "30d")
    assert made.exit_code == 0, made.output
    ((expires,),) = query(env / "var" / "frontdesk.db", "SELECT expires_at FROM users")
    at = datetime.fromisoformat(expires).replace(tzinfo=UTC)
    assert abs(at - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    bad = run("users", "create", "--tenant", "clinic-a", "--role", "agent", "--expires-in", "soon")
    assert bad.exit_code == 2 and "invalid duration" in bad.stderr
    assert query(env / "var" / "frontdesk.db", "SELECT count(*) FROM users") == [(1,)]


def test_the_operator_may_point_a_tenant_at_a_local_server(env: Path) -> None:
    run("tenants", "create", "clinic-a")
    done = run(
        "tenants",
        "set-provider",
        "clinic-a",
        "--provider",
        "openai-compatible",
        "--base-url",
        "http://127.0.0.1:11434/v1",
        stdin="\n",
    )
    assert done.exit_code == 0, done.output
    rows = query(env / "var" / "frontdesk.db", "SELECT base_url, base_url_trusted FROM provider_settings")
    assert rows == [("http://127.0.0.1:11434/v1", 1)]
