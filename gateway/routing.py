"""Which channel a webhook addresses, with its app secret, cached for a few seconds.

Every customer message is a webhook, and finding its channel costs two transactions (the
lookup function, then the channel under its tenant) and a decryption; the cache keeps the
answer for ``ttl`` seconds. Only found numbers are cached: a number connected a moment ago
is seen at once. A signature that fails against a cached channel is checked again against a
fresh read, so a rotated app secret works at once; a removed channel is forgotten within ``ttl``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from store.crypto import Secret
from store.db import Database
from store.models import Channel
from store.repo.channels import secrets_of, tenant_of_phone_number_id


@dataclass(frozen=True)
class Route:
    channel: Channel
    app_secret: Secret


def load_channels(db: Database, tenant_id: int, **where: str) -> list[Channel]:
    """The tenant's *active* channels matching ``where`` (column = value): a pending channel
    (ownership not proven) is never routed a webhook nor answers Meta's handshake."""
    with db.tenant_session(tenant_id) as session:
        query = select(Channel).where(Channel.tenant_id == tenant_id, Channel.verified_at.is_not(None))
        for name, value in where.items():
            query = query.where(getattr(Channel, name) == value)
        return list(session.scalars(query))


def route_numbers(db: Database, numbers: list[str]) -> dict[str, Route]:
    """Read the channels of these phone number ids (unknown numbers are left out)."""
    with db.app_session() as session:
        tenants = {number: tenant_of_phone_number_id(session, number) for number in numbers}
    routes: dict[str, Route] = {}
    for number, tenant_id in tenants.items():
        if tenant_id is not None:
            for channel in load_channels(db, tenant_id, phone_number_id=number):
                routes[number] = Route(channel, secrets_of(db.keyring, channel).app_secret)
    return routes


@dataclass
class RouteCache:
    ttl: float = 10.0
    _entries: dict[str, tuple[float, Route]] = field(default_factory=dict[str, tuple[float, Route]])
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def routes(self, db: Database, numbers: list[str], *, fresh: bool = False) -> dict[str, Route]:
        """The routes of ``numbers``: cached ones younger than ``ttl`` unless ``fresh``."""
        now = time.monotonic()
        found: dict[str, Route] = {}
        if not fresh and self.ttl > 0:
            with self._lock:
                for number in numbers:
                    entry = self._entries.get(number)
                    if entry is not None and now - entry[0] < self.ttl:
                        found[number] = entry[1]
        missing = [n for n in numbers if n not in found]
        if missing:
            read = route_numbers(db, missing)
            with self._lock:
                for number in missing:
                    if number in read:
                        self._entries[number] = (now, read[number])
                    else:
                        self._entries.pop(number, None)
            found.update(read)
        return found
