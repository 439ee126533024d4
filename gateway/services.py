"""What the gateway needs from the composition root: the database, wake-ups, a clock, settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from agent.llm.hosts import HostPolicy
from channels.cloud_api import CloudApiClient
from gateway.live import Hub
from gateway.routing import RouteCache
from store.db import Database
from store.models import utcnow

if TYPE_CHECKING:
    from workers.privacy import PrivacyServices

log = logging.getLogger("frontdesk.gateway")

WakeDrain = Callable[[int, int], None]
"""``wake_drain(tenant_id, conversation_id)``: a conversation's mailbox has new messages."""
WakeSend = Callable[[int, int], None]
"""``wake_send(tenant_id, outbox_id)``: an outbox item is ready to send."""
Alert = Callable[[str, dict[str, object]], None]
"""``alert(kind, details)``: a security event for the operator (details hold no secrets)."""


def _log_alert(kind: str, details: dict[str, object]) -> None:
    log.warning("security alert %s %s", kind, details)


@dataclass(frozen=True)
class GatewaySettings:
    """Limits and switches of the HTTP app."""

    webhook_max_bytes: int = 3 * 1024 * 1024
    """Meta's payloads reach 3 MB; larger bodies answer 413."""
    api_max_bytes: int = 20 * 1024 * 1024
    """Uploads of knowledge documents and every other API body."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins allowed to call the API; none by default (CORS closed)."""
    lockout_threshold: int = 5
    """Failed sign-ins for one token prefix before that user is locked."""
    lockout_seconds: float = 15 * 60
    client_failure_limit: int = 20
    """Failed sign-ins from one client (address) within ``client_window_seconds`` before it is
    refused with 429 for ``lockout_seconds``."""
    client_window_seconds: float = 10 * 60
    trace_url_template: str | None = None
    """Link to a turn's trace, e.g. ``https://langfuse.example/project/p1/sessions/{session_id}``;
    placeholders: ``{session_id}`` (``tenant-slug:conversation-id``), ``{turn_id}``,
    ``{conversation_id}``, ``{tenant}``."""
    docs: bool = True
    """Serve ``/docs`` and ``/openapi.json`` (``FRONTDESK_API_DOCS``)."""
    trusted_proxies: tuple[str, ...] = ()
    """Proxies whose ``X-Forwarded-For`` the server applies (``FRONTDESK_TRUSTED_PROXIES``)."""
    body_timeout_seconds: float = 30.0
    """A request body not received within this answers 408 (a slow-sending client)."""
    console_session_hours: float = 8.0
    """How long a console sign-in lasts (the cookie and its signed expiry)."""
    loopback_webhooks: bool = False
    """Accept a plain-HTTP handoff webhook to this machine (development and tests)."""
    console_secure_cookie: bool = False
    """Mark the console's cookies ``Secure`` (set it behind HTTPS)."""
    page_size: int = 50
    max_page_size: int = 500


@dataclass
class GatewayServices:
    """Injected by ``frontdesk`` (the composition root); tests pass recording fakes."""

    db: Database
    wake_drain: WakeDrain
    wake_send: WakeSend
    settings: GatewaySettings = field(default_factory=GatewaySettings)
    clock: Callable[[], datetime] = utcnow
    alert: Alert = _log_alert
    routes: RouteCache = field(default_factory=RouteCache)
    """Webhook routing, cached for a few seconds (:mod:`gateway.routing`)."""
    privacy: PrivacyServices | None = None
    """The stores an erasure reaches beyond the database (checkpoints, Redis, Langfuse); None:
    the database and key store only."""

    def privacy_services(self) -> PrivacyServices:
        from workers.privacy import PrivacyServices

        return self.privacy or PrivacyServices(self.db)

    provider_hosts: HostPolicy = field(default_factory=HostPolicy)
    """Where a tenant admin may point its model provider (``FRONTDESK_PROVIDER_HOSTS``)."""
    events: Hub = field(default_factory=Hub)
    """Live events for the console (in-process by default, Redis pub/sub when wired so)."""
    graph: Callable[[], CloudApiClient] = CloudApiClient
    """A Graph API client for the channels' ownership proofs (``FRONTDESK_WHATSAPP_GRAPH_URL``)."""
