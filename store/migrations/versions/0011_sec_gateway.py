"""Provider URLs the operator set (trusted), and API tokens that expire.

Revision ID: 0011_sec_gateway
Revises: 0010_db_roles
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_sec_gateway"
down_revision = "0010_db_roles"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch copy: on SQLite that would drop the tables' triggers.
    op.add_column(
        "provider_settings", sa.Column("base_url_trusted", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("users", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("provider_settings", schema=None) as batch_op:
        batch_op.drop_column("base_url_trusted")
