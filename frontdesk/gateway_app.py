"""The gateway app, wired: webhook and API over the database, wake-ups through the broker."""

from __future__ import annotations

from typing import Any

from agent.llm.hosts import HostPolicy, parse_hosts
from frontdesk.settings import Settings, load_settings
from gateway.app import create_app
from gateway.services import GatewayServices, GatewaySettings
from store.db import Database
from workers.celery_app import make_celery
from workers.context import Enqueuer, WorkerConfig
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
    enqueue = enqueuer or CeleryEnqueuer(make_celery(WorkerConfig.from_env()))
    return create_app(
        GatewayServices(
            db=db,
            wake_drain=enqueue.drain,
            wake_send=enqueue.send,
            settings=gateway_settings(settings),
            provider_hosts=HostPolicy.from_spec(settings.provider_hosts),
        )
    )


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
