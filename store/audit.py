"""The audit log: append-only, one hash chain per tenant (``tenant_id`` NULL: the system chain).

Each entry's ``hash`` is SHA-256 over its canonical content and the previous entry's hash, and
``seq`` counts from 1 without gaps. Appends are serialized per chain (an advisory lock on
PostgreSQL, the database write lock on SQLite), so concurrent writers never fork a chain.
:func:`verify_chain` recomputes every chain and says where one was changed, cut or reordered.
Entries carry metadata only: ids, kinds, counts — never a message body or a secret.

Limit: deleting the newest entries leaves a shorter chain that still verifies; keep the head
(:attr:`ChainReport.head`) somewhere else (a log line, a ticket) to detect that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from store.db import Database
from store.models import AuditEntry, Tenant, utcnow

GENESIS = "0" * 64
_LOCK_NAMESPACE = 0x46440000_0000_0000  # "FD": keeps these advisory locks apart from others


def _canonical(entry: AuditEntry) -> bytes:
    at: datetime = entry.at
    body = {
        "tenant_id": entry.tenant_id,
        "seq": entry.seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": entry.details or {},
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str).encode()


def entry_hash(entry: AuditEntry) -> str:
    """The hash an entry must carry, from its content and ``prev_hash``."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


# Built once: the append runs with every received message.
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_HEADS = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_GLOBAL_HEAD = _HEADS.where(AuditEntry.tenant_id.is_(None))
_TENANT_HEAD = _HEADS.where(AuditEntry.tenant_id == bindparam("tid"))
_TABLE = cast(Table, AuditEntry.__table__)
_COLUMNS = list(_TABLE.columns)
_INSERT = insert(_TABLE)


def _lock_chain(sql: Connection, tenant_id: int | None) -> None:
    """Serialize appends to one chain until the end of the caller's transaction."""
    if sql.dialect.name == "postgresql":
        sql.execute(_LOCK, {"k": _LOCK_NAMESPACE ^ (tenant_id or 0)})
    else:
        # Any write takes SQLite's single write lock for the rest of the transaction.
        sql.execute(update(AuditEntry).where(AuditEntry.id == -1).values(seq=AuditEntry.seq))


def _head(sql: Connection, tenant_id: int | None) -> tuple[int, str]:
    if tenant_id is None:
        row = sql.execute(_GLOBAL_HEAD).one_or_none()
    else:
        row = sql.execute(_TENANT_HEAD, {"tid": tenant_id}).one_or_none()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def append(
    session: Session,
    tenant_id: int | None,
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add an entry to the tenant's chain in the caller's transaction (commits with it)."""
    sql = session.connection()  # Core statements only: skip the ORM's execution path
    _lock_chain(sql, tenant_id)
    seq, prev = _head(sql, tenant_id)
    entry = AuditEntry(
        tenant_id=tenant_id,
        seq=seq + 1,
        at=at or utcnow(),
        actor=actor[:100],
        action=action[:64],
        subject=None if subject is None else subject[:200],
        details=dict(details or {}),
        prev_hash=prev,
        hash="",
    )
    entry.hash = entry_hash(entry)
    sql.execute(_INSERT, {c.key: getattr(entry, c.key) for c in _COLUMNS})
    return entry


def append_in(db: Database, tenant_id: int, **values: Any) -> None:
    """:func:`append` in a transaction of its own, for the tenant."""
    with db.tenant_session(tenant_id) as session:
        append(session, tenant_id, **values)


@dataclass(frozen=True)
class Problem:
    """One place where a chain does not verify."""

    tenant_id: int | None
    seq: int | None
    entry_id: int | None
    kind: str
    """``changed`` (content does not match its hash), ``broken_link`` (prev_hash is not the
    previous entry's hash: deleted or reordered entries), ``gap`` (missing seq numbers)."""
    detail: str


@dataclass
class ChainReport:
    tenant_id: int | None
    entries: int = 0
    head: str = GENESIS
    problems: list[Problem] = field(default_factory=list[Problem])


@dataclass
class VerifyResult:
    """Every chain checked; ``ok`` when none has a problem."""

    chains: list[ChainReport] = field(default_factory=list[ChainReport])

    @property
    def ok(self) -> bool:
        return all(not c.problems for c in self.chains)

    @property
    def problems(self) -> list[Problem]:
        return [p for c in self.chains for p in c.problems]


def _verify_entries(tenant_id: int | None, entries: Iterator[AuditEntry]) -> ChainReport:
    report = ChainReport(tenant_id)
    expected_seq, prev = 1, GENESIS
    for entry in entries:
        report.entries += 1
        if entry.seq != expected_seq:
            kind = "gap" if entry.seq > expected_seq else "broken_link"
            report.problems.append(
                Problem(
                    tenant_id, entry.seq, entry.id, kind, f"expected seq {expected_seq}, found {entry.seq}"
                )
            )
        if entry.prev_hash != prev:
            report.problems.append(
                Problem(
                    tenant_id,
                    entry.seq,
                    entry.id,
                    "broken_link",
                    "prev_hash differs from the previous entry's hash (entries deleted, inserted or reordered)",
                )
            )
        if entry_hash(entry) != entry.hash:
            report.problems.append(
                Problem(tenant_id, entry.seq, entry.id, "changed", "content does not match the entry's hash")
            )
        expected_seq, prev = entry.seq + 1, entry.hash
    report.head = prev
    return report


def _chain_entries(session: Session, tenant_id: int | None) -> Iterator[AuditEntry]:
    chain = AuditEntry.tenant_id.is_(None) if tenant_id is None else AuditEntry.tenant_id == tenant_id
    # Stored order (by seq, then id): a swapped pair of seq values shows as broken links.
    query = select(AuditEntry).where(chain).order_by(AuditEntry.seq, AuditEntry.id)
    yield from session.scalars(query.execution_options(yield_per=500))


def verify_chain(
    db: Database, tenant_id: int | None = None, *, all_chains: bool | None = None
) -> VerifyResult:
    """Verify one tenant's chain, or with ``tenant_id=None`` every chain (all tenants and the
    system chain). Reads on the admin engine: this is an operator command."""
    every = tenant_id is None if all_chains is None else all_chains
    result = VerifyResult()
    with db.admin_session() as session:
        if every:
            ids: list[int | None] = [None, *session.scalars(select(Tenant.id).order_by(Tenant.id))]
        else:
            ids = [tenant_id]
        for chain_id in ids:
            result.chains.append(_verify_entries(chain_id, _chain_entries(session, chain_id)))
    return result


def chain_length(session: Session, tenant_id: int | None) -> int:
    chain = AuditEntry.tenant_id.is_(None) if tenant_id is None else AuditEntry.tenant_id == tenant_id
    return int(session.scalar(select(func.count()).select_from(AuditEntry).where(chain)) or 0)


def verify_in(session: Session, tenant_id: int | None) -> ChainReport:
    """Verify one chain with the caller's session (a tenant session sees its own chain)."""
    return _verify_entries(tenant_id, _chain_entries(session, tenant_id))
