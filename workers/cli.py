"""Plain entry points the ``frontdesk`` command wires: ``frontdesk worker`` and ``frontdesk beat``."""

from __future__ import annotations

import os

from workers import runtime
from workers.celery_app import DEFAULT_CONCURRENCY, QUEUES, make_celery
from workers.context import WorkerConfig
from workers.runtime import ContextFactory


def run_worker(
    concurrency: int = DEFAULT_CONCURRENCY,
    queues: list[str] | None = None,
    *,
    config: WorkerConfig | None = None,
    context_factory: ContextFactory | None = None,
    hostname: str | None = None,
) -> None:
    """Run a worker (threads pool, prefetch 1) until SIGTERM; blocks.

    On SIGTERM it stops taking work; running turns finish (the threads pool cannot cancel
    them, so the grace period must exceed the turn deadline) and idle drains hand their
    mailbox back to the queue.
    """
    config = config or WorkerConfig.from_env()
    if context_factory is not None:
        runtime.install(context_factory)
    app = make_celery(config, concurrency)
    argv = [
        "worker",
        "--pool=threads",
        f"--concurrency={concurrency}",
        f"--queues={','.join(queues or QUEUES)}",
        "--prefetch-multiplier=1",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        f"--loglevel={os.environ.get('FRONTDESK_LOG_LEVEL', 'WARNING')}",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)


def run_beat(*, config: WorkerConfig | None = None, schedule_file: str = "var/celerybeat-schedule") -> None:
    """Run the scheduler (hourly checkpoint pruning); blocks.

    Run exactly one beat per deployment. The sweeper does not need it: every worker runs it.
    """
    config = config or WorkerConfig.from_env()
    app = make_celery(config)
    os.makedirs(os.path.dirname(schedule_file) or ".", exist_ok=True)
    app.start(["beat", f"--schedule={schedule_file}", "--loglevel=WARNING"])
