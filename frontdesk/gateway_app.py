"""The gateway app, wired: webhook and API over the database, wake-ups through the broker."""

from __future__ import annotations

from typing import Any

from gateway.app import create_app
from gateway.services import GatewayServices
from store.db import Database
from workers.celery_app import make_celery
from workers.context import Enqueuer, WorkerConfig
from workers.tasks import CeleryEnqueuer


def build_app(db: Database, enqueuer: Enqueuer | None = None) -> Any:
    """The FastAPI app; messages wake workers through the configured broker."""
    enqueue = enqueuer or CeleryEnqueuer(make_celery(WorkerConfig.from_env()))
    from frontdesk.services import privacy_services
    from frontdesk.settings import load_settings

    privacy = privacy_services(load_settings(), db)
    return create_app(
        GatewayServices(db=db, wake_drain=enqueue.drain, wake_send=enqueue.send, privacy=privacy)
    )
