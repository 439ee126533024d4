"""The operator CLI through typer's runner, and once as a real subprocess."""

import json
import os
import sqlite3
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from frontdesk.cli import app


@pytest.fixture
def env(cli_env):
    return cli_env


def run(*args, stdin=None):
    return CliRunner().invoke(app, list(args), input=stdin)


COUNTS = (
    "SELECT count(*) FROM tenants UNION ALL SELECT count(*) FROM provider_settings UNION ALL "
    "SELECT count(*) FROM users UNION ALL SELECT count(*) FROM channels"
)


def rows(path, sql):
    return sqlite3.connect(path).execute(sql).fetchall()


def test_tenant_lifecycle_and_provider_key_from_stdin(env):
    assert run("migrate").exit_code == 0
    result = run("tenants", "create", "clinic-a", "--name", "Clínica A")
    assert result.exit_code == 0, result.output
    result = run(
        "tenants",
        "set-provider",
        "clinic-a",
        "--provider",
        "openai",
        "--model",
        "gpt-4o-mini",
        stdin="sk-TOPSECRET\n",
    )
    assert result.exit_code == 0, result.output
    assert "sk-TOPSECRET" not in result.output and '"api_key": "***"' in result.output
    raw = rows(env / "fd.db", "SELECT * FROM provider_settings")
    assert raw and "sk-TOPSECRET" not in repr(raw)
    listed = run("tenants", "list", "--json")
    (row,) = json.loads(listed.output)
    assert row == {
        "slug": "clinic-a",
        "name": "Clínica A",
        "created_at": row["created_at"],
        "provider": "openai",
        "model": "gpt-4o-mini",
        "last_error": None,
        "last_error_at": None,
    }


def test_users_create_prints_the_token_once(env):
    run("tenants", "create", "clinic-a")
    result = run("users", "create", "--tenant", "clinic-a", "--role", "supervisor")
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("fdk_") and len(token) > 40
    assert token not in repr(rows(env / "fd.db", "SELECT * FROM users"))


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["tenants", "create", "Not A Slug"], None, "invalid slug"),
        (["tenants", "set-provider", "clinic-a", "--provider", "skynet"], "k\n", "unknown provider"),
        (["tenants", "set-provider", "nope", "--provider", "openai"], "k\n", "no tenant"),
        (["tenants", "set-provider", "clinic-a", "--provider", "openai"], "\n", "needs an API key"),
        (["users", "create", "--tenant", "clinic-a", "--role", "god"], None, "unknown role"),
        (
            [
                "channels",
                "add",
                "--tenant",
                "clinic-a",
                "--phone-number-id",
                "1234",
                "--waba-id",
                "not digits",
            ],
            "app-secret-1\naccess-token-1\nverify-me-1\n",
            "WhatsApp Business Account id (--waba-id)",
        ),
        (
            [
                "channels",
                "add",
                "--tenant",
                "clinic-a",
                "--phone-number-id",
                "12 34",
            ],
            "app-secret-1\naccess-token-1\nverify-me-1\n",
            "(--phone-number-id)",
        ),
        (
            [
                "channels",
                "add",
                "--tenant",
                "clinic-a",
                "--phone-number-id",
                "1234",
            ],
            "short\naccess-token-1\nverify-me-1\n",
            "(read from standard input)",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(env, args, stdin, message):
    run("tenants", "create", "clinic-a")
    before = rows(env / "fd.db", COUNTS)
    result = run(*args, stdin=stdin)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    after = rows(env / "fd.db", COUNTS)
    assert before == after


def test_duplicate_slug(env):
    assert run("tenants", "create", "clinic-a").exit_code == 0
    result = run("tenants", "create", "clinic-a")
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert rows(env / "fd.db", "SELECT count(*) FROM tenants") == [(1,)]


def test_production_refuses_to_start_without_a_master_key(env, monkeypatch):
    monkeypatch.delenv("FRONTDESK_MASTER_KEYS")
    monkeypatch.setenv("FRONTDESK_ENV", "production")
    result = run("tenants", "create", "clinic-a")
    assert result.exit_code == 2 and "FRONTDESK_MASTER_KEYS" in result.stderr
    assert not (env / "fd.db").exists()


def test_development_creates_a_private_key_file(env, monkeypatch):
    monkeypatch.delenv("FRONTDESK_MASTER_KEYS")
    result = run("tenants", "create", "clinic-a")
    assert result.exit_code == 0
    key_file = env / "var" / "master.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert str(key_file.relative_to(env)) in result.stderr


def test_unreachable_database(env, monkeypatch):
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = run("tenants", "create", "clinic-a")
    assert result.exit_code == 2 and "cannot reach the database" in result.stderr


def test_rotate_with_a_new_key_keeps_secrets_readable(env, monkeypatch):
    monkeypatch.delenv("FRONTDESK_MASTER_KEYS")
    run("tenants", "create", "clinic-a")
    run("tenants", "set-provider", "clinic-a", "--provider", "gemini", stdin="AIza-secret\n")
    result = run("keys", "rotate", "--new-key")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rotated"] == {"provider_settings": 1}
    from frontdesk.wiring import open_database
    from store.repo import providers, tenants

    db = open_database()
    with db.admin_session() as s:
        tid = tenants.get_by_slug(s, "clinic-a").id
        assert providers.get(s, db.keyring, tid).api_key.reveal() == "AIza-secret"


def test_real_subprocess(env):
    cmd = [sys.executable, "-m", "frontdesk.cli"]
    done = subprocess.run(
        [*cmd, "tenants", "create", "garage"], capture_output=True, text=True, env=os.environ, timeout=60
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [*cmd, "tenants", "set-provider", "garage", "--provider", "anthropic"],
        input="sk-ant-XYZ\n",
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=60,
    )
    assert done.returncode == 0 and "sk-ant-XYZ" not in done.stdout + done.stderr
    done = subprocess.run(
        [*cmd, "tenants", "create", "garage"], capture_output=True, text=True, env=os.environ, timeout=60
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1


def test_redact_streams_json_lines(env):
    lines = "Soy Ana Pérez, mi teléfono es 612 345 678\nAna vendrá el martes a las 10:00\n"
    result = run("redact", "--lang", "auto", stdin=lines)
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert "Ana" not in first["text"] and "612" not in first["text"]
    assert {e["type"] for e in first["entities"]} >= {"PERSON", "PHONE_NUMBER"}
    assert set(first["entities"][0]) == {"type", "start", "end", "placeholder"}
    person = next(e["placeholder"] for e in first["entities"] if e["type"] == "PERSON")
    assert second["text"].startswith(person) and "martes a las 10:00" in second["text"]


def test_redact_rejects_an_unknown_language(env):
    result = run("redact", "--lang", "fr", stdin="hola\n")
    assert result.exit_code == 2


def test_migrate_says_what_it_applied(env):
    first = run("migrate")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("applied ") and "0001" in first.stdout
    again = run("migrate")
    assert again.exit_code == 0 and "nothing applied" in again.stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:hunter2@db/frontdesk", "unsupported database 'mysql'"),
        ("not a url", "invalid database URL"),
    ],
)
def test_an_unsupported_database_url_is_one_line(env, monkeypatch, url, message):
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", url)
    monkeypatch.delenv("FRONTDESK_MASTER_KEYS")
    for args in (["migrate"], ["tenants", "list"]):
        result = subprocess.run(
            [sys.executable, "-m", "frontdesk.cli", *args], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 2
        assert (
            result.stderr.strip()
            == f"frontdesk: error: {message}: use sqlite:///PATH or postgresql+psycopg://USER@HOST/NAME"
            or (message in result.stderr and len(result.stderr.strip().splitlines()) == 1)
        ), result.stderr
        assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
    assert not (env / "var").exists()  # no development key was created for nothing
