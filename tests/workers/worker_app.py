"""A worker context for the real-worker tests: PostgreSQL, Redis, the simulated runner, and a
sender that records each send in a Redis list (so the test process sees every send).

Named by ``FRONTDESK_WORKER_CONTEXT=tests.workers.worker_app:make_context``; configured by
``FRONTDESK_TEST_*`` variables.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from store.crypto import Keyring
from store.db import Database
from workers.context import Enqueuer, WorkerConfig, WorkerContext
from workers.runtime import build_context, redis_client
from workers.testing import SimulatedRunner
from workers.turns import OpenedTurn, TurnResult


class RedisRecordingSender:
    def __init__(self, client: Any, key: str) -> None:
        self.client, self.key = client, key

    def send_text(
        self, *, tenant_id: int, conversation_id: int, to: str, text: str, idempotency_key: str
    ) -> str:
        wa_id = f"wamid.{idempotency_key}.{time.monotonic_ns()}"
        record = {
            "conversation_id": conversation_id,
            "key": idempotency_key,
            "at": time.time(),
            "pid": os.getpid(),
        }
        self.client.rpush(self.key, json.dumps(record))
        return wa_id


class AnnouncingRunner(SimulatedRunner):
    """Says which process runs each turn (the kill test kills that one)."""

    def __init__(self, client: Any, key: str, low: float, high: float) -> None:
        super().__init__(low, high)
        self.client, self.key = client, key

    def run_turn(self, turn: OpenedTurn) -> TurnResult:
        record = {"turn": turn.turn_id, "pid": os.getpid(), "at": time.time(), "tenant": turn.tenant_id}
        self.client.rpush(self.key, json.dumps(record))
        return super().run_turn(turn)


def make_context(config: WorkerConfig, enqueue: Enqueuer) -> WorkerContext:
    env = os.environ
    db = Database(
        env["FRONTDESK_TEST_DB_URL"],
        Keyring.from_spec(env["FRONTDESK_TEST_KEYS"]),
        admin_url=env.get("FRONTDESK_TEST_DB_ADMIN_URL"),
        schema=env.get("FRONTDESK_TEST_DB_SCHEMA"),
        pool_size=int(env.get("FRONTDESK_TEST_DB_POOL", "20")),
    )
    assert config.redis_url
    client = redis_client(config.redis_url)
    prefix = config.redis_prefix
    low, high = (float(x) for x in env.get("FRONTDESK_TEST_LATENCY", "0.1,0.1").split(","))
    runner = AnnouncingRunner(client, prefix + "runs", low, high)
    sender = RedisRecordingSender(client, prefix + "sent")
    return build_context(config, enqueue, db=db, runner=runner, sender=sender, redis=client)
