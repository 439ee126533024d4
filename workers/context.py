"""Everything a worker needs, built once per process and handed to the plain functions."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from store.db import Database
from workers.events import NullPublisher, Publisher
from workers.fairness import Fairness, FairnessPolicy, HeldPermits
from workers.lease import LeaseKeeper, LeaseManager
from workers.metrics import WorkerMetrics
from workers.outbox import OutboundSender, SendPolicy

if TYPE_CHECKING:
    from workers.privacy import PrivacyServices
from workers.turns import TurnRunner


@dataclass(frozen=True)
class WorkerConfig:
    """Tunables of the workers; :meth:`from_env` reads ``FRONTDESK_*`` variables."""

    broker_url: str = "sqla+sqlite:///var/broker.db"
    redis_url: str | None = None
    """Leases and fairness; None keeps them in the database and the process (embedded)."""
    redis_prefix: str = "frontdesk:"
    """Prefix of the leases' and fairness keys in Redis."""
    broker_prefix: str | None = None
    """Prefix of the broker's keys in Redis (several deployments or test runs on one Redis)."""
    ready_file: str | None = None
    """Touched when the worker is ready (readiness probes, tests)."""
    debounce: float = 1.5
    """A turn starts once the newest pending message is this old (a burst becomes one turn)."""
    max_debounce: float = 6.0
    """…but a stream of messages never delays a turn longer than this."""
    lease_ttl: float = 6.0
    """A dead worker's conversations are free again this long after its last renewal (the
    holder renews every quarter of it)."""
    turn_deadline: float = 120.0
    retry_deadline: float = 180.0
    """A turn the provider keeps refusing (429, 5xx) is rescheduled until its oldest message is
    this old, then handed to a human."""
    max_turn_attempts: int = 3
    batch_limit: int = 50
    sweep_interval: float = 2.0
    """Every worker sweeps; the cluster as a whole about once per interval."""
    sweep_min_age: float = 4.0
    """The sweeper re-enqueues mailboxes whose pending messages are older than this."""
    shutdown_grace: float = 150.0
    metrics_port: int | None = None
    inline_first_send: bool = True
    """The drain makes a reply's first send attempt itself; the send task only retries."""
    loopback_webhooks: bool = False
    """Let a tenant's handoff webhook be plain HTTP to this machine (development and tests)."""
    send: SendPolicy = field(default_factory=SendPolicy)
    fairness: FairnessPolicy = field(default_factory=FairnessPolicy)

    @property
    def visibility_timeout(self) -> int:
        """Above the longest task or countdown: debounce + turn deadline, or a provider retry's
        wait (jittered), + margin (the broker redelivers after)."""
        longest = max(self.max_debounce + self.turn_deadline, self.retry_deadline * 1.3)
        return int(longest + 2 * self.lease_ttl + 60)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> WorkerConfig:
        env = dict(os.environ if environ is None else environ)

        def number(name: str, default: float) -> float:
            raw = env.get(f"FRONTDESK_WORKER_{name}")
            return default if raw in (None, "") else float(raw)

        broker = env.get("FRONTDESK_BROKER_URL") or cls.broker_url
        redis_url = env.get("FRONTDESK_REDIS_URL") or (broker if broker.startswith("redis") else None)
        port = env.get("FRONTDESK_METRICS_PORT")
        return cls(
            broker_url=broker,
            redis_url=redis_url,
            redis_prefix=env.get("FRONTDESK_REDIS_PREFIX") or cls.redis_prefix,
            broker_prefix=env.get("FRONTDESK_BROKER_PREFIX") or None,
            ready_file=env.get("FRONTDESK_WORKER_READY_FILE") or None,
            debounce=number("DEBOUNCE", cls.debounce),
            max_debounce=number("MAX_DEBOUNCE", cls.max_debounce),
            lease_ttl=number("LEASE_TTL", cls.lease_ttl),
            turn_deadline=number("TURN_DEADLINE", cls.turn_deadline),
            retry_deadline=number("RETRY_DEADLINE", cls.retry_deadline),
            sweep_interval=number("SWEEP_INTERVAL", cls.sweep_interval),
            sweep_min_age=number("SWEEP_MIN_AGE", cls.sweep_min_age),
            shutdown_grace=number("SHUTDOWN_GRACE", cls.shutdown_grace),
            metrics_port=int(port) if port else None,
            loopback_webhooks=env.get("FRONTDESK_HANDOFF_WEBHOOK_LOOPBACK", "") in ("1", "true", "yes"),
            inline_first_send=env.get("FRONTDESK_WORKER_INLINE_SEND", "1") not in ("0", "false", "no"),
            fairness=FairnessPolicy(
                tenant_concurrency=int(number("TENANT_CONCURRENCY", FairnessPolicy.tenant_concurrency)),
                tenant_rate=number("TENANT_RATE", FairnessPolicy.tenant_rate),
            ),
        )


class Enqueuer(Protocol):
    """How the plain functions ask for more work (Celery in a worker, a list in tests)."""

    def drain(self, tenant_id: int, conversation_id: int, countdown: float = 0.0) -> None: ...

    def send(self, tenant_id: int, outbox_id: int, countdown: float = 0.0) -> None: ...

    def drain_backlog(self) -> float:
        """Seconds the oldest queued drain wake-up has waited (0: none, or cannot tell)."""
        ...


@dataclass
class WorkerContext:
    db: Database
    runner: TurnRunner
    sender: OutboundSender
    leases: LeaseManager
    fairness: Fairness
    enqueue: Enqueuer
    config: WorkerConfig = field(default_factory=WorkerConfig)
    metrics: WorkerMetrics = field(default_factory=WorkerMetrics)
    keeper: LeaseKeeper | None = None
    shutdown: threading.Event = field(default_factory=threading.Event)
    """Set on SIGTERM: drains stop between turns and hand their mailbox on."""
    events: Publisher = field(default_factory=NullPublisher)
    """Live events for the agents' console (Redis pub/sub when Redis is configured)."""
    maintenance: Callable[[], int] | None = None
    """The hourly schedule's job (checkpoint pruning, later retention); returns rows removed."""
    privacy: PrivacyServices | None = None
    """The stores retention and trace erasures reach (daily purge, queued trace deletions)."""
    permits: HeldPermits = field(default_factory=HeldPermits)
    """The tenants' slots this process holds, renewed with the leases."""

    def __post_init__(self) -> None:
        if self.keeper is None:
            # A lease is renewed once a third of its ttl passed, so with at least 7/12 of it
            # left; the slots are looked at every quarter of the shorter ttl (_renew_slots).
            ttl, slot_ttl = self.config.lease_ttl, self.config.fairness.slot_ttl
            also_every = max(0.05, min(ttl, slot_ttl) / 4)
            self.keeper = LeaseKeeper(
                self.leases,
                interval=max(0.05, min(ttl / 12, also_every)),
                also=self._renew_slots,
                also_every=also_every,
                renew_after=1 / 3,
            )

    def _renew_slots(self) -> None:
        """Renew the slots taken or renewed a third of their ttl ago (most turns end first).

        The keeper calls this about every quarter of the shorter of the lease and slot ttls, so
        a slot is renewed well before it expires (with the defaults, with more than 3 s of its
        8 s left; a slot of a dead worker still expires ``slot_ttl`` after its last renewal).
        """
        now = time.monotonic()
        due = self.permits.due(self.config.fairness.slot_ttl / 3)
        if due:
            self.fairness.renew(due)
            self.permits.renewed(due, now)

    def close(self) -> None:
        if self.keeper is not None:
            self.keeper.close()
