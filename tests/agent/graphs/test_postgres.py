"""The same turn on the production stack: PostgreSQL under RLS, checkpoints in PostgreSQL."""

import asyncio

import knowledge
from agent.checkpoints import CheckpointStore
from agent.receptionist import Receptionist, TurnRequest
from agent.redaction.redactor import Redactor
from agent.redaction.sql_vault import SqlVault
from store.repo import tenants
from tests.agent.graphs.conftest import CLINIC_KB, SETTINGS


def test_turns_handoff_and_pruning_on_postgres(postgres_db, pg_checkpoints, nlp):
    with postgres_db.admin_session() as s:
        tid = tenants.create(s, "clinic", "Clínica Sonrisa", settings=SETTINGS).id
    knowledge.ingest(postgres_db, tid, "clinica.md", CLINIC_KB.encode())
    checkpoints = pg_checkpoints()
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


def test_first_runs_in_many_threads_at_once_set_the_store_up_once(postgres_db, postgres_admin_url, tmp_path):
    """Worker threads each run a turn in their own event loop; the first ones meet in the setup."""
    two_workers = [CheckpointStore(postgres_admin_url, schema=postgres_db.schema) for _ in range(2)]
    _open_at_once(two_workers)
    _open_at_once([CheckpointStore(f"sqlite:///{tmp_path}/checkpoints.db")])  # the embedded default


def _open_at_once(stores):
    import threading

    start, errors = threading.Barrier(16), []

    async def open_saver(store):
        async with store.saver() as saver:  # the tables are there
            assert await saver.aget_tuple({"configurable": {"thread_id": "new", "checkpoint_ns": ""}}) is None

    def first_run(store):
        start.wait()
        try:
            asyncio.run(open_saver(store))
        except Exception as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=first_run, args=(stores[n % len(stores)],), daemon=True) for n in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)  # an asyncio lock shared by loops hung some
    assert errors == []


def test_runs_share_a_few_connections_and_hold_none_across_the_model_call(postgres_db, postgres_admin_url):
    import threading

    from agent.checkpoints import POOL_SIZE

    store = CheckpointStore(postgres_admin_url, schema=postgres_db.schema)
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    runs = 3 * POOL_SIZE
    calling, answered = threading.Barrier(runs + 1), threading.Event()

    async def run():
        async with store.saver() as saver:
            await saver.aget_tuple(config)
            calling.wait()  # every run is in its model call
            await asyncio.to_thread(answered.wait, 30)
            await saver.aget_tuple(config)

    threads = [threading.Thread(target=asyncio.run, args=(run(),)) for _ in range(runs)]
    for t in threads:
        t.start()
    calling.wait(timeout=60)
    pool = store._postgres.conn
    stats = pool.get_stats()
    answered.set()
    for t in threads:
        t.join(timeout=60)
    store.close()
    assert not any(t.is_alive() for t in threads)
    assert stats["pool_size"] <= POOL_SIZE
    assert stats["pool_size"] == stats["pool_available"]  # none held while the model answers


def test_a_turn_handed_its_vault_entries_and_knowledge_state_answers_as_one_reading_them(
    postgres_db, pg_checkpoints, nlp
):
    """What a worker reads when it opens the turn (``OpenedTurn.vault_items``, ``knowledge_state``)
    stands in for the turn's own reads: same reply, the customer's name restored from it."""
    from agent.redaction.sql_vault import items_in
    from agent.redaction.vault import ConversationKey
    from knowledge.search import tenant_state_in

    with postgres_db.admin_session() as s:
        tid = tenants.create(s, "clinic", "Clínica Sonrisa", settings=SETTINGS).id
    knowledge.ingest(postgres_db, tid, "clinica.md", CLINIC_KB.encode())
    receptionist = Receptionist(
        postgres_db, redactor=Redactor(SqlVault(postgres_db), nlp=nlp), checkpoints=pg_checkpoints()
    )
    first = receptionist.run(
        TurnRequest(
            tid, 6, "t1", ["Hola, soy Ana Pérez. ¿Cuánto cuesta un empaste?"], customer_id="34612345678"
        )
    )
    assert "60 €" in first.reply
    with postgres_db.tenant_connection(tid) as sql:
        items = items_in(sql, postgres_db.keyring, ConversationKey(tid, 6))
        state = tenant_state_in(sql, tid)
    assert [i.value.reveal() for i in items] == ["Ana Pérez"]
    request = TurnRequest(
        tid,
        6,
        "t2",
        ["¿Y una limpieza dental?"],
        customer_id="34612345678",
        vault_items=items,
        knowledge_state=state,
    )
    assert receptionist.run(request).reply.endswith("45 €")
    handoff = receptionist.run(
        TurnRequest(tid, 6, "t3", ["Quiero hablar con una persona"], vault_items=items, knowledge_state=state)
    )
    assert handoff.handoff and "Ana Pérez" in handoff.summary
