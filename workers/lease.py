"""Leases with fencing tokens: one holder per key, renewed while it works.

Production keeps leases in Redis (``SET NX PX`` with a random token; renew and release
compare the token in Lua). Every acquisition also takes a fencing token from one global
``INCR`` counter, so a later holder always has a larger token than an earlier one; the
database rejects writes that carry a smaller token than it has seen
(:func:`workers.mailbox.open_turn` registers the fence). The embedded default has no Redis:
the same interface over the ``worker_leases`` table.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import select, update

from store.db import Database
from store.models import WorkerLease, utcnow
from workers._sql import insert_ignore, rowcount

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lease:
    """A held lease: ``token`` proves ownership, ``fence`` orders holders over time."""

    key: str
    token: str
    fence: int


class LeaseManager(Protocol):
    """Where leases live (Redis or the database)."""

    def acquire(self, key: str, ttl: float) -> Lease | None:
        """Take the lease for ``ttl`` seconds, or None when someone else holds it."""
        ...

    def renew(self, lease: Lease, ttl: float) -> bool:
        """Extend a lease we still hold; False when it was lost."""
        ...

    def release(self, lease: Lease) -> bool:
        """Give the lease up; True when someone knocked while we held it, or we cannot tell
        (the holder must then look at its mailbox once more)."""
        ...

    def is_held(self, key: str) -> bool:
        """Whether anyone holds a live lease on ``key``."""
        ...

    def advance(self, lease: Lease, at_least: int) -> Lease | None:
        """A new fence above ``at_least`` for a lease we hold (after the counter was lost)."""
        ...


_ACQUIRE = """
if redis.call('exists', KEYS[1]) == 1 then
  redis.call('set', KEYS[3], '1', 'PX', ARGV[2])
  return 0
end
local fence = redis.call('incr', KEYS[2])
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return fence
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
local knocked = redis.call('del', KEYS[2])
if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1]) end
return knocked
"""
_ADVANCE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local current = tonumber(redis.call('get', KEYS[2]) or '0')
if current < tonumber(ARGV[2]) then redis.call('set', KEYS[2], ARGV[2]) end
return redis.call('incr', KEYS[2])
"""


class RedisLeases:
    """Leases in Redis; the fencing counter is one key shared by all leases."""

    def __init__(self, client: Any, prefix: str = "frontdesk:") -> None:
        self.client = client
        self.prefix = prefix
        self._fence_key = f"{prefix}fence"
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._advance = client.register_script(_ADVANCE)

    def _key(self, key: str) -> str:
        return f"{self.prefix}lease:{key}"

    def _knock(self, key: str) -> str:
        return f"{self.prefix}knock:{key}"

    def script_keys(self, key: str) -> list[str]:
        """The lease, fence counter and knock keys :data:`_ACQUIRE` takes (in that order)."""
        return [self._key(key), self._fence_key, self._knock(key)]

    @staticmethod
    def ms(seconds: float) -> int:
        return _ms(seconds)

    def acquire(self, key: str, ttl: float) -> Lease | None:
        """Take the lease; when it is held, leave a knock for the holder instead."""
        token = secrets.token_hex(16)
        keys = self.script_keys(key)
        fence = int(self._acquire(keys=keys, args=[token, _ms(ttl)]))
        return Lease(key, token, fence) if fence else None

    def renew(self, lease: Lease, ttl: float) -> bool:
        return bool(self._renew(keys=[self._key(lease.key)], args=[lease.token, _ms(ttl)]))

    def release(self, lease: Lease) -> bool:
        keys = [self._key(lease.key), self._knock(lease.key)]
        return bool(self._release(keys=keys, args=[lease.token]))

    def is_held(self, key: str) -> bool:
        return bool(self.client.exists(self._key(key)))

    def advance(self, lease: Lease, at_least: int) -> Lease | None:
        keys = [self._key(lease.key), self._fence_key]
        fence = int(self._advance(keys=keys, args=[lease.token, at_least]))
        return Lease(lease.key, lease.token, fence) if fence else None


class DatabaseLeases:
    """Leases in the ``worker_leases`` table, for the embedded default without Redis.

    Rows are never deleted (release expires them), so a key's fence only grows.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def acquire(self, key: str, ttl: float) -> Lease | None:
        token = secrets.token_hex(16)
        now = utcnow()
        expires = now + timedelta(seconds=ttl)
        with self.db.app_session() as session:
            taken = session.execute(
                update(WorkerLease)
                .where(WorkerLease.key == key, WorkerLease.expires_at <= now)
                .values(token=token, fence=WorkerLease.fence + 1, expires_at=expires)
            )
            if rowcount(taken) == 0:
                values = {"key": key, "token": token, "fence": 1, "expires_at": expires}
                if not insert_ignore(session, WorkerLease.__table__, values):  # type: ignore[arg-type]
                    return None
            fence = session.scalar(select(WorkerLease.fence).where(WorkerLease.key == key))
        return Lease(key, token, int(fence or 0))

    def _update_if_ours(self, lease: Lease, **values: Any) -> bool:
        with self.db.app_session() as session:
            result = session.execute(
                update(WorkerLease)
                .where(
                    WorkerLease.key == lease.key,
                    WorkerLease.token == lease.token,
                    WorkerLease.expires_at > utcnow(),
                )
                .values(**values)
            )
            return rowcount(result) == 1

    def renew(self, lease: Lease, ttl: float) -> bool:
        return self._update_if_ours(lease, expires_at=utcnow() + timedelta(seconds=ttl))

    def release(self, lease: Lease) -> bool:
        self._update_if_ours(lease, expires_at=utcnow() - timedelta(seconds=1))
        return True  # no knocks here: always look at the mailbox once more

    def is_held(self, key: str) -> bool:
        with self.db.app_session() as session:
            found = session.scalar(
                select(WorkerLease.key).where(WorkerLease.key == key, WorkerLease.expires_at > utcnow())
            )
        return found is not None

    def advance(self, lease: Lease, at_least: int) -> Lease | None:
        fence = at_least + 1
        if not self._update_if_ours(lease, fence=fence):
            return None
        return Lease(lease.key, lease.token, fence)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


@dataclass
class _Tracked:
    lease: Lease
    ttl: float
    stop_renewing_at: float
    renewed_at: float = field(default_factory=time.monotonic)
    """When the holder last set the lease's ttl (taking it counts)."""
    lost: threading.Event = field(default_factory=threading.Event)


class LeaseKeeper:
    """One background thread that renews every lease this process holds.

    A lease whose deadline has passed is no longer renewed, so a hung turn loses its lease
    and another worker can take over (its writes are then fenced off).

    ``renew_after``: a lease is renewed only once that share of its ttl has passed since it
    was taken or last renewed (0: every round). Most drains end within a few seconds, so
    renewing every lease every round mostly renewed leases that were just taken. With rounds
    every ``interval``, a lease is renewed with at least ``1 - renew_after`` of its ttl minus
    one ``interval`` left.
    """

    def __init__(
        self,
        leases: LeaseManager,
        interval: float = 1.0,
        *,
        also: Callable[[], None] | None = None,
        also_every: float | None = None,
        renew_after: float = 0.0,
    ) -> None:
        self.leases = leases
        self.interval = interval
        self.also = also
        """Called every ``also_every`` seconds (default: every round; renews the process's
        fairness slots)."""
        self.also_every = interval if also_every is None else also_every
        self.renew_after = renew_after
        self._also_at = 0.0
        self._tracked: dict[str, _Tracked] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def track(self, lease: Lease, ttl: float, deadline: float) -> threading.Event:
        """Keep ``lease`` alive until ``deadline`` (monotonic); the event is set if it is lost.

        Tracking the same lease again moves its deadline (one per turn).
        """
        with self._lock:
            tracked = self._tracked.get(lease.token)
            if tracked is None:
                tracked = self._tracked[lease.token] = _Tracked(lease, ttl, deadline)
            else:
                tracked.lease, tracked.ttl, tracked.stop_renewing_at = lease, ttl, deadline
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self._thread.start()
        return tracked.lost

    def update(self, old: Lease, new: Lease) -> None:
        """The lease's fence changed (see :meth:`LeaseManager.advance`)."""
        with self._lock:
            tracked = self._tracked.get(old.token)
            if tracked is not None:
                tracked.lease = new

    def untrack(self, lease: Lease) -> None:
        with self._lock:
            self._tracked.pop(lease.token, None)

    def held(self) -> list[Lease]:
        with self._lock:
            return [t.lease for t in self._tracked.values()]

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def renew_all(self) -> None:
        """Renew every tracked lease once (the thread calls this every ``interval``)."""
        with self._lock:
            tracked = list(self._tracked.values())
        now = time.monotonic()
        for item in tracked:
            if item.lost.is_set():
                continue
            if now > item.stop_renewing_at:
                item.lost.set()
                continue
            if now - item.renewed_at < item.ttl * self.renew_after:
                continue  # taken or renewed a moment ago
            try:
                if not self.leases.renew(item.lease, item.ttl):
                    item.lost.set()
                else:
                    item.renewed_at = now
            except Exception as exc:  # a broker hiccup: keep trying until the lease expires
                log.warning("lease renewal failed: %s", type(exc).__name__)
        if self.also is not None and now - self._also_at >= self.also_every * 0.999:
            self._also_at = now
            try:
                self.also()
            except Exception as exc:
                log.warning("renewal failed: %s", type(exc).__name__)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.renew_all()
