"""Privacy: contacts' data under their own data keys, numbers behind blind indexes, consent
records, the queue of trace erasures.

Existing rows are moved: each contact gets a data key (in the key store, outside this
database), its number and business-scoped id are sealed under it and replaced by blind
indexes, and its messages, outbox items, turns' summaries, notes and vault values are
re-sealed under it. The clear ``wa_id`` and ``bsuid`` columns are dropped.

Revision ID: 0012_privacy
Revises: 0011_sec_gateway
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from store.crypto import Keyring, aad_for
from store.rls import enable_tenant_rls

revision = "0012_privacy"
down_revision = "0011_sec_gateway"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SEALED_BY_CONVERSATION = (
    ("messages", "body_ciphertext"),
    ("outbox", "body_ciphertext"),
    ("turns", "handoff_summary_ciphertext"),
    ("conversation_notes", "body_ciphertext"),
    ("vault_entries", "value_ciphertext"),
)


def _keyring() -> Keyring | None:
    return op.get_context().config.attributes.get("keyring")  # type: ignore[union-attr]


def _move_rows(keyring: Keyring) -> None:
    """Seal every contact's identifiers and data under its own data key."""
    from store.identity import bsuid_digest, number_digest

    bind = op.get_bind()
    contacts = bind.execute(
        sa.text("SELECT id, tenant_id, wa_id, bsuid, profile_name_ciphertext FROM contacts")
    ).all()
    for contact_id, tenant_id, wa_id, bsuid, profile in contacts:
        key = keyring.for_contact(int(tenant_id), int(contact_id))
        values: dict[str, Any] = {"id": contact_id, "wd": None, "wc": None, "bd": None, "bc": None}
        values["pn"] = profile
        if wa_id:
            values["wd"] = number_digest(keyring, wa_id)
            values["wc"] = key.encrypt(wa_id, aad=aad_for("contacts.wa_id_ciphertext", tenant_id, contact_id))
        if bsuid:
            values["bd"] = bsuid_digest(keyring, bsuid)
            values["bc"] = key.encrypt(bsuid, aad=aad_for("contacts.bsuid_ciphertext", tenant_id, contact_id))
        if profile:
            aad = aad_for("contacts.profile_name_ciphertext", tenant_id, contact_id)
            values["pn"] = key.encrypt(keyring.decrypt(profile, aad=aad), aad=aad)
        bind.execute(
            sa.text(
                "UPDATE contacts SET wa_id_digest = :wd, wa_id_ciphertext = :wc, bsuid_digest = :bd, "
                "bsuid_ciphertext = :bc, profile_name_ciphertext = :pn WHERE id = :id"
            ),
            values,
        )
    for table, column in _SEALED_BY_CONVERSATION:
        rows = bind.execute(
            sa.text(
                f"SELECT t.id, t.tenant_id, t.{column}, c.contact_id FROM {table} t "
                f"JOIN conversations c ON c.id = t.conversation_id WHERE t.{column} IS NOT NULL"
            )
        ).all()
        for row_id, tenant_id, token, contact_id in rows:
            aad = aad_for(f"{table}.{column}", tenant_id, row_id)
            fresh = keyring.for_contact(int(tenant_id), int(contact_id)).encrypt(
                keyring.decrypt(token, aad=aad), aad=aad
            )
            bind.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": fresh, "id": row_id})


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wa_id_digest", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("wa_id_ciphertext", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("bsuid_digest", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("bsuid_ciphertext", sa.Text(), nullable=True))
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM contacts")).scalar():
        keyring = _keyring()
        if keyring is None:
            raise RuntimeError("migration 0012 needs the keyring to move existing contacts (store.db.migrate)")
        _move_rows(keyring)
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_column("wa_id")
        batch_op.drop_column("bsuid")
        batch_op.create_unique_constraint("uq_contacts_wa_id_digest", ["tenant_id", "wa_id_digest"])
        batch_op.create_unique_constraint("uq_contacts_bsuid_digest", ["tenant_id", "bsuid_digest"])

    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", ID, nullable=True))
        batch_op.add_column(sa.Column("subject_digest", sa.String(64), nullable=True))
        batch_op.create_foreign_key(
            "fk_webhook_events_contact_id", "contacts", ["contact_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_webhook_events_contact_id", ["contact_id"])
        batch_op.create_index("ix_webhook_events_subject_digest", ["subject_digest"])

    op.create_table(
        "consent_events",
        sa.Column("id", ID, primary_key=True),
        sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", ID, sa.ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("conversation_id", ID, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("wording", sa.Text(), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_consent_events_tenant_id", "consent_events", ["tenant_id"])
    op.create_index("ix_consent_events_contact_id", "consent_events", ["contact_id"])

    op.create_table(
        "trace_erasures",
        sa.Column("id", ID, primary_key=True),
        sa.Column("tenant_id", ID, sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("session_ids", sa.JSON(), nullable=False),
        sa.Column("user_ids", sa.JSON(), nullable=False),
        sa.Column("older_than", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("deleted_traces", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_trace_erasures_tenant_id", "trace_erasures", ["tenant_id"])
    op.create_index("ix_trace_erasures_due", "trace_erasures", ["status", "next_attempt_at"])
    if bind.dialect.name == "postgresql":
        for table in ("consent_events", "trace_erasures"):
            for statement in enable_tenant_rls(table):
                op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("0006_privacy moves data under per-contact keys; restore a backup instead")
