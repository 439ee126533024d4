"""How long each kind of data is kept, per tenant, and the purge that applies it.

A tenant's retention lives in ``tenants.settings["retention"]`` as days per data type; what is
not set takes the default. The purge deletes what is older than its type's retention, for every
tenant, and writes the counts in each tenant's audit log (nothing else: no personal data).
Checkpoints and traces live outside this database: the purge names what to delete there
(:attr:`PurgeReport.idle_conversations`, :attr:`PurgeReport.trace_cutoffs`) and the caller does it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from errors import UserError
from store import audit
from store.db import Database
from store.models import (
    Conversation,
    ConversationNote,
    EvalResult,
    Message,
    OutboxItem,
    Tenant,
    TurnRow,
    VaultEntry,
    WebhookEvent,
    utcnow,
)

DEFAULTS: dict[str, int] = {
    "messages": 365,
    "vault_entries": 30,
    "checkpoints": 30,
    "turns": 90,
    "webhook_events": 30,
    "traces": 30,
    "eval_data": 180,
}
"""Days each kind of data is kept unless the tenant says otherwise."""

MINIMUMS: dict[str, int] = {
    "messages": 1,
    "vault_entries": 1,
    "checkpoints": 1,
    "turns": 1,
    "webhook_events": 1,
    "traces": 1,
    "eval_data": 1,
}
AUDIT_DAYS = 6 * 365
"""The audit log is kept whole (its chain verifies from the first entry); at least this long."""

DESCRIPTIONS: dict[str, str] = {
    "messages": "messages, internal notes and sent or abandoned outbox items, by creation time",
    "vault_entries": "redaction placeholders and their sealed values, by creation time",
    "checkpoints": "the agent graph's state of conversations idle that long",
    "turns": "turn records (metadata and handoff summaries), by start time",
    "webhook_events": "webhook items kept for the record, by reception time",
    "traces": "traces in the tenant's own Langfuse project, by start time",
    "eval_data": "evaluation scores, by creation time",
}


def policy(settings: dict[str, Any] | None) -> dict[str, int]:
    """The retention in days per data type from a tenant's settings (defaults filled in)."""
    chosen = dict(DEFAULTS)
    raw = (settings or {}).get("retention") or {}
    for kind, days in raw.items() if isinstance(raw, dict) else ():
        if kind in chosen and isinstance(days, int) and not isinstance(days, bool):
            chosen[kind] = max(days, MINIMUMS[kind])
    return chosen


def validate(changes: Mapping[str, object]) -> dict[str, int]:
    """Check a requested change: known types, whole days, not below the minimums."""
    checked: dict[str, int] = {}
    for kind, days in changes.items():
        if kind == "audit":
            raise UserError(
                f"the audit log is kept whole (at least {AUDIT_DAYS} days); it has no retention setting"
            )
        if kind not in DEFAULTS:
            raise UserError(f"unknown data type {kind!r}: expected one of {', '.join(DEFAULTS)}")
        if isinstance(days, bool) or not isinstance(days, int) or days < MINIMUMS[kind]:
            raise UserError(f"{kind}: retention must be a whole number of days >= {MINIMUMS[kind]}")
        checked[kind] = days
    return checked


def set_policy(
    session: Session, tenant_id: int, changes: Mapping[str, object], *, actor: str
) -> dict[str, int]:
    """Change a tenant's retention (audited); returns the policy now in force."""
    changes = validate(changes)
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise UserError("no such tenant")
    settings = dict(tenant.settings or {})
    current = dict(settings.get("retention") or {})
    current.update(changes)
    settings["retention"] = current
    tenant.settings = settings
    session.flush()
    audit.append(session, tenant_id, actor=actor, action="privacy.retention_set", details={"days": changes})
    return policy(settings)


@dataclass
class TenantPurge:
    tenant_id: int
    slug: str
    counts: dict[str, int] = field(default_factory=dict[str, int])
    idle_conversations: list[int] = field(default_factory=list[int])
    """Conversations idle past the checkpoint retention (their checkpoints go)."""
    trace_cutoff: datetime | None = None


@dataclass
class PurgeReport:
    dry_run: bool
    tenants: list[TenantPurge] = field(default_factory=list[TenantPurge])

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for tenant in self.tenants:
            for kind, count in tenant.counts.items():
                out[kind] = out.get(kind, 0) + count
        return out


def _targets(days: dict[str, int], now: datetime) -> list[tuple[str, Any, Any]]:
    """(data type, table, condition of an expired row) for each purge in the database."""

    def before(kind: str) -> datetime:
        return now - timedelta(days=days[kind])

    return [
        ("messages", Message, Message.created_at < before("messages")),
        ("messages", ConversationNote, ConversationNote.created_at < before("messages")),
        (
            "messages",
            OutboxItem,
            and_(
                OutboxItem.created_at < before("messages"),
                OutboxItem.status.in_(("sent", "failed", "cancelled")),
            ),
        ),
        ("vault_entries", VaultEntry, VaultEntry.created_at < before("vault_entries")),
        ("turns", TurnRow, and_(TurnRow.started_at < before("turns"), TurnRow.status != "running")),
        ("webhook_events", WebhookEvent, WebhookEvent.received_at < before("webhook_events")),
        ("eval_data", EvalResult, EvalResult.created_at < before("eval_data")),
    ]


def purge(db: Database, *, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Delete (or with ``dry_run`` count) what every tenant's retention says has expired."""
    moment = now or utcnow()
    report = PurgeReport(dry_run)
    with db.admin_session() as session:
        tenants = list(session.execute(select(Tenant.id, Tenant.slug, Tenant.settings).order_by(Tenant.id)))
    for tenant_id, slug, settings in tenants:
        days = policy(settings)
        result = TenantPurge(int(tenant_id), str(slug))
        with db.tenant_session(tenant_id) as session:
            for kind, model, expired in _targets(days, moment):
                where = (model.tenant_id == tenant_id, expired)
                if dry_run:
                    count = int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
                else:
                    count = int(getattr(session.execute(delete(model).where(*where)), "rowcount", 0) or 0)
                result.counts[kind] = result.counts.get(kind, 0) + count
            idle_before = moment - timedelta(days=days["checkpoints"])
            result.idle_conversations = list(
                session.scalars(
                    select(Conversation.id).where(
                        Conversation.tenant_id == tenant_id,
                        or_(Conversation.updated_at < idle_before, Conversation.updated_at.is_(None)),
                    )
                )
            )
            result.trace_cutoff = moment - timedelta(days=days["traces"])
        report.tenants.append(result)
    return report


def record(db: Database, report: PurgeReport, extra: dict[int, dict[str, int]] | None = None) -> None:
    """Write each tenant's purge counts in its audit log (not for a dry run)."""
    if report.dry_run:
        return
    for tenant in report.tenants:
        counts = {**tenant.counts, **(extra or {}).get(tenant.tenant_id, {})}
        if not any(counts.values()):
            continue
        audit.append_in(
            db, tenant.tenant_id, actor="retention", action="privacy.purged", details={"deleted": counts}
        )
