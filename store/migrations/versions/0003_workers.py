"""Workers: the conversation mailbox (``messages.turn_id``), turns, lease fencing on
conversations, and database leases for the embedded default; row-level security on turns.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.rls import APP_ROLE, enable_tenant_rls

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_fence", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("turn_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_messages_mailbox", ["conversation_id", "turn_id"], unique=False)
    op.create_table(
        "turns",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("fence", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("handoff_summary_ciphertext", sa.Text(), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_turns_tenant_id", "turns", ["tenant_id"])
    op.create_index("ix_turns_conversation_id", "turns", ["conversation_id"])
    op.create_table(
        "worker_leases",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("fence", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_worker_leases_expires_at", "worker_leases", ["expires_at"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in enable_tenant_rls("turns"):
            op.execute(statement)
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON worker_leases TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index("ix_worker_leases_expires_at", table_name="worker_leases")
    op.drop_table("worker_leases")
    op.drop_index("ix_turns_conversation_id", table_name="turns")
    op.drop_index("ix_turns_tenant_id", table_name="turns")
    op.drop_table("turns")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_mailbox")
        batch_op.drop_column("turn_id")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("lease_fence")
