"""Real Celery workers (subprocesses) on the real Redis and PostgreSQL, for the worker tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from store.crypto import Keyring
from store.db import Database, migrate
from tests.conftest import app_url_of
from workers.celery_app import make_celery
from workers.context import WorkerConfig, WorkerContext
from workers.runtime import build_context
from workers.tasks import CeleryEnqueuer
from workers.testing import RecordingSender, SimulatedRunner

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Cluster:
    """A schema, a Redis prefix, and the worker processes this test started."""

    admin_url: str
    redis_url: str
    tmp: Path
    env: dict[str, str] = field(default_factory=dict[str, str])
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict[str, subprocess.Popen[bytes]])
    db: Database | None = None
    ctx: WorkerContext | None = None
    redis: Any = None

    def start(self, **settings: str) -> None:
        self.schema = f"t_{uuid.uuid4().hex[:12]}"
        self.prefix = f"test:{uuid.uuid4().hex[:10]}:"
        spec = Keyring.new_key_spec("k1")
        admin = create_engine(self.admin_url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        admin.dispose()
        self.db = Database(
            app_url_of(self.admin_url),
            Keyring.from_spec(spec),
            admin_url=self.admin_url,
            schema=self.schema,
            pool_size=20,
        )
        migrate(self.db)
        self.env = {
            **os.environ,
            "FRONTDESK_BROKER_URL": self.redis_url,
            "FRONTDESK_REDIS_URL": self.redis_url,
            "FRONTDESK_REDIS_PREFIX": self.prefix,
            "FRONTDESK_BROKER_PREFIX": self.prefix + "broker:",
            "FRONTDESK_WORKER_CONTEXT": "tests.workers.worker_app:make_context",
            "FRONTDESK_TEST_DB_URL": app_url_of(self.admin_url),
            "FRONTDESK_TEST_DB_ADMIN_URL": self.admin_url,
            "FRONTDESK_TEST_DB_SCHEMA": self.schema,
            "FRONTDESK_TEST_KEYS": spec,
            "FRONTDESK_WORKER_DEBOUNCE": "0",
            "FRONTDESK_WORKER_LEASE_TTL": "2",
            "PYTHONPATH": str(ROOT),
            **settings,
        }
        self.config = WorkerConfig.from_env(self.env)
        import redis

        self.redis = redis.Redis.from_url(self.redis_url)
        self.app = make_celery(self.config, concurrency=10)
        self.ctx = build_context(
            self.config,
            CeleryEnqueuer(self.app),
            db=self.db,
            runner=SimulatedRunner(),
            sender=RecordingSender(),
            redis=self.redis,
        )

    def worker(self, name: str, concurrency: int = 20, timeout: float = 20.0, **env: str) -> int:
        """Start a worker process and wait until it is ready; its pid."""
        ready = self.tmp / f"{name}.ready"
        code = f"from workers.cli import run_worker; run_worker({concurrency}, hostname='{name}@test')"
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**self.env, "FRONTDESK_WORKER_READY_FILE": str(ready), **env},
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"{name}.log", "wb"),  # noqa: SIM115
            start_new_session=True,
        )
        self.workers[name] = process
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.tmp / f"{name}.log").read_text()[-3000:])
            time.sleep(0.05)
        return process.pid

    def records(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.redis.lrange(self.prefix + kind, 0, -1)]

    def wait_for(self, predicate: Any, timeout: float, step: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(step)
        return bool(predicate())

    def stop(self) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        if self.ctx is not None:
            self.ctx.close()
        if self.redis is not None:
            keys = list(self.redis.scan_iter(match=self.prefix + "*", count=1000))
            if keys:
                self.redis.delete(*keys)
            self.redis.close()
        if self.db is not None:
            self.db.dispose()
            admin = create_engine(self.admin_url)
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()
