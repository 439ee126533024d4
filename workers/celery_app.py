"""The Celery app: configuration for at-least-once, I/O-bound turns on the threads pool.

Measured on this machine (shared/notes/celery-redis.md): the threads pool at 200 ran
181-190 one-second tasks/s in 70 MB; gevent with kombu's default connection pool failed to
ack finished tasks. So: threads, prefetch 1, acks late, a visibility timeout above the
longest task, a fast unacked-restore sweep, and a broker pool sized for the threads.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu.entity import Exchange, Queue

from workers.broker import TRANSPORT
from workers.context import WorkerConfig

TURNS_QUEUE = "turns"
OUTBOX_QUEUE = "outbox"
MAINTENANCE_QUEUE = "maintenance"
QUEUES = (TURNS_QUEUE, OUTBOX_QUEUE, MAINTENANCE_QUEUE)

DRAIN_TASK = "frontdesk.drain"
SEND_TASK = "frontdesk.send"
SWEEP_TASK = "frontdesk.sweep"
PRUNE_TASK = "frontdesk.prune_checkpoints"

DEFAULT_CONCURRENCY = 200


def celery_config(config: WorkerConfig, concurrency: int = DEFAULT_CONCURRENCY) -> dict[str, Any]:
    """Celery settings for ``config`` (see the module docstring for why each is there)."""
    transport: dict[str, Any] = {}
    if config.broker_url.startswith("redis"):
        transport = {
            "visibility_timeout": config.visibility_timeout,
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
            "max_connections": concurrency + 50,
            "socket_timeout": 30,
            "socket_connect_timeout": 5,
            "socket_keepalive": True,
            "health_check_interval": 25,
        }
        if config.broker_prefix:
            transport["global_keyprefix"] = config.broker_prefix
    redis_broker = {"broker_transport": TRANSPORT} if config.broker_url.startswith("redis://") else {}
    # The SQLAlchemy transport (embedded default) hands its options to create_engine, so it
    # keeps kombu's 1 s polling interval.
    return {
        "broker_url": config.broker_url,
        **redis_broker,
        "broker_transport_options": transport,
        "broker_pool_limit": concurrency + 50,
        "broker_connection_retry_on_startup": True,
        "broker_pool_acquire_timeout": 30,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_prefetch_multiplier": 1,
        "worker_pool": "threads",
        "worker_concurrency": concurrency,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "worker_disable_rate_limits": True,  # not used; the consumer skips the check per task
        "task_default_queue": TURNS_QUEUE,
        # one exchange and key per queue: with Celery's default exchange every queue would be
        # bound to the same key, and each message would land in all of them
        "task_queues": [Queue(name, Exchange(name, "direct"), routing_key=name) for name in QUEUES],
        "task_routes": {
            DRAIN_TASK: {"queue": TURNS_QUEUE},
            SEND_TASK: {"queue": OUTBOX_QUEUE},
            SWEEP_TASK: {"queue": MAINTENANCE_QUEUE},
            PRUNE_TASK: {"queue": MAINTENANCE_QUEUE},
        },
        # the sweeper runs in every worker (workers.sweeper.SweepLoop), not on beat's schedule
        "beat_schedule": {
            "prune-checkpoints": {"task": PRUNE_TASK, "schedule": 3600.0},
        },
    }


def make_celery(config: WorkerConfig | None = None, concurrency: int = DEFAULT_CONCURRENCY) -> Celery:
    """A Celery app with the workers' tasks registered."""
    from workers import tasks

    config = config or WorkerConfig.from_env()
    app = Celery("frontdesk", set_as_current=False)
    app.conf.update(celery_config(config, concurrency))
    tasks.register(app, config)
    return app
