"""Privacy requests across every store: the database, the key store, checkpoints, Redis, traces.

:func:`erase_customer` removes a customer everywhere and audits it (counts only); the traces'
deletion in Langfuse is queued (``trace_erasures``) and retried until Langfuse answers.
:func:`purge` applies every tenant's retention (daily, from ``beat``). The stores outside the
database come in :class:`PrivacyServices`, built by the composition root.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent.tracing import erasure as traces
from store import audit, retention
from store import privacy as store_privacy
from store.db import Database
from store.models import Tenant, utcnow

if TYPE_CHECKING:
    from agent.checkpoints import CheckpointStore


def thread_id(tenant_id: int, conversation_id: int) -> str:
    """The checkpoint thread of a conversation (:func:`agent.graphs.receptionist.graph.thread_id`)."""
    from agent.graphs.receptionist.graph import thread_id as of

    return of(tenant_id, conversation_id)


def _no_project(_tenant_id: int) -> Any:
    return None


@dataclass
class PrivacyServices:
    """The stores a privacy request reaches; those left ``None`` are not in use here."""

    db: Database
    checkpoints: CheckpointStore | None = None
    redis: Any = None
    redis_prefix: str = "frontdesk:"
    project_of: traces.ProjectOf = field(default=_no_project)
    """The Langfuse project of a tenant's traces (its own, else the global one), or None."""
    own_project_of: traces.ProjectOf = field(default=_no_project)
    """The tenant's own Langfuse project, or None (retention deletes old traces only there: the
    global project holds every tenant's)."""


def forget_in_redis(
    client: Any, prefix: str, tenant_id: int, conversation_ids: list[int], contact_ids: list[int]
) -> int:
    """Delete every key under ``prefix`` naming these conversations or contacts (leases, knocks,
    pacing), and their entries in the tenant's parking set; returns how many went."""
    removed = 0
    patterns = [f"{prefix}*:{c}" for c in conversation_ids]
    patterns += [f"{prefix}*:c{c}" for c in contact_ids]
    for pattern in patterns:
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            removed += int(client.delete(*keys))
    if conversation_ids:
        removed += int(client.zrem(f"{prefix}parked:{tenant_id}", *[str(c) for c in conversation_ids]))
    return removed


def user_hashes(db: Database, customer_ids: list[str]) -> list[str]:
    """The trace user ids a customer had, under every master key (see ``Receptionist.user_hash``)."""
    return sorted({h[:32] for c in customer_ids for h in db.keyring.blind_indexes(f"trace-user:{c}")})


def erase_customer(
    services: PrivacyServices, tenant_id: int, contact_id: int, *, actor: str
) -> dict[str, Any]:
    """Erase one customer everywhere; returns what was removed (counts, no personal data)."""
    db = services.db
    with db.tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        slug = tenant.slug if tenant is not None else str(tenant_id)
    erased = store_privacy.erase_contact(db, tenant_id, contact_id)
    counts: dict[str, Any] = dict(erased.deleted)
    threads = [thread_id(tenant_id, c) for c in erased.conversation_ids]
    if services.checkpoints is not None:
        counts["checkpoint_threads"] = asyncio.run(services.checkpoints.delete_threads(threads))
    if services.redis is not None:
        counts["redis_keys"] = forget_in_redis(
            services.redis, services.redis_prefix, tenant_id, erased.conversation_ids, [contact_id]
        )
    queued = traces.queue(
        db,
        tenant_id,
        session_ids=[f"{slug}:{c}" for c in erased.conversation_ids],
        user_ids=user_hashes(db, erased.customer_ids),
    )
    result = {
        "contact_id": contact_id,
        "conversations": len(erased.conversation_ids),
        "deleted": counts,
        "data_key_destroyed": erased.keys_destroyed > 0,
        "trace_erasure": queued,
    }
    audit.append_in(
        db, tenant_id, actor=actor, action="privacy.erased", subject=f"contact:{contact_id}", details=result
    )
    result["traces"] = traces.process_queue(db, services.project_of, only=queued)  # now, if Langfuse answers
    return result


def export_customer(
    services: PrivacyServices, tenant_id: int, contact_id: int, *, actor: str
) -> dict[str, Any]:
    """Everything held about one customer (the export is audited, with no content)."""
    document = store_privacy.export_contact(services.db, tenant_id, contact_id)
    audit.append_in(
        services.db,
        tenant_id,
        actor=actor,
        action="privacy.exported",
        subject=f"contact:{contact_id}",
        details={"conversations": len(document["conversations"])},
    )
    return document


def purge(
    services: PrivacyServices, *, now: datetime | None = None, dry_run: bool = False
) -> retention.PurgeReport:
    """Apply every tenant's retention: the database, checkpoints, traces, orphaned data keys."""
    moment = now or utcnow()
    report = retention.purge(services.db, now=moment, dry_run=dry_run)
    extra: dict[int, dict[str, int]] = {}
    for tenant in report.tenants:
        counts = extra.setdefault(tenant.tenant_id, {})
        if services.checkpoints is not None and tenant.idle_conversations:
            threads = [thread_id(tenant.tenant_id, c) for c in tenant.idle_conversations]
            if dry_run:
                present = set(asyncio.run(services.checkpoints.threads()))
                counts["checkpoints"] = len(present & set(threads))
            else:
                counts["checkpoints"] = asyncio.run(services.checkpoints.delete_threads(threads))
        if not dry_run and tenant.trace_cutoff and services.own_project_of(tenant.tenant_id) is not None:
            traces.queue(services.db, tenant.tenant_id, older_than=tenant.trace_cutoff)
            counts["trace_purge_queued"] = 1
        tenant.counts.update(counts)
    if not dry_run:
        retention.record(services.db, report)
        store_privacy.destroy_orphan_keys(services.db)
        process_traces(services, now=moment)
    return report


def process_traces(services: PrivacyServices, *, now: datetime | None = None) -> dict[str, int]:
    """Run the queued trace deletions that are due (``beat``, every few minutes)."""
    return traces.process_queue(
        services.db, services.project_of, now=now, own_project_of=services.own_project_of
    )
