"""`frontdesk audit verify` finds the newest entries deleted, through the anchor outside the table."""

import sqlite3

import pytest
from typer.testing import CliRunner

from frontdesk.cli import app
from frontdesk.wiring import open_database
from store import audit
from store.repo import tenants


@pytest.fixture
def env(cli_env):
    return cli_env


def run(*args):
    return CliRunner().invoke(app, list(args))


def _five_entries() -> int:
    db = open_database()
    with db.admin_session() as session:
        tenant = tenants.create(session, "acme").id
    for i in range(5):
        audit.append_in(db, tenant, actor="admin:1", action="config.changed", details={"i": i})
    db.dispose()
    return tenant


def _delete_newest(path, tenant):
    connection = sqlite3.connect(path)
    connection.execute("DROP TRIGGER audit_log_append_only_delete")  # someone holding the file
    connection.execute("DELETE FROM audit_log WHERE tenant_id = ? AND seq > 3", (tenant,))
    connection.commit()


@pytest.mark.parametrize("anchor", ["file", "redis"])
def test_deleting_the_newest_entries_makes_verify_exit_1(env, anchor, request, monkeypatch):
    if anchor == "redis":
        monkeypatch.setenv("FRONTDESK_REDIS_URL", request.getfixturevalue("redis_url"))
    assert run("migrate").exit_code == 0
    tenant = _five_entries()
    ok = run("audit", "verify")
    assert ok.exit_code == 0 and "intact" in ok.output
    if anchor == "file":
        assert list((env / "var" / "audit-anchor").iterdir())
    _delete_newest(env / "fd.db", tenant)
    broken = run("audit", "verify", "--tenant", "acme")
    assert broken.exit_code == 1
    lines = broken.output.strip().splitlines()
    assert len(lines) == 1 and "truncated" in lines[0] and "seq 5" in lines[0]
    if anchor == "redis":
        import redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        db = open_database()
        client.delete(f"frontdesk:audit-anchor:{audit_scope(db)}")


def audit_scope(db):
    from store.audit_anchor import scope_of

    return scope_of(db.url, db.schema)


def test_migrate_anchors_chains_written_before_the_anchor(env):
    assert run("migrate").exit_code == 0
    tenant = _five_entries()
    anchor_dir = env / "var" / "audit-anchor"
    for path in anchor_dir.rglob("*"):
        if path.is_file():
            path.unlink()
    assert run("migrate").exit_code == 0  # anchors today's heads
    _delete_newest(env / "fd.db", tenant)
    assert run("audit", "verify").exit_code == 1
