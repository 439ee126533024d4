"""The worker process's context: the receptionist graph as turn runner, the Cloud API sender."""

from __future__ import annotations

import asyncio
import logging
import threading

from agent.llm.factory import import_provider_sdks
from channels.cloud_api import CloudApiClient
from frontdesk import services
from frontdesk.runner import ReceptionistTurnRunner
from frontdesk.settings import load_settings
from frontdesk.wiring import open_database
from workers.context import Enqueuer, WorkerConfig, WorkerContext
from workers.runtime import build_context
from workers.sending import WhatsAppSender

log = logging.getLogger(__name__)


def make_worker_context(config: WorkerConfig, enqueue: Enqueuer) -> WorkerContext:
    """Build everything a worker needs once per process (named by ``frontdesk worker``)."""
    settings = load_settings()
    db = open_database(settings)
    db.check_app()  # refuse to run as a role that could escape row-level security

    def alert(kind: str, detail: dict[str, object]) -> None:
        log.warning("frontdesk alert %s %s", kind, {k: v for k, v in detail.items() if k != "error"})

    receptionist = services.receptionist(settings, db, alert=alert)
    threading.Thread(target=import_provider_sdks, name="import-sdks", daemon=True).start()
    sender = WhatsAppSender(db, CloudApiClient(settings.whatsapp_graph_url))
    context = build_context(
        config, enqueue, db=db, runner=ReceptionistTurnRunner(receptionist), sender=sender
    )

    def maintenance() -> int:
        """Hourly: prune old checkpoints (keep the latest per thread), purge expired vault entries."""
        pruned = asyncio.run(receptionist.checkpoints.prune())
        purge = getattr(receptionist.redactor.vault, "purge_expired", None)
        return pruned + (int(purge()) if purge is not None else 0)

    context.maintenance = maintenance
    context.privacy = services.privacy_services(settings, db)
    context.privacy.checkpoints = receptionist.checkpoints  # one pool per process
    return context
