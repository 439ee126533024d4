"""The Redis broker transport: one client per channel, and messages still go round."""

from __future__ import annotations

import time
from typing import Any

from workers.broker import Transport
from workers.celery_app import TURNS_QUEUE, make_celery
from workers.context import WorkerConfig
from workers.tasks import CeleryEnqueuer


def test_a_redis_broker_reuses_one_client_per_channel(redis_url: str, redis_prefix: str) -> None:
    app = make_celery(WorkerConfig(broker_url=redis_url, broker_prefix=redis_prefix + "broker:"))
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
        channel: Any = connection.default_channel
        assert channel._create_client() is channel._create_client()
        with connection.SimpleQueue(TURNS_QUEUE) as queue:
            for n in range(3):
                queue.put({"n": n})
            received = []
            for _ in range(3):
                message = queue.get(timeout=5)
                received.append(message.payload["n"])
                message.ack()
    assert received == [0, 1, 2]


def test_the_turns_queue_backlog_is_its_oldest_wake_ups_wait(redis_url: str, redis_prefix: str) -> None:
    app = make_celery(WorkerConfig(broker_url=redis_url, broker_prefix=redis_prefix + "broker:"))
    enqueue = CeleryEnqueuer(app)
    assert enqueue.drain_backlog() == 0.0
    enqueue.drain(1, 2)
    time.sleep(0.3)
    enqueue.drain(1, 3)
    assert 0.3 <= enqueue.drain_backlog() < 30
