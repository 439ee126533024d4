"""CPU per receptionist turn, by stage: where a worker's time goes on the real turn path.

Each turn is what a worker does for one customer message: the drain (lease, fairness, open
the turn), the receptionist graph (tenant settings, redaction, triage, knowledge search, the
model call through the vendor's SDK against the model simulator, guard, checkpoints), then
commit and the first send. Turns run one after another in this process, as wired for
production (``frontdesk.services.receptionist``), on PostgreSQL and Redis by default. Each
stage's CPU is its thread's (``time.thread_time``, see ``agent.stages``); "graph runtime" is
what the turn spent outside every stage (LangGraph's own loop, state and serialization).

    uv run frontdesk bench turns                         # 200 turns, PostgreSQL + Redis
    uv run frontdesk bench turns -- --turns 500 --conversations 20 --provider anthropic
    uv run frontdesk bench turns -- --db sqlite          # the embedded default
    uv run frontdesk bench turns -- --profile turns.prof # and a cProfile of the timed turns
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import knowledge  # noqa: E402
from agent.llm.testing import SIM_MODELS, running_simulator, simulator_base_url  # noqa: E402
from agent.stages import StageClock, clocked, stage  # noqa: E402
from frontdesk import services  # noqa: E402
from frontdesk.runner import ReceptionistTurnRunner  # noqa: E402
from frontdesk.settings import Settings  # noqa: E402
from store.crypto import Keyring  # noqa: E402
from store.db import Database, migrate  # noqa: E402
from store.identity import new_contact  # noqa: E402
from store.models import Conversation  # noqa: E402
from store.repo import channels, providers, tenants  # noqa: E402
from store.roles import app_login_url  # noqa: E402
from workers import drain as drain_module  # noqa: E402
from workers import mailbox  # noqa: E402
from workers.context import WorkerConfig  # noqa: E402
from workers.fairness import FairnessPolicy  # noqa: E402
from workers.runtime import build_context, redis_client  # noqa: E402
from workers.testing import ListEnqueuer, RecordingSender  # noqa: E402

PG_URL = os.environ.get("FRONTDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KB = ROOT / "tests" / "data" / "kb_clinica_es"
MESSAGES = [
    "hola, ¿tenéis cita el martes?",
    "¿Cuánto cuesta un empaste?",
    "Soy Ana Pérez, mi móvil es 612 345 678. ¿Aceptáis Bizum?",
    "¿Trabajáis con Sanitas?",
]
ORDER = [
    "worker: open turn",
    "store reads",
    "tenant settings",
    "checkpoint read",
    "redaction",
    "vault (store)",
    "triage",
    "search",
    "model call and SDK",
    "tools",
    "guard",
    "handoff",
    "checkpoint write",
    "tracing",
    "graph runtime",
    "worker: commit turn",
    "worker: first send",
    "worker: lease, fairness, rest",
]


class _Timed:
    """Runs ``call`` as stage ``name`` in place of a module attribute (the worker's own steps)."""

    def __init__(self, name: str, call: Callable[..., Any]) -> None:
        self.name, self.call = name, call

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with stage(self.name):
            return self.call(*args, **kwargs)


@contextmanager
def _worker_stages() -> Generator[None]:
    """Time the drain's own store steps as stages (they are plain module functions)."""
    targets = [
        (mailbox, "open_turn", "worker: open turn"),
        (mailbox, "commit_turn", "worker: commit turn"),
        (drain_module, "send_first", "worker: first send"),
    ]
    originals = [(module, attr, getattr(module, attr)) for module, attr, _ in targets]
    for module, attr, name in targets:
        setattr(module, attr, _Timed(name, getattr(module, attr)))
    try:
        yield
    finally:
        for module, attr, original in originals:
            setattr(module, attr, original)


class _StagedRunner:
    """The production turn runner, its whole run counted (what no stage claims is the graph's)."""

    def __init__(self, inner: ReceptionistTurnRunner) -> None:
        self.inner = inner

    def run_turn(self, turn: Any) -> Any:
        with stage("graph runtime"):
            return self.inner.run_turn(turn)


class _StagedVault:
    """The redactor's vault, its store round trips counted apart from redaction and guard."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if not callable(value) or name == "reads":  # reads: no store round trip
            return value
        return _Timed("vault (store)", value)


class Setup:
    """A schema (or SQLite file), tenants with numbers, knowledge and the simulator as provider."""

    def __init__(self, args: argparse.Namespace, simulator_url: str, *, ingest: bool = True) -> None:
        self.args = args
        self.schema: str | None = None
        keyring = Keyring.generate()
        if args.db == "postgres":
            from sqlalchemy import create_engine, text

            self.schema = f"bench_turns_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
            self.db = Database(app_login_url(PG_URL), keyring, admin_url=PG_URL, schema=self.schema)
            self.settings = Settings(database_url=PG_URL)
        else:
            folder = tempfile.mkdtemp(prefix="frontdesk-bench-turns-")
            self.db = Database(f"sqlite:///{folder}/fd.db", keyring)
            self.settings = Settings(
                database_url=f"sqlite:///{folder}/fd.db", checkpoint_url=f"sqlite:///{folder}/cp.db"
            )
        migrate(self.db)
        self.tenants: list[tuple[int, int]] = []  # (tenant, channel)
        with self.db.admin_session() as session:
            for n in range(args.tenants):
                tenant = tenants.create(session, f"clinic-{n}", f"Clínica {n}")
                channel = channels.add(
                    session,
                    self.db.keyring,
                    tenant.id,
                    phone_number_id=f"77{n:06d}",
                    verify_token=secrets.token_hex(8),
                    app_secret=secrets.token_hex(16),
                    access_token="EAAG" + secrets.token_hex(8),
                )
                channels.activate(session, channel)  # the bench's own numbers: no proof to make
                if args.provider != "extractive":
                    providers.set_provider(
                        session,
                        self.db.keyring,
                        tenant.id,
                        args.provider,
                        model=SIM_MODELS[args.provider],
                        base_url=simulator_url,
                        api_key=f"sim-key-{tenant.id}",
                        trusted=True,  # the operator names the simulator (a loopback host)
                    )
                self.tenants.append((tenant.id, channel.id))
        for tenant_id, _ in self.tenants if ingest else []:
            for path in sorted(KB.iterdir()):
                knowledge.ingest(self.db, tenant_id, path.name, path.read_bytes())
        self.sequence = 0
        self.conversations: list[tuple[int, int]] = []

    def conversation(self) -> tuple[int, int]:
        """(tenant, conversation) of the next turn: a new customer, or the next of a few."""
        self.sequence += 1
        reuse = self.args.conversations
        if reuse and len(self.conversations) >= reuse:
            return self.conversations[self.sequence % reuse]
        tenant_id, channel_id = self.tenants[self.sequence % len(self.tenants)]
        with self.db.tenant_session(tenant_id) as session:
            contact = new_contact(self.db.keyring, tenant_id, f"34{self.sequence:09d}")
            session.add(contact)
            session.flush()
            row = Conversation(tenant_id=tenant_id, contact_id=contact.id, channel_id=channel_id)
            session.add(row)
            session.flush()
            made = (tenant_id, row.id)
        self.conversations.append(made)
        return made

    def close(self) -> None:
        self.db.dispose()
        if self.schema is not None:
            from sqlalchemy import create_engine, text

            admin = create_engine(PG_URL)
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    with running_simulator() as simulator:
        url = simulator_base_url(simulator, args.provider) if args.provider != "extractive" else ""
        setup = Setup(args, url)
        receptionist = services.receptionist(setup.settings, setup.db)
        receptionist.redactor.vault = _StagedVault(receptionist.redactor.vault)  # type: ignore[assignment]
        redis = redis_client(REDIS_URL) if args.db == "postgres" else None
        config = WorkerConfig(
            redis_url=REDIS_URL if redis is not None else None,
            redis_prefix=f"bench-turns:{uuid.uuid4().hex[:8]}:",
            debounce=0.0,
            max_debounce=0.0,
            fairness=FairnessPolicy(tenant_concurrency=10_000, tenant_rate=100_000.0),
        )
        ctx = build_context(
            config,
            ListEnqueuer(),
            db=setup.db,
            runner=_StagedRunner(ReceptionistTurnRunner(receptionist)),
            sender=RecordingSender(),
            redis=redis,
        )
        try:
            return _measure(args, setup, ctx)
        finally:
            ctx.close()
            receptionist.checkpoints.close()
            if redis is not None:
                keys = list(redis.scan_iter(match=config.redis_prefix + "*", count=1000))
                if keys:
                    redis.delete(*keys)
            setup.close()


def _turn(
    setup: Setup, ctx: Any, n: int, clock: StageClock, statements: dict[str, int] | None = None
) -> tuple[float, float]:
    """One customer message, drained: (thread CPU, wall seconds)."""
    tenant_id, conversation_id = setup.conversation()
    mailbox.append_inbound(
        setup.db,
        tenant_id,
        conversation_id,
        wa_message_id=f"wamid.turns{uuid.uuid4().hex}",
        text=MESSAGES[n % len(MESSAGES)],
    )
    started, wall = time.thread_time(), time.perf_counter()
    counting = _counting_statements(setup.db, statements) if statements is not None else _nothing()
    with counting, clocked(clock), stage("worker: lease, fairness, rest"):
        report = drain_module.drain(ctx, tenant_id, conversation_id)
    if report.status != "drained" or report.turns != 1:
        raise SystemExit(f"turn {n}: the drain reported {report}")
    return time.thread_time() - started, time.perf_counter() - wall


@contextmanager
def _counting_statements(db: Database, counts: dict[str, int]) -> Generator[None]:
    """Count every statement the driver sends (row-level-security pins too) and the application
    engine's transactions; the checkpointer's statements (its own pool) are marked."""
    from sqlalchemy import event

    def on_begin(_connection: Any) -> None:
        counts["(transaction)"] = counts.get("(transaction)", 0) + 1

    event.listen(db.engine, "begin", on_begin)
    try:
        with _counting_driver_statements(counts):
            yield
    finally:
        event.remove(db.engine, "begin", on_begin)


@contextmanager
def _counting_driver_statements(counts: dict[str, int]) -> Generator[None]:
    """Count what psycopg sends, each row of an ``executemany`` as one statement."""
    if _psycopg() is None:  # SQLite only
        yield
        return
    from psycopg.rows import dict_row

    def count(cursor: Any, query: str, rows: int) -> None:
        # The checkpointer's pool hands out dict rows (agent.checkpoints); the store's tuples.
        mark = "[checkpoints] " if cursor.connection.row_factory is dict_row else ""
        statement = (mark + " ".join(query.split()))[:110]
        counts[statement] = counts.get(statement, 0) + rows

    with driver_statements(count):
        yield


@contextmanager
def driver_statements(record: Callable[[Any, str, int], None]) -> Generator[None]:
    """Call ``record(cursor, query, rows)`` for each statement psycopg sends (an
    ``executemany``: its rows)."""
    import psycopg

    originals = {name: getattr(psycopg.Cursor, name) for name in ("execute", "executemany")}

    def counted(name: str) -> Callable[..., Any]:
        original = originals[name]

        def call(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            many = name == "executemany" and args and hasattr(args[0], "__len__")
            record(cursor, str(query), len(args[0]) if many else 1)
            return original(cursor, query, *args, **kwargs)

        return call

    for name in originals:
        setattr(psycopg.Cursor, name, counted(name))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(psycopg.Cursor, name, original)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        return None
    return psycopg


def _measure(args: argparse.Namespace, setup: Setup, ctx: Any) -> dict[str, Any]:
    statements: dict[str, int] = {}
    with _worker_stages():
        for n in range(args.warmup):
            _turn(setup, ctx, n, StageClock())
        clock = StageClock()
        cpu: list[float] = []
        wall: list[float] = []
        profiler = cProfile.Profile(time.thread_time) if args.profile else None  # CPU, not waits
        process_started = time.process_time()
        if profiler is not None:
            profiler.enable()
        for n in range(args.turns):
            spent, took = _turn(setup, ctx, n, clock, statements if args.statements else None)
            cpu.append(spent)
            wall.append(took)
        if profiler is not None:
            profiler.disable()
        process_cpu = time.process_time() - process_started
    if profiler is not None:
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    turns = args.turns
    per_turn = {name: clock.seconds[name] * 1000 / turns for name in clock.seconds}
    total = sum(per_turn.values())
    stages = [
        {
            "stage": name,
            "cpu_ms_per_turn": round(per_turn[name], 3),
            "share": round(per_turn[name] / total, 3) if total else 0.0,
            "calls_per_turn": round(clock.calls[name] / turns, 2),
        }
        for name in sorted(per_turn, key=lambda s: ORDER.index(s) if s in ORDER else len(ORDER))
    ]
    result: dict[str, Any] = {
        "db": args.db,
        "provider": args.provider,
        "turns": turns,
        "conversations": args.conversations or "new customer each turn",
        "cpu_ms_per_turn": round(total, 2),
        "cpu_ms_per_turn_p50": round(statistics.median(cpu) * 1000, 2),
        "process_cpu_ms_per_turn": round(process_cpu * 1000 / turns, 2),
        "wall_ms_per_turn_p50": round(statistics.median(wall) * 1000, 2),
        "load_average": round(os.getloadavg()[0], 2),
        "stages": stages,
    }
    if args.statements:
        ranked = sorted(statements.items(), key=lambda item: (-item[1], item[0]))
        result["statements_per_turn"] = {text: round(n / turns, 2) for text, n in ranked}
        sent = [(text, n) for text, n in statements.items() if text != "(transaction)"]
        result["statements_per_turn_total"] = {
            "store": round(sum(n for t, n in sent if not t.startswith("[checkpoints]")) / turns, 2),
            "checkpoints": round(sum(n for t, n in sent if t.startswith("[checkpoints]")) / turns, 2),
        }
    return result


@contextmanager
def _nothing() -> Generator[None]:
    yield


def _print(result: dict[str, Any]) -> None:
    print(
        f"{result['turns']} turns on {result['db']}, {result['provider']} (simulated), "
        f"{result['conversations']}; load average {result['load_average']}"
    )
    print(f"{'stage':32} {'CPU ms/turn':>12} {'share':>7} {'calls/turn':>11}")
    for row in result["stages"]:
        print(
            f"{row['stage']:32} {row['cpu_ms_per_turn']:12.3f} {row['share'] * 100:6.1f}% "
            f"{row['calls_per_turn']:11.2f}"
        )
    print(
        f"{'total (this thread)':32} {result['cpu_ms_per_turn']:12.3f}   (p50 {result['cpu_ms_per_turn_p50']}; "
        f"whole process {result['process_cpu_ms_per_turn']}; wall p50 {result['wall_ms_per_turn_p50']} ms)"
    )
    if "statements_per_turn" in result:
        totals = result["statements_per_turn_total"]
        print(
            f"\nstatements per turn, as the driver sends them: {totals['store']} by the store, "
            f"{totals['checkpoints']} by the checkpointer (marked)"
        )
        for text, n in result["statements_per_turn"].items():
            print(f"{n:6.2f}  {text}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20, help="turns run before measuring")
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument(
        "--conversations",
        type=int,
        default=0,
        help="spread turns over this many conversations (0: each turn is a new customer, as in "
        "the throughput bench)",
    )
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument(
        "--provider", choices=("openai", "anthropic", "gemini", "extractive"), default="openai"
    )
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the timed turns to FILE")
    parser.add_argument("--statements", action="store_true", help="count the store's SQL statements")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = run(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)


if __name__ == "__main__":
    main()
