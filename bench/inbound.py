"""The gateway's inbound path: what one signed webhook POST costs, in CPU and in statements.

N signed text webhooks, each from a new customer (as ``bench/throughput.py`` sends them), are
POSTed to the gateway app in this process (a bare ASGI call, no HTTP client), a few at a time;
the wake-ups go through Celery to the real Redis (nobody consumes them). Reports per message:
the process's CPU (the driver is a few µs of it), the CPU of the PostgreSQL backends serving
the app's connections, statements and transactions sent to PostgreSQL (all engines, the
contacts' key store included).

    uv run python bench/inbound.py                     # 1500 messages after a warm-up
    uv run python bench/inbound.py -n 3000 --concurrency 16 --same-customers

``--server uvicorn`` serves the app from a uvicorn process (as ``bench/throughput.py`` does)
and POSTs over keep-alive connections; it reports that process's CPU (HTTP parsing included).

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bench.throughput import _GATEWAY, Bench, _free_port, _Poster, _ticks, _wait_for_port  # noqa: E402
from channels.signature import SIGNATURE_HEADER  # noqa: E402


class Counter:
    """Statements and transactions through psycopg (every engine), and the backends' pids.

    Statements are counted at the cursor (``Connection.execute`` runs one as well)."""

    def __init__(self) -> None:
        self.statements = self.commits = self.rollbacks = 0
        self.backends: set[int] = set()
        self._lock = threading.Lock()
        counter = self
        cursor_execute, cursor_many = psycopg.Cursor.execute, psycopg.Cursor.executemany
        commit, rollback = psycopg.Connection.commit, psycopg.Connection.rollback

        def count(kind: str) -> None:
            with counter._lock:
                setattr(counter, kind, getattr(counter, kind) + 1)

        def c_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
            count("statements")
            return cursor_execute(self, *args, **kwargs)

        def c_many(self: Any, *args: Any, **kwargs: Any) -> Any:
            count("statements")
            return cursor_many(self, *args, **kwargs)

        def k_commit(self: Any) -> Any:
            count("commits")
            return commit(self)

        def k_rollback(self: Any) -> Any:
            count("rollbacks")
            return rollback(self)

        psycopg.Cursor.execute = c_execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = c_many  # type: ignore[method-assign]
        psycopg.Connection.commit = k_commit  # type: ignore[method-assign]
        psycopg.Connection.rollback = k_rollback  # type: ignore[method-assign]

    def watch(self, engine: Any) -> None:
        @event.listens_for(engine, "connect")
        def _pid(dbapi_connection: Any, _record: Any) -> None:  # pyright: ignore[reportUnusedFunction]
            self.backends.add(int(dbapi_connection.info.backend_pid))

    def snapshot(self) -> dict[str, float]:
        ticks = sum(_ticks(pid) for pid in self.backends)
        return {
            "statements": self.statements,
            "commits": self.commits,
            "rollbacks": self.rollbacks,
            "postgres_s": ticks / os.sysconf("SC_CLK_TCK"),
        }


async def _post(app: Any, body: bytes, signature: str) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/whatsapp",
        "raw_path": b"/webhooks/whatsapp",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (SIGNATURE_HEADER.lower().encode(), signature.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


async def _drive(app: Any, bodies: list[tuple[str, bytes, str]], concurrency: int) -> list[int]:
    statuses: list[int] = []
    queue = list(reversed(bodies))

    async def client() -> None:
        while queue:
            _, body, signature = queue.pop()
            statuses.append(await _post(app, body, signature))

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return statuses


def _bodies(bench: Bench, count: int, same: bool) -> list[tuple[str, bytes, str]]:
    bodies = bench._bodies(count)  # pyright: ignore[reportPrivateUsage]
    if not same:
        return bodies
    # the same few customers again and again: contacts and conversations exist
    from bench.throughput import _webhook
    from channels.signature import sign

    out = []
    for n, (wa_id, _, _) in enumerate(bodies):
        number, secret, _, _ = bench.numbers[n % len(bench.numbers)]
        customer = f"49{n % 50:011d}{len(bench.numbers)}"
        body = _webhook(number, customer, f"wamid.same{bench.sequence}.{n}")
        out.append((wa_id, body, sign(body, secret)))
    return out


def in_process(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    counter = Counter()
    os.environ.update(bench.env)
    from frontdesk.gateway_app import build_app
    from store.crypto import Keyring
    from store.db import Database
    from store.roles import app_login_url

    db = Database(
        app_login_url(bench.env["BENCH_DB_URL"]),
        Keyring.from_spec(bench.spec),
        admin_url=bench.env["BENCH_DB_URL"],
        schema=bench.schema,
        pool_size=15,
        max_overflow=5,
    )
    for engine in (db.engine, db.admin_engine, getattr(db.keys, "engine", None)):
        if engine is not None:
            counter.watch(engine)
    app = build_app(db)
    loop = asyncio.new_event_loop()
    try:
        warm = loop.run_until_complete(
            _drive(app, _bodies(bench, args.warmup, args.same_customers), args.concurrency)
        )
        bodies = _bodies(bench, args.n, args.same_customers)
        before, cpu0, wall0 = counter.snapshot(), time.process_time(), time.perf_counter()
        statuses = loop.run_until_complete(_drive(app, bodies, args.concurrency))
        cpu, wall, after = time.process_time() - cpu0, time.perf_counter() - wall0, counter.snapshot()
    finally:
        loop.close()
        db.dispose()
    n = len(bodies)
    bad = [s for s in statuses + warm if s != 200]
    return {
        "server": "in-process",
        "messages": n,
        "failed": len(bad),
        "per_s": round(n / wall, 1),
        "gateway_cpu_ms_per_msg": round(cpu * 1000 / n, 3),
        "postgres_cpu_ms_per_msg": round((after["postgres_s"] - before["postgres_s"]) * 1000 / n, 3),
        "statements_per_msg": round((after["statements"] - before["statements"]) / n, 2),
        "commits_per_msg": round((after["commits"] - before["commits"]) / n, 2),
        "rollbacks_per_msg": round((after["rollbacks"] - before["rollbacks"]) / n, 2),
    }


def over_uvicorn(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    port = _free_port()
    process = bench._spawn("gateway", _GATEWAY.format(port=port), {**bench.env, "BENCH_DB_POOL": "15"})  # pyright: ignore[reportPrivateUsage]
    _wait_for_port(port, time.monotonic() + 60)

    def drive(bodies: list[tuple[str, bytes, str]]) -> list[int]:
        statuses: list[int] = []
        queue = list(reversed(bodies))
        lock = threading.Lock()

        def client() -> None:
            poster = _Poster(port)
            while True:
                with lock:
                    if not queue:
                        break
                    _, body, signature = queue.pop()
                status = poster.post("/webhooks/whatsapp", body, {SIGNATURE_HEADER: signature})
                with lock:
                    statuses.append(status)
            poster.close()

        threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return statuses

    warm = drive(_bodies(bench, args.warmup, args.same_customers))
    bodies = _bodies(bench, args.n, args.same_customers)
    tick = os.sysconf("SC_CLK_TCK")
    cpu0, wall0 = _ticks(process.pid), time.perf_counter()
    statuses = drive(bodies)
    cpu, wall = (_ticks(process.pid) - cpu0) / tick, time.perf_counter() - wall0
    n = len(bodies)
    return {
        "server": "uvicorn",
        "messages": n,
        "failed": len([s for s in statuses + warm if s != 200]),
        "per_s": round(n / wall, 1),
        "gateway_cpu_ms_per_msg": round(cpu * 1000 / n, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=1500, help="messages measured")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8, help="POSTs in flight")
    parser.add_argument("--tenants", type=int, default=4, help="tenants, each with its own number")
    parser.add_argument("--same-customers", action="store_true", help="50 returning customers")
    parser.add_argument("--server", choices=("in-process", "uvicorn"), default="in-process")
    args = parser.parse_args()
    bench_args = argparse.Namespace(
        tenants=args.tenants, runner="sleep", via="webhook", spacy=False, concurrency=1
    )
    bench = Bench("threads", bench_args)
    bench.setup()
    try:
        result = in_process(bench, args) if args.server == "in-process" else over_uvicorn(bench, args)
    finally:
        bench.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
