"""The ``SECURITY DEFINER`` functions search the session's temporary schema last.

Created with ``SET search_path FROM CURRENT``, the lookups of migrations 0001, 0004, 0010 and
0013 searched ``pg_temp`` first: SQL running as the application could shadow ``channels`` (or
``tenants``, ``api_tokens``) with a temporary table and have the gateway's next lookup on that
pooled connection name its tenant. Each gets ``search_path = <schema>, pg_temp``.

Revision ID: 0014_definer_paths
Revises: 0013_channel_ownership
"""

from __future__ import annotations

from alembic import op

from store.rls import TEMP_SCHEMA_LAST

revision = "0014_definer_paths"
down_revision = "0013_channel_ownership"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TEMP_SCHEMA_LAST)


def downgrade() -> None:
    """Nothing to undo: the explicit path is what the functions always meant."""
