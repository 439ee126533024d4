"""A provider's 429 reschedules the turn (only that tenant slows down) and hands off only past
the deadline; a refused key is visible in the run, ``tenants list`` and the API; a key can be
checked when it is set. The wire simulator plays the provider."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import knowledge
from agent.checkpoints import CheckpointStore
from agent.llm.factory import build_provider
from agent.llm.testing import fast_retry, running_simulator
from agent.receptionist import Receptionist
from agent.redaction.redactor import Redactor, load_ner_pipeline
from agent.redaction.sql_vault import SqlVault
from frontdesk.runner import ReceptionistTurnRunner
from store.db import Database
from store.models import TurnRow as Turn
from tests.agent.graphs.conftest import CLINIC_KB, use_provider
from tests.workers.conftest import make_conversations, make_ctx, pump
from workers import mailbox
from workers.drain import drain, drain_and_reschedule

QUESTION = "¿Cuánto cuesta un empaste?"


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    with running_simulator() as simulator:
        yield simulator


@pytest.fixture
def world(sqlite_db: Database, make_tenant: Any, sim: Any, tmp_path: Any) -> Iterator[Any]:
    sim.reset()
    clinic, other = make_tenant(sqlite_db, "clinic"), make_tenant(sqlite_db, "other")
    for tenant in (clinic, other):
        knowledge.ingest(sqlite_db, tenant, "clinica.md", CLINIC_KB.encode())
        use_provider(sqlite_db, tenant, sim)
    receptionist = Receptionist(
        sqlite_db,
        redactor=Redactor(SqlVault(sqlite_db), nlp=load_ner_pipeline()),
        checkpoints=CheckpointStore(f"sqlite:///{tmp_path}/checkpoints.db"),
        provider_factory=lambda s, k, f: build_provider(s, k, fallback_api_key=f, retry=fast_retry(3)),
    )
    ctx = make_ctx(sqlite_db, runner=ReceptionistTurnRunner(receptionist))
    yield ctx, clinic, other
    ctx.close()


def _ask(ctx: Any, tenant: int, wamid: str) -> int:
    (cid,) = make_conversations(ctx.db, tenant, 1)
    mailbox.append_inbound(ctx.db, tenant, cid, wa_message_id=wamid, text=QUESTION)
    return cid


def _run(ctx: Any, tenant: int) -> Turn:
    with ctx.db.tenant_session(tenant) as session:
        run = session.scalar(select(Turn))
        assert run is not None
        session.expunge(run)
        return run


def test_a_429_reschedules_the_turn_slows_only_that_tenant_and_the_customer_gets_one_reply(
    world: Any, sim: Any
) -> None:
    ctx, clinic, other = world
    cid = _ask(ctx, clinic, "wamid.r1")
    sim.enqueue_fault("rate_limit", retry_after=45)  # too long to wait inside the call
    report = drain_and_reschedule(ctx, clinic, cid)
    assert report.status == "retry" and report.retry_in == 45
    assert 45 <= ctx.enqueue.drains[-1][2] <= 45 * 1.3  # the drain comes back after Retry-After
    assert mailbox.state(ctx.db, clinic, cid).mode == "bot"  # not handed to a human
    run = _run(ctx, clinic)
    assert run.status == "retrying" and run.attempts == 0
    assert run.last_error == "provider rate-limited the tenant (429); retrying in 45 s"
    assert drain(ctx, clinic, cid).status == "deferred"  # the tenant is cooling down
    busy = _ask(ctx, other, "wamid.o1")  # …the other tenant is not
    assert drain(ctx, other, busy).turns == 1

    ctx.fairness.penalize(clinic, 0)  # Retry-After has passed
    ctx.enqueue.drains.clear()
    ctx.enqueue.drain(clinic, cid)
    pump(ctx)
    sends = [s for s in ctx.sender.sent if s.conversation_id == cid]
    assert len(sends) == 1 and "empaste" in sends[0].text  # the simulator answered this time
    assert _run(ctx, clinic).status == "replied"


def test_past_the_deadline_a_429_hands_off_and_the_run_says_why(
    world: Any, sim: Any, sqlite_db: Database
) -> None:
    ctx, clinic, _ = world
    ctx.config = dataclasses.replace(ctx.config, retry_deadline=30.0)
    cid = _ask(ctx, clinic, "wamid.r2")
    sim.enqueue_fault("rate_limit", retry_after=45)
    drain(ctx, clinic, cid)
    assert mailbox.state(ctx.db, clinic, cid).mode == "human"
    run = _run(ctx, clinic)
    assert run.status == "failed"
    assert (
        run.last_error is not None
        and run.last_error.startswith("provider rate-limited the tenant (429); handed off after ")
        and run.last_error.endswith("(retry deadline 30 s)")
    )


def test_a_refused_key_is_recorded_in_the_run(world: Any, sim: Any) -> None:
    ctx, clinic, _ = world
    sim.valid_keys = {"someone-else"}
    cid = _ask(ctx, clinic, "wamid.k1")
    drain(ctx, clinic, cid)
    assert mailbox.state(ctx.db, clinic, cid).mode == "human"
    run = _run(ctx, clinic)
    assert run.status == "handoff" and run.last_error == "provider rejected the API key (401)"


@pytest.fixture
def cli(cli_env: Any) -> CliRunner:
    from frontdesk.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["tenants", "create", "bakery"]).exit_code == 0
    return runner


def test_set_provider_check_and_tenants_list_show_a_wrong_key(cli: CliRunner, sim: Any) -> None:
    from frontdesk.cli import app, ready_database
    from store.repo import providers, tenants

    sim.reset()
    sim.valid_keys = {"sk-good"}
    base = ["tenants", "set-provider", "bakery", "--provider", "openai", "--model", "gpt-4o-mini"]
    base += ["--base-url", f"{sim.url}/v1"]
    bad = cli.invoke(app, [*base, "--check"], input="sk-wrong\n")
    assert bad.exit_code == 2
    assert bad.stderr.strip() == "frontdesk: error: provider rejected the API key (401); nothing was saved"
    assert "sk-wrong" not in bad.output
    good = cli.invoke(app, [*base, "--check"], input="sk-good\n")
    assert good.exit_code == 0 and good.stdout.startswith("OK: openai gpt-4o-mini answered")
    assert len(sim.requests) == 2

    db = ready_database()
    with db.admin_session() as session:
        tenant = tenants.get_by_slug(session, "bakery").id
    with db.tenant_session(tenant) as session:
        providers.note_error(session, tenant, "provider rejected the API key (401)")
    listed = cli.invoke(app, ["tenants", "list"])
    assert "openai gpt-4o-mini" in listed.stdout
    assert "last error: provider rejected the API key (401)" in listed.stdout
    (row,) = json.loads(cli.invoke(app, ["tenants", "list", "--json"]).stdout)
    assert row["provider"] == "openai" and row["last_error"] == "provider rejected the API key (401)"
    assert row["last_error_at"]
    db.dispose()
