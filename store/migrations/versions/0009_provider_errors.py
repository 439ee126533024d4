"""The last error of a tenant's model provider (a refused key, a rate limit), for operators.

Revision ID: 0009_provider_errors
Revises: 0008_settings_version
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_provider_errors"
down_revision = "0008_settings_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("provider_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provider_settings", schema=None) as batch_op:
        batch_op.drop_column("last_error_at")
        batch_op.drop_column("last_error")
