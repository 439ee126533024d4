"""Audit chain keyed and append-only: entries carry the master key id of their HMAC, each
chain that verifies under the old SHA-256 is rechained under HMAC, and the application role
may no longer update or delete entries (PostgreSQL grants; SQLite triggers).

A chain that did not verify before is left as it was: its entries stay unkeyed, and
``frontdesk audit verify`` keeps reporting them instead of blessing the tampering.

Revision ID: 0007_audit_hmac
Revises: 0006_sandbox
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from store.rls import APP_ROLE

revision = "0007_audit_hmac"
down_revision = "0006_sandbox"
branch_labels = None
depends_on = None

_NO_UPDATE = """CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""
# A tenant's deletion cascades to its chain (the tenant row is gone by then); nothing else may.
_NO_DELETE = """CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
WHEN OLD.tenant_id IS NULL OR EXISTS (SELECT 1 FROM tenants WHERE id = OLD.tenant_id)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"""


def _rechain(connection: sa.Connection, keyring: Any) -> None:
    from store.audit import GENESIS, entry_hash, legacy_hash
    from store.models import AuditEntry

    table = AuditEntry.__table__
    rows = connection.execute(sa.select(table).order_by(table.c.tenant_id, table.c.seq, table.c.id)).all()
    chains: dict[int | None, list[AuditEntry]] = {}
    for row in rows:
        chains.setdefault(row.tenant_id, []).append(AuditEntry(**row._asdict()))
    for entries in chains.values():
        expected, prev = 1, GENESIS
        for entry in entries:
            if entry.seq != expected or entry.prev_hash != prev or legacy_hash(entry) != entry.hash:
                break
            expected, prev = entry.seq + 1, entry.hash
        else:
            prev = GENESIS
            for entry in entries:
                entry.prev_hash, entry.key_id = prev, keyring.newest_id
                entry.hash = entry_hash(entry, keyring)
                connection.execute(
                    sa.update(table)
                    .where(table.c.id == entry.id)
                    .values(prev_hash=entry.prev_hash, hash=entry.hash, key_id=entry.key_id)
                )
                prev = entry.hash


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
    keyring = op.get_context().config.attributes.get("keyring")  # pyright: ignore[reportOptionalMemberAccess]
    if keyring is None:
        raise RuntimeError("this migration needs the master keys: run it with `frontdesk migrate`")
    connection = op.get_bind()
    _rechain(connection, keyring)
    if connection.dialect.name == "postgresql":
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {APP_ROLE}")
    else:
        op.execute(_NO_UPDATE)
        op.execute(_NO_DELETE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"GRANT UPDATE, DELETE ON audit_log TO {APP_ROLE}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only_delete")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("key_id")
