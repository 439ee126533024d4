"""The gateway app, wired: webhook and API over the database, wake-ups through the broker,
the console's live events over Redis pub/sub when Redis is configured (in-process otherwise)."""

from __future__ import annotations

import functools
from typing import Any

from agent.llm.hosts import HostPolicy, parse_hosts
from channels.cloud_api import CloudApiClient
from frontdesk.services import privacy_services
from frontdesk.settings import Settings, load_settings
from gateway.app import create_app
from gateway.live import Hub
from gateway.services import GatewayServices, GatewaySettings
from store.db import Database
from workers.celery_app import make_celery
from workers.context import Enqueuer, WorkerConfig
from workers.runtime import redis_client
from workers.tasks import CeleryEnqueuer


def gateway_settings(settings: Settings) -> GatewaySettings:
    """The HTTP app's switches from the environment."""
    return GatewaySettings(
        docs=settings.api_docs,
        trusted_proxies=parse_hosts(settings.trusted_proxies),
        body_timeout_seconds=settings.body_timeout,
    )


def build_app(db: Database, enqueuer: Enqueuer | None = None, settings: Settings | None = None) -> Any:
    """The FastAPI app; messages wake workers through the configured broker."""
    settings = settings or load_settings()
    config = WorkerConfig.from_env()
    enqueue = enqueuer or CeleryEnqueuer(make_celery(config))
    events = Hub(redis_client(config.redis_url, 20), config.redis_prefix) if config.redis_url else Hub()
    services = GatewayServices(
        db=db,
        wake_drain=enqueue.drain,
        wake_send=enqueue.send,
        events=events,
        settings=gateway_settings(settings),
        provider_hosts=HostPolicy.from_spec(settings.provider_hosts),
        privacy=privacy_services(settings, db),
        graph=functools.partial(CloudApiClient, settings.whatsapp_graph_url),
    )
    return create_app(services)


def server_config(app: Any, host: str, port: int, **options: Any) -> Any:
    """uvicorn's config for the gateway app: proxy headers only from its trusted proxies.

    uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1 by default; here no proxy is trusted
    unless the operator lists it (``FRONTDESK_TRUSTED_PROXIES``), so the client address the
    app sees (sign-in limits, the audit log) is the connection's own.
    """
    import uvicorn

    proxies: tuple[str, ...] = app.state.services.settings.trusted_proxies
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=list(proxies) or [],
        **options,
    )
