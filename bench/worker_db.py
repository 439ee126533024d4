"""The worker's database path per turn: client CPU, PostgreSQL CPU and statements, by step.

Each turn is what a worker's turn asks of PostgreSQL, without the model and the redactor:
open the turn, tenant settings (a runtime revalidated every turn here), the vault
(one assignment, one read), the checkpoint read and write (a small graph with the
receptionist's state, run as the receptionist runs it), commit the turn (reply claimed for
the inline send, the AI disclosure recorded) and the first send (a recording sender; marked
sent). Each step's CPU is this thread's (``time.thread_time``) and the PostgreSQL backends'
serving this process (every engine and pool: the app, the contacts' key store, the
checkpointer), from ``/proc/<pid>/schedstat`` (ns). The connections log in as the
application's role, as in production (row-level security on).

    uv run python bench/worker_db.py                 # 400 turns after 50, each a new customer
    uv run python bench/worker_db.py --turns 1000 --conversations 20 --statements

Needs PostgreSQL on 127.0.0.1:5432 (and nothing else).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Generator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

APP_NAME = f"bench-worker-db-{uuid.uuid4().hex[:8]}"
os.environ["PGAPPNAME"] = APP_NAME  # every connection of this process (libpq): its backends

from langgraph.graph import END, START, StateGraph  # noqa: E402
from sqlalchemy import text  # noqa: E402

from agent import checkpoints as checkpoints_module  # noqa: E402
from agent.checkpoints import CheckpointStore, prepare_postgres, reuse_next_read  # noqa: E402
from agent.graphs.receptionist.state import InputState, State  # noqa: E402
from agent.redaction.sql_vault import SqlVault  # noqa: E402
from agent.redaction.vault import ConversationKey  # noqa: E402
from agent.tenant_runtime import TenantRuntimes  # noqa: E402
from bench.turns import PG_URL, Setup, driver_statements  # noqa: E402
from store.models import utcnow  # noqa: E402
from store.roles import app_login_url  # noqa: E402
from workers import mailbox, outbox  # noqa: E402
from workers.testing import RecordingSender  # noqa: E402
from workers.turns import TurnResult  # noqa: E402

STEPS = [
    "open turn",
    "tenant settings",
    "vault",
    "checkpoint read",
    "checkpoint write",
    "commit turn",
    "first send",
]
PASSAGE = "Empaste de composite: 60 €. Limpieza dental: 45 €. Horario de lunes a viernes. " * 4


class Meter:
    """Per step: this thread's CPU, the backends' CPU, statements sent (executemany rows each)."""

    def __init__(self) -> None:
        self.pids: list[int] = []
        self.cpu: dict[str, float] = {}
        self.postgres: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.statements: dict[str, dict[str, int]] = {}
        self.current: str | None = None

    def backend_ns(self) -> int:
        total = 0
        for pid in self.pids:
            with suppress(OSError):  # a backend that exited
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        return total

    @contextmanager
    def step(self, name: str) -> Generator[None]:
        outer, self.current = self.current, name
        pg0 = self.backend_ns()
        cpu0 = time.thread_time()
        try:
            yield
        finally:
            cpu = time.thread_time() - cpu0
            pg = self.backend_ns() - pg0
            self.current = outer
            self.cpu[name] = self.cpu.get(name, 0.0) + cpu
            self.postgres[name] = self.postgres.get(name, 0.0) + pg / 1e9
            self.calls[name] = self.calls.get(name, 0) + 1

    def count(self, statement: str, rows: int) -> None:
        if self.current is None:
            return
        per = self.statements.setdefault(self.current, {})
        key = " ".join(statement.split())[:100]
        per[key] = per.get(key, 0) + rows

    def reset(self) -> None:
        self.cpu.clear()
        self.postgres.clear()
        self.calls.clear()
        self.statements.clear()


@contextmanager
def _counting(meter: Meter) -> Generator[None]:
    """Count what psycopg sends (every engine and pool), each row of an executemany as one."""
    with driver_statements(lambda _cursor, query, rows: meter.count(query, rows)):
        yield


@contextmanager
def _metered_checkpoints(meter: Meter) -> Generator[None]:
    """The checkpointer's reads and writes as steps (the saver the receptionist runs with)."""
    saver = checkpoints_module._InRunThread  # pyright: ignore[reportPrivateUsage]
    names = {"aget_tuple": "checkpoint read", "aput": "checkpoint write", "aput_writes": "checkpoint write"}
    originals = {attr: getattr(saver, attr) for attr in names}

    def metered(attr: str) -> Any:
        original = originals[attr]

        async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with meter.step(names[attr]):
                return await original(self, *args, **kwargs)

        return call

    for attr in names:
        setattr(saver, attr, metered(attr))
    try:
        yield
    finally:
        for attr, original in originals.items():
            setattr(saver, attr, original)


def _answer(state: State) -> dict[str, Any]:
    """What a receptionist turn adds to its state (redacted text, as in production)."""
    text = state.get("turn_text", "")
    return {
        "turn_text": "¿Cuánto cuesta un empaste? Soy <PERSON_1>, mi móvil es <PHONE_1>.",
        "history": [
            {"role": "user", "content": text or "¿Cuánto cuesta un empaste?"},
            {"role": "assistant", "content": "Un empaste de composite cuesta 60 €."},
        ],
        "language": "es",
        "passages": [{"text": PASSAGE, "source": "precios.md", "heading": "Precios", "score": 3.2}] * 3,
        "reply": "Un empaste de composite cuesta 60 €.",
        "citations": ["precios.md"],
        "disclosed": True,
        "misses": 0,
        "tool_rounds": 1,
        "handoff": False,
        "usage": {"input_tokens": 812.0, "output_tokens": 41.0},
    }


def _graph(saver: Any) -> Any:
    builder = StateGraph(State, input_schema=InputState)
    builder.add_node("answer", _answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=saver)


async def _checkpointed_run(
    store: CheckpointStore, tenant_id: int, conversation_id: int, turn_id: str
) -> None:
    """The receptionist's checkpoint traffic: a look at the thread, then the run (``exit``)."""
    config: Any = {"configurable": {"thread_id": f"{tenant_id}:{conversation_id}"}}
    async with store.saver(tenant_id) as saver:
        graph = _graph(saver)
        reuse_next_read(saver)
        await graph.aget_state(config)
        await graph.ainvoke({"turn_id": turn_id}, config, durability="exit")


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        setup_args = argparse.Namespace(
            tenants=args.tenants, provider="extractive", db="postgres", conversations=args.conversations
        )
        self.setup = Setup(setup_args, "", ingest=False)
        db = self.setup.db
        prepare_postgres(PG_URL, db.schema)  # as `frontdesk migrate` does
        self.db = db
        self.vault = SqlVault(db)
        self.runtimes = TenantRuntimes(db, revalidate_s=0.0)  # the version check, every turn
        self.checkpoints = CheckpointStore(app_login_url(PG_URL), schema=db.schema, pin=db.pin)
        self.sender = RecordingSender()
        self.policy = outbox.SendPolicy()
        self.fences: dict[int, int] = {}
        self.loop = asyncio.new_event_loop()
        self.sequence = 0

    def turn(self, meter: Meter) -> None:
        setup, db = self.setup, self.db
        tenant_id, cid = setup.conversation()
        self.sequence += 1
        mailbox.append_inbound(
            db,
            tenant_id,
            cid,
            wa_message_id=f"wamid.wdb{uuid.uuid4().hex}",
            text="¿Cuánto cuesta un empaste?",
        )
        fence = self.fences[cid] = self.fences.get(cid, 0) + 1
        with meter.step("open turn"):
            opened = mailbox.open_turn(db, tenant_id, cid, fence)
        turn, recipient = opened.turn, opened.recipient
        if turn is None or recipient is None:
            raise SystemExit(f"turn {self.sequence}: nothing opened ({opened})")
        version = getattr(turn, "settings_version", None)  # read with the turn (else checked)
        with meter.step("tenant settings"):
            if version is None:
                self.runtimes.get(tenant_id)
            else:
                self.runtimes.get(tenant_id, version=version)
        conversation = ConversationKey(tenant_id, cid)
        with meter.step("vault"):
            self.vault.items(conversation)
        with meter.step("vault"):
            self.vault.assign_item(conversation, "PHONE", f"612 345 {self.sequence % 1000:03d}")
        self.loop.run_until_complete(_checkpointed_run(self.checkpoints, tenant_id, cid, turn.turn_id))
        result = TurnResult(
            reply="Un empaste de composite cuesta 60 €.",
            disclosure="Soy un asistente de IA; escribe «persona» para hablar con el equipo.",
            language="es",
        )
        claim_for = mailbox.ClaimFor(recipient.wa_id, utcnow() + timedelta(seconds=12), opened.oldest_at)
        with meter.step("commit turn"):
            committed = mailbox.commit_turn(db, turn, fence, result, claim_for=claim_for)
        if committed.status != "replied" or committed.claim is None or committed.outbox_id is None:
            raise SystemExit(f"turn {self.sequence}: committed {committed}")
        with meter.step("first send"):
            sent = outbox.deliver(
                db, self.sender, tenant_id, committed.outbox_id, committed.claim, self.policy
            )
        if sent.status != "sent":
            raise SystemExit(f"turn {self.sequence}: sent {sent}")

    def backends(self) -> list[int]:
        with db_admin(self.db) as connection:
            rows = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"), {"name": APP_NAME}
            )
            return sorted(int(row[0]) for row in rows)

    def close(self) -> None:
        self.loop.close()
        self.checkpoints.close()
        self.setup.close()


@contextmanager
def db_admin(db: Any) -> Generator[Any]:
    """A connection outside the measured ones (its own application name)."""
    engine = db.admin_engine
    with engine.connect() as connection:
        connection.execute(text("SET application_name = 'bench-worker-db-admin'"))
        try:
            yield connection
        finally:
            connection.execute(text(f"SET application_name = '{APP_NAME}'"))
            connection.rollback()


def run(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(args)
    meter = Meter()
    try:
        with _metered_checkpoints(meter), _counting(meter):
            for _ in range(args.warmup):
                bench.turn(meter)
            meter.reset()
            meter.pids = bench.backends()
            for _ in range(args.turns):
                bench.turn(meter)
            later = bench.backends()
    finally:
        bench.close()
    n = args.turns
    steps: list[dict[str, Any]] = [
        {
            "step": name,
            "cpu_ms": round(meter.cpu[name] * 1000 / n, 3),
            "postgres_ms": round(meter.postgres[name] * 1000 / n, 3),
            "calls": round(meter.calls[name] / n, 2),
            "statements": round(sum(meter.statements.get(name, {}).values()) / n, 2),
        }
        for name in STEPS
        if name in meter.cpu
    ]
    result: dict[str, Any] = {
        "turns": n,
        "conversations": args.conversations or "new customer each turn",
        "backends": len(meter.pids),
        "backends_opened_while_measuring": len(set(later) - set(meter.pids)),
        "cpu_ms_per_turn": round(sum(s["cpu_ms"] for s in steps), 3),
        "postgres_ms_per_turn": round(sum(s["postgres_ms"] for s in steps), 3),
        "statements_per_turn": round(sum(s["statements"] for s in steps), 2),
        "load_average": round(os.getloadavg()[0], 2),
        "steps": steps,
    }
    if args.statements:
        result["statements"] = {
            name: {k: round(v / n, 2) for k, v in sorted(per.items(), key=lambda kv: -kv[1])}
            for name, per in meter.statements.items()
        }
    return result


def _print(result: dict[str, Any]) -> None:
    print(
        f"{result['turns']} turns, {result['conversations']}; {result['backends']} backends "
        f"(+{result['backends_opened_while_measuring']} opened while measuring); "
        f"load average {result['load_average']}"
    )
    print(f"{'step':18} {'CPU ms':>8} {'PG ms':>8} {'calls':>6} {'stmts':>6}   (per turn)")
    for s in result["steps"]:
        print(
            f"{s['step']:18} {s['cpu_ms']:8.3f} {s['postgres_ms']:8.3f} {s['calls']:6.2f} {s['statements']:6.2f}"
        )
    print(
        f"{'total':18} {result['cpu_ms_per_turn']:8.3f} {result['postgres_ms_per_turn']:8.3f} "
        f"{'':6} {result['statements_per_turn']:6.2f}"
    )
    for name, per in result.get("statements", {}).items():
        print(f"\n{name}:")
        for statement, count in per.items():
            print(f"  {count:5.2f}  {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument(
        "--conversations",
        type=int,
        default=0,
        help="spread turns over this many conversations (0: a new customer each turn)",
    )
    parser.add_argument("--statements", action="store_true", help="list each step's statements")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)


if __name__ == "__main__":
    main()
