"""The gateway app, wired: webhook and API over the database, wake-ups through the broker,
the console's live events over Redis pub/sub when Redis is configured (in-process otherwise)."""

from __future__ import annotations

from typing import Any

from gateway.app import create_app
from gateway.live import Hub
from gateway.services import GatewayServices
from store.db import Database
from workers.celery_app import make_celery
from workers.context import Enqueuer, WorkerConfig
from workers.runtime import redis_client
from workers.tasks import CeleryEnqueuer


def build_app(db: Database, enqueuer: Enqueuer | None = None) -> Any:
    """The FastAPI app; messages wake workers through the configured broker."""
    config = WorkerConfig.from_env()
    enqueue = enqueuer or CeleryEnqueuer(make_celery(config))
    events = Hub(redis_client(config.redis_url, 20), config.redis_prefix) if config.redis_url else Hub()
    services = GatewayServices(db=db, wake_drain=enqueue.drain, wake_send=enqueue.send, events=events)
    return create_app(services)
