"""The same turn on the production stack: PostgreSQL under RLS, checkpoints in PostgreSQL."""

import asyncio

import knowledge
from agent.checkpoints import CheckpointStore
from agent.receptionist import Receptionist, TurnRequest
from agent.redaction.redactor import Redactor
from agent.redaction.sql_vault import SqlVault
from store.repo import tenants
from tests.agent.graphs.conftest import CLINIC_KB, SETTINGS


def test_turns_handoff_and_pruning_on_postgres(postgres_db, postgres_admin_url, nlp):
    with postgres_db.admin_session() as s:
        tid = tenants.create(s, "clinic", "Clínica Sonrisa", settings=SETTINGS).id
    knowledge.ingest(postgres_db, tid, "clinica.md", CLINIC_KB.encode())
    checkpoints = CheckpointStore(postgres_admin_url, schema=postgres_db.schema)
    receptionist = Receptionist(
        postgres_db, redactor=Redactor(SqlVault(postgres_db), nlp=nlp), checkpoints=checkpoints
    )

    def run(turn_id, text):
        return receptionist.run(
            TurnRequest(tid, 5, turn_id, [text], customer_id="34612345678", profile_name="Ana Pérez")
        )

    first = run("t1", "Hola, soy Ana Pérez. ¿Cuánto cuesta un empaste?")
    assert "60 €" in first.reply and first.citations
    assert run("t2", "¿Y una limpieza dental?").reply.endswith("45 €")
    handoff = run("t3", "Quiero hablar con una persona")
    assert handoff.handoff and "Ana Pérez" in handoff.summary
    assert asyncio.run(receptionist.is_paused(tid, 5))
    assert asyncio.run(checkpoints.prune()) == 1  # one thread, its latest checkpoint kept
    assert asyncio.run(receptionist.is_paused(tid, 5))  # pruning kept the paused state
    after = run("t4", "¿Cuánto cuesta un blanqueamiento?")
    assert "250 €" in after.reply and not after.handoff


def test_sqlite_pruning_keeps_the_latest_checkpoint(sim, clinic, receptionist, turn, sqlite_db, tmp_path):
    import sqlite3

    from tests.agent.graphs.conftest import use_provider

    use_provider(sqlite_db, clinic, sim)
    sim.add_rule(".*", reply="De acuerdo.")
    for _ in range(3):
        receptionist.run(turn(clinic, "hola"))
    receptionist.run(turn(clinic, "quiero hablar con una persona"))
    path = tmp_path / "checkpoints.db"
    before = sqlite3.connect(path).execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    assert asyncio.run(receptionist.checkpoints.prune()) == 1
    after = sqlite3.connect(path).execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    assert before > after == 1
    assert asyncio.run(receptionist.is_paused(clinic, 1))
