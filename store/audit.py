"""The audit log: append-only, one keyed hash chain per tenant (``tenant_id`` NULL: the system chain).

Each entry's ``hash`` is HMAC-SHA256 over its canonical content and the previous entry's hash,
under a key derived from the master key named in ``key_id`` (never stored in the database, so
whoever can write the table cannot recompute a chain). ``seq`` counts from 1 without gaps.
Appends are serialized per chain (an advisory lock on PostgreSQL, the database write lock on
SQLite), so concurrent writers never fork a chain. The application role may only insert and
read (PostgreSQL grants; on SQLite a trigger refuses UPDATE and DELETE). After each commit the
chain's head goes to the anchor (:mod:`store.audit_anchor`, outside the database), so deleting
the newest entries is found too. :func:`verify_chain` recomputes every chain and says where
one was changed, cut or reordered. Entries carry metadata only: ids, kinds, counts — never a
message body or a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update
from sqlalchemy.orm import Session

from store import driver
from store.audit_anchor import AuditAnchor
from store.crypto import KeyConfigError, Keyring
from store.db import AUDIT_GUESSES, AUDIT_HEADS, KEYRING, Database
from store.models import AuditEntry, Tenant, utcnow

GENESIS = "0" * 64
KEY_PURPOSE = "audit chain"
_LOCK_NAMESPACE = 0x46440000_0000_0000  # "FD": keeps these advisory locks apart from others


def _canonical(entry: AuditEntry, *, keyed: bool = True) -> bytes:
    at: datetime = entry.at
    body: dict[str, Any] = {
        "tenant_id": entry.tenant_id,
        "seq": entry.seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": entry.details or {},
        "prev_hash": entry.prev_hash,
    }
    if keyed:
        body["key_id"] = entry.key_id
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str).encode()


def legacy_hash(entry: AuditEntry) -> str:
    """The unkeyed SHA-256 of entries written before revision 0007_audit_hmac (read by its migration)."""
    return hashlib.sha256(_canonical(entry, keyed=False)).hexdigest()


def entry_hash(entry: AuditEntry, keyring: Keyring) -> str:
    """The HMAC an entry must carry, from its content, ``prev_hash`` and ``key_id``."""
    if entry.key_id is None:
        raise KeyConfigError("the entry names no key (written before the chain was keyed)")
    _, key = keyring.derived_key(KEY_PURPOSE, entry.key_id)
    return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()


def _keyring(session: Session) -> Keyring:
    keyring = session.info.get(KEYRING)
    if not isinstance(keyring, Keyring):
        raise KeyConfigError("audit entries need a session of store.db.Database (it carries the keyring)")
    return keyring


# Built once: the append runs with every received message.
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_HEADS = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_GLOBAL_HEAD = _HEADS.where(AuditEntry.tenant_id.is_(None))
_TENANT_HEAD = _HEADS.where(AuditEntry.tenant_id == bindparam("tid"))
_TABLE = cast(Table, AuditEntry.__table__)
_COLUMNS = list(_TABLE.columns)
_INSERT = insert(_TABLE)


def _chain_lock_key(tenant_id: int | None) -> int:
    """The advisory lock that serializes appends to one chain (PostgreSQL)."""
    return _LOCK_NAMESPACE ^ (tenant_id or 0)


def _lock_chain(sql: Connection, tenant_id: int | None) -> None:
    """Serialize appends to one chain until the end of the caller's transaction."""
    if sql.dialect.name == "postgresql":
        sql.execute(_LOCK, {"k": _chain_lock_key(tenant_id)})
    else:
        # Any write takes SQLite's single write lock for the rest of the transaction.
        sql.execute(update(AuditEntry).where(AuditEntry.id == -1).values(seq=AuditEntry.seq))


def _head(sql: Connection, tenant_id: int | None) -> tuple[int, str]:
    if tenant_id is None:
        row = sql.execute(_GLOBAL_HEAD).one_or_none()
    else:
        row = sql.execute(_TENANT_HEAD, {"tid": tenant_id}).one_or_none()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


_APPEND = (
    "SELECT head_seq, head_hash FROM frontdesk_audit_append(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
"""Migration 0015_audit_append: lock the chain, read its head, insert if the entry follows it."""


def _new_entry(keyring: Keyring, tenant_id: int | None, head: tuple[int, str], **fields: Any) -> AuditEntry:
    entry = AuditEntry(
        tenant_id=tenant_id, seq=head[0] + 1, prev_hash=head[1], hash="", key_id=keyring.newest_id, **fields
    )
    entry.hash = entry_hash(entry, keyring)
    return entry


def _append_locked(sql: Connection, keyring: Keyring, tenant_id: int | None, **fields: Any) -> AuditEntry:
    """Lock the chain, read its head, insert: three statements (SQLite, or without guesses)."""
    _lock_chain(sql, tenant_id)
    entry = _new_entry(keyring, tenant_id, _head(sql, tenant_id), **fields)
    sql.execute(_INSERT, {c.key: getattr(entry, c.key) for c in _COLUMNS})
    return entry


def _append_guessed(
    sql: Connection,
    keyring: Keyring,
    guesses: dict[int | None, tuple[int, str]],
    tenant_id: int | None,
    **fields: Any,
) -> AuditEntry:
    """PostgreSQL: one statement when the head is the one this process appended last (a guess:
    the database inserts only an entry that follows the head it reads under the lock, and
    answers that head); else a second, computed from that head while the lock is held."""
    head = guesses.get(tenant_id, (0, GENESIS))
    at = driver.utc(fields["at"])
    for _attempt in range(2):
        entry = _new_entry(keyring, tenant_id, head, **fields)
        params = (
            _chain_lock_key(tenant_id),
            entry.id,
            tenant_id,
            entry.seq,
            at,
            entry.actor,
            entry.action,
            entry.subject,
            json.dumps(entry.details),
            entry.prev_hash,
            entry.hash,
            entry.key_id,
        )
        found_seq, found_hash = driver.execute(sql, _APPEND, params).fetchone()
        found = (0, GENESIS) if found_seq is None else (int(found_seq), str(found_hash))
        if found == head:
            guesses[tenant_id] = (entry.seq, entry.hash)
            return entry
        head = found
    raise RuntimeError("the audit chain's head moved while its lock was held")


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
    keyring = _keyring(session)
    sql = session.connection()  # Core statements only: skip the ORM's execution path
    fields: dict[str, Any] = {
        "at": at or utcnow(),
        "actor": actor[:100],
        "action": action[:64],
        "subject": None if subject is None else subject[:200],
        "details": dict(details or {}),
    }
    guesses = session.info.get(AUDIT_GUESSES)
    if sql.dialect.name == "postgresql" and guesses is not None:
        entry = _append_guessed(sql, keyring, guesses, tenant_id, **fields)
    else:
        entry = _append_locked(sql, keyring, tenant_id, **fields)
    session.info.setdefault(AUDIT_HEADS, {})[tenant_id] = (entry.seq, entry.hash)
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
    previous entry's hash: deleted or reordered entries), ``gap`` (missing seq numbers),
    ``truncated`` (the anchor names an entry the table no longer has, or has changed)."""
    detail: str

    def __str__(self) -> str:
        chain = "system chain" if self.tenant_id is None else f"tenant {self.tenant_id}"
        where = f" seq {self.seq}" if self.seq is not None else ""
        return f"{chain}{where}: {self.kind}: {self.detail}"


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


def _entry_ok(entry: AuditEntry, keyring: Keyring) -> str | None:
    """Why an entry's hash does not match, or None when it does."""
    if entry.key_id is None:
        return "the entry is not keyed (it did not verify when the chain was keyed, or it was forged)"
    try:
        expected = entry_hash(entry, keyring)
    except KeyConfigError:
        return f"keyed by master key {entry.key_id!r}, which is not configured (keep retired keys)"
    return None if hmac.compare_digest(expected, entry.hash) else "content does not match the entry's hash"


def _verify_entries(
    tenant_id: int | None, entries: Iterator[AuditEntry], keyring: Keyring, anchor: AuditAnchor | None
) -> ChainReport:
    report = ChainReport(tenant_id)
    expected_seq, prev = 1, GENESIS
    anchored = anchor.head(tenant_id) if anchor is not None else None
    anchored_seen = False
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
        wrong = _entry_ok(entry, keyring)
        if wrong is not None:
            report.problems.append(Problem(tenant_id, entry.seq, entry.id, "changed", wrong))
        if anchored is not None and entry.seq == anchored[0]:
            anchored_seen = True
            if not hmac.compare_digest(entry.hash, anchored[1]):
                detail = "the entry's hash differs from the anchored head (the chain was rewritten)"
                report.problems.append(Problem(tenant_id, entry.seq, entry.id, "truncated", detail))
        expected_seq, prev = entry.seq + 1, entry.hash
    if anchored is not None and not anchored_seen:
        detail = f"the anchor says entry {anchored[0]} was written, the chain ends at {expected_seq - 1} (newest entries deleted)"
        report.problems.append(Problem(tenant_id, anchored[0], None, "truncated", detail))
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
    anchor = db.audit_anchor
    with db.admin_session() as session:
        if every:
            ids: list[int | None] = [None, *session.scalars(select(Tenant.id).order_by(Tenant.id))]
        else:
            ids = [tenant_id]
        for chain_id in ids:
            entries = _chain_entries(session, chain_id)
            result.chains.append(_verify_entries(chain_id, entries, db.keyring, anchor))
    return result


def chain_length(session: Session, tenant_id: int | None) -> int:
    chain = AuditEntry.tenant_id.is_(None) if tenant_id is None else AuditEntry.tenant_id == tenant_id
    return int(session.scalar(select(func.count()).select_from(AuditEntry).where(chain)) or 0)


def verify_in(session: Session, tenant_id: int | None, anchor: AuditAnchor | None = None) -> ChainReport:
    """Verify one chain with the caller's session (a tenant session sees its own chain)."""
    return _verify_entries(tenant_id, _chain_entries(session, tenant_id), _keyring(session), anchor)


def anchor_heads(db: Database) -> int:
    """Write every chain's current head to the anchor (after a migration: chains written
    before the anchor existed). The anchor only moves forward. Returns the chains anchored."""
    anchor = db.audit_anchor
    if anchor is None:
        return 0
    heads = select(AuditEntry.tenant_id, func.max(AuditEntry.seq)).group_by(AuditEntry.tenant_id).subquery()
    query = select(AuditEntry.tenant_id, AuditEntry.seq, AuditEntry.hash).join(
        heads,
        (AuditEntry.seq == heads.c[1])
        & (
            (AuditEntry.tenant_id == heads.c.tenant_id)
            | (AuditEntry.tenant_id.is_(None) & heads.c.tenant_id.is_(None))
        ),
    )
    with db.admin_session() as session:
        rows = session.execute(query).all()
    for tenant_id, seq, digest in rows:
        anchor.advance(tenant_id, int(seq), str(digest))
    return len(rows)
