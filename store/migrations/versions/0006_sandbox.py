"""Sandbox conversations: ``frontdesk chat`` writes to a test contact and conversation of its
own, which workers, the sweeper and the outbox sender never touch. A partial index of the
pending inbound messages: every worker sweeps for them every few seconds.

Revision ID: 0006_sandbox
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_sandbox"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("contacts", "conversations"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("test", sa.Boolean(), nullable=False, server_default=sa.false()))
    pending = sa.text("turn_id IS NULL AND direction = 'in'")
    op.create_index(
        "ix_messages_pending", "messages", ["created_at"], postgresql_where=pending, sqlite_where=pending
    )


def downgrade() -> None:
    op.drop_index("ix_messages_pending", table_name="messages")
    for table in ("contacts", "conversations"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("test")
