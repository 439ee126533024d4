"""``frontdesk channels add`` and ``channels verify``: a number is active only once its access
token proved (against the fake Graph API) that it owns the number and account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from channels.fake_cloud_api import FakeCloudApi
from frontdesk.cli import app
from frontdesk.wiring import open_database
from store.models import AuditEntry, Channel

SECRETS = "app-secret-1\n{token}\nverify-token-1\n"


@pytest.fixture
def graph(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudApi]:
    with FakeCloudApi() as fake:
        monkeypatch.setenv("FRONTDESK_WHATSAPP_GRAPH_URL", fake.base_url)
        yield fake


def run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=stdin)


def add(tenant: str, number: str, token: str, *extra: str) -> Any:
    args = ("channels", "add", "--tenant", tenant, "--phone-number-id", number, *extra)
    return run(*args, stdin=SECRETS.format(token=token))


def _channels() -> list[tuple[str, str, bool]]:
    with open_database().admin_session() as session:
        rows = session.execute(select(Channel.tenant_id, Channel.phone_number_id, Channel.verified_at))
        return [(str(t), n, v is not None) for t, n, v in rows]


def _audit() -> list[tuple[str, str, dict[str, Any]]]:
    with open_database().admin_session() as session:
        return [
            (e.actor, e.action, e.details)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.at))
        ]


def test_a_proven_number_is_connected_active(graph: FakeCloudApi) -> None:
    graph.register("1111", "EAAG-clinic-a", waba_id="9001")
    run("tenants", "create", "clinic-a")
    added = add("clinic-a", "1111", "EAAG-clinic-a", "--waba-id", "9001")
    assert added.exit_code == 0, added.output
    out = json.loads(added.stdout)
    assert out["status"] == "active" and out["access_token"] == "***"
    assert "EAAG-clinic-a" not in added.output
    assert [(actor, action) for actor, action, _ in _audit()] == [("cli", "config.channel_added")]


def test_another_tenants_number_or_account_gets_the_answer_of_any_failed_proof(graph: FakeCloudApi) -> None:
    graph.register("2222", "EAAG-clinic-b", waba_id="9002")
    graph.register("3333", "EAAG-clinic-a", waba_id="9003")
    run("tenants", "create", "clinic-a")
    run("tenants", "create", "clinic-b")
    assert add("clinic-b", "2222", "EAAG-clinic-b", "--waba-id", "9002").exit_code == 0
    theirs = add("clinic-a", "2222", "EAAG-clinic-a")
    unused = add("clinic-a", "4444", "EAAG-clinic-a")
    account = add("clinic-a", "3333", "EAAG-clinic-a", "--waba-id", "9002")
    for refused in (theirs, unused, account):
        assert refused.exit_code == 2, refused.output
        assert len(refused.stderr.strip().splitlines()) == 1
        assert "could not prove" in refused.stderr and "clinic-b" not in refused.stderr
    assert theirs.stderr.replace("2222", "N") == unused.stderr.replace("4444", "N")
    assert [n for _t, n, _v in _channels()] == ["2222"]
    assert ("cli", "config.channel_refused") in [(a, b) for a, b, _ in _audit()]


def test_a_pending_number_is_verified_later(graph: FakeCloudApi) -> None:
    graph.register("5555", "EAAG-clinic-a")
    run("tenants", "create", "clinic-a")
    graph.fail_next(131000)  # Meta: something went wrong
    pending = add("clinic-a", "5555", "EAAG-clinic-a")
    assert pending.exit_code == 1 and json.loads(pending.stdout)["status"] == "pending"
    assert "channels verify --tenant clinic-a --phone-number-id 5555" in pending.stderr
    assert [v for _t, _n, v in _channels()] == [False]
    verified = run("channels", "verify", "--tenant", "clinic-a", "--phone-number-id", "5555")
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["status"] == "active"
    assert [v for _t, _n, v in _channels()] == [True]
    missing = run("channels", "verify", "--tenant", "clinic-a", "--phone-number-id", "6666")
    assert missing.exit_code == 2 and "no channel" in missing.stderr
