"""Thin Celery tasks: each body calls a plain function of ``workers`` with the process's context.

Celery messages are only wake-ups; losing or repeating one is harmless (the sweeper every
worker runs wakes stranded mailboxes, and leases, fences and outbox claims make repeats no-ops).
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from celery import Celery, signals

from workers import runtime
from workers.celery_app import (
    DRAIN_TASK,
    OUTBOX_QUEUE,
    PRUNE_TASK,
    QUEUES,
    RETENTION_TASK,
    SEND_TASK,
    SWEEP_TASK,
    TRACE_ERASURE_TASK,
    TURNS_QUEUE,
)
from workers.context import WorkerConfig, WorkerContext
from workers.drain import drain_and_reschedule
from workers.sending import send_once
from workers.sweeper import SweepLoop, sweep

log = logging.getLogger(__name__)


class CeleryEnqueuer:
    """Wake-ups through the broker; what the gateway uses after appending a message.

    Each message's argument repr (what the worker logs) is written here instead of by Celery's
    ``saferepr``; the queue is not declared again on every publish (the workers declare theirs
    when they start consuming, and a publish to the default exchange lands in the named queue
    either way). Each carries when it was sent (``woken_at``), so the sweeper can tell how long
    the turns queue keeps wake-ups waiting (:meth:`drain_backlog`).
    """

    def __init__(self, app: Celery) -> None:
        self.app = app

    def _wake(self, task: str, queue: str, tenant_id: int, item_id: int, countdown: float) -> None:
        self.app.send_task(
            task,
            args=[tenant_id, item_id],
            countdown=countdown or None,
            queue=queue,
            argsrepr=f"({tenant_id!r}, {item_id!r})",
            kwargsrepr="{}",
            declare=[],
            headers={WOKEN_AT: time.time()},
        )

    def drain(self, tenant_id: int, conversation_id: int, countdown: float = 0.0) -> None:
        self._wake(DRAIN_TASK, TURNS_QUEUE, tenant_id, conversation_id, countdown)

    def send(self, tenant_id: int, outbox_id: int, countdown: float = 0.0) -> None:
        self._wake(SEND_TASK, OUTBOX_QUEUE, tenant_id, outbox_id, countdown)

    def drain_backlog(self) -> float:
        """Seconds the oldest drain wake-up in the turns queue has waited (Redis broker; else 0)."""
        if not str(self.app.conf.broker_url).startswith("redis"):
            return 0.0
        with self.app.connection_for_read() as connection:
            client = getattr(connection.default_channel, "client", None)
            if client is None:
                return 0.0
            # kombu prefixes the keys of the commands it uses itself (LLEN, BRPOP…), not LINDEX's
            prefixed = "LINDEX" in getattr(client, "PREFIXED_SIMPLE_COMMANDS", ())
            prefix = "" if prefixed else getattr(client, "global_keyprefix", "")
            raw = client.lindex(prefix + TURNS_QUEUE, -1)  # the oldest: BRPOP takes the right end
        if not raw:
            return 0.0
        woken_at = json.loads(raw).get("headers", {}).get(WOKEN_AT)
        return max(0.0, time.time() - float(woken_at)) if woken_at else 0.0


WOKEN_AT = "woken_at"


def wake(app: Celery, tenant_id: int, conversation_id: int) -> None:
    """Ask a worker to drain the conversation's mailbox (call after appending a message)."""
    CeleryEnqueuer(app).drain(tenant_id, conversation_id)


def _context(app: Celery, config: WorkerConfig) -> WorkerContext:
    return runtime.context(config, CeleryEnqueuer(app))


def queue_depths(app: Celery) -> dict[str, int]:
    """Messages waiting in each queue (Redis broker only)."""
    with app.connection_for_read() as connection:
        client = getattr(connection.default_channel, "client", None)
        if client is None:
            return {}
        return {queue: int(client.llen(queue)) for queue in QUEUES}


def register(app: Celery, config: WorkerConfig) -> None:
    """Define the tasks on ``app`` and hook the worker's start and shutdown."""

    def drain_task(tenant_id: int, conversation_id: int) -> str:
        return drain_and_reschedule(_context(app, config), tenant_id, conversation_id).status

    def send_task(tenant_id: int, outbox_id: int) -> str:
        return send_once(_context(app, config), tenant_id, outbox_id)

    def sweep_task() -> dict[str, int]:
        report = sweep(_context(app, config))
        return {"drains": report.drains, "sends": report.sends}

    def prune_task() -> int:
        ctx = _context(app, config)
        return ctx.maintenance() if ctx.maintenance is not None else 0

    def retention_task() -> dict[str, int]:
        from workers import privacy  # Langfuse's client: only in the maintenance tasks

        ctx = _context(app, config)
        return privacy.purge(ctx.privacy).totals() if ctx.privacy is not None else {}

    def trace_erasure_task() -> dict[str, int]:
        from workers import privacy

        ctx = _context(app, config)
        return privacy.process_traces(ctx.privacy) if ctx.privacy is not None else {}

    for name, function in (
        (DRAIN_TASK, drain_task),
        (SEND_TASK, send_task),
        (SWEEP_TASK, sweep_task),
        (PRUNE_TASK, prune_task),
        (RETENTION_TASK, retention_task),
        (TRACE_ERASURE_TASK, trace_erasure_task),
    ):
        app.task(name=name, ignore_result=True)(function)

    def on_ready(sender: Any = None, **_: Any) -> None:
        if getattr(sender, "app", None) is not app:
            return
        ctx = _context(app, config)
        SweepLoop(ctx).start()  # every worker sweeps (one at a time, under a lock): no beat needed
        if config.metrics_port:
            from prometheus_client import start_http_server

            if config.broker_url.startswith("redis"):
                ctx.metrics.watch_queues(lambda: queue_depths(app))
            start_http_server(config.metrics_port, registry=ctx.metrics.registry)
        if config.ready_file:
            with open(config.ready_file, "w") as handle:
                handle.write(str(os.getpid()))

    def on_shutting_down(**_: Any) -> None:
        ctx = runtime.current()
        if ctx is not None:
            ctx.shutdown.set()  # drains stop between turns and re-enqueue their mailbox

    signals.worker_ready.connect(on_ready, weak=False, dispatch_uid=f"frontdesk-ready-{id(app)}")
    signals.worker_shutting_down.connect(
        on_shutting_down, weak=False, dispatch_uid=f"frontdesk-shutdown-{id(app)}"
    )
