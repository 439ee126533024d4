"""Database roles: the application logs in as ``frontdesk_app`` and names its tenant with a
signed pin; it may read and update only its own ``tenants`` row (never insert or delete one);
the sweeper's and the retention job's cross-tenant work goes through narrow functions.

PostgreSQL only (SQLite has no roles).

Revision ID: 0010_db_roles
Revises: 0009_provider_errors
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.rls import APP_ROLE, CURRENT_TENANT, create_app_role

revision = "0010_db_roles"
down_revision = "0009_provider_errors"
branch_labels = None
depends_on = None

_OLD_CONDITION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
_FUNCTIONS = {
    "frontdesk_stranded_mailboxes(timestamptz, integer)": """
        RETURNS TABLE(tenant_id bigint, conversation_id bigint) LANGUAGE sql STABLE AS $$
        SELECT DISTINCT m.tenant_id, m.conversation_id FROM messages AS m
        JOIN conversations AS c ON c.id = m.conversation_id
        WHERE m.direction = 'in' AND m.turn_id IS NULL AND m.created_at <= $1 AND NOT c.test
        LIMIT $2 $$""",
    "frontdesk_due_outbox(timestamptz, timestamptz, integer)": """
        RETURNS TABLE(tenant_id bigint, outbox_id bigint) LANGUAGE sql STABLE AS $$
        SELECT o.tenant_id, o.id FROM outbox AS o
        WHERE o.created_at <= $1 AND (
            (o.status = 'pending' AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= $2))
            OR (o.status = 'sending' AND o.next_attempt_at <= $2))
        LIMIT $3 $$""",
    "frontdesk_purge_expired_vault(timestamptz)": """
        RETURNS bigint LANGUAGE sql VOLATILE AS $$
        WITH gone AS (DELETE FROM vault_entries WHERE expires_at <= $1 RETURNING 1)
        SELECT count(*) FROM gone $$""",
}


def _policy_tables() -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation' "
            "AND schemaname = current_schema() AND tablename NOT LIKE 'checkpoint%'"
        )
    )
    return [str(r[0]) for r in rows]


def _set_policies(condition: str) -> None:
    for table in _policy_tables():
        op.execute(f"DROP POLICY tenant_isolation ON {table}")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in create_app_role():
        op.execute(statement)
    _set_policies(f"tenant_id = {CURRENT_TENANT}")
    own_row = f"id = {CURRENT_TENANT}"
    op.execute("ALTER TABLE tenants ENABLE ROW LEVEL SECURITY")
    op.execute("DROP POLICY IF EXISTS tenant_self ON tenants")
    op.execute(f"CREATE POLICY tenant_self ON tenants USING ({own_row}) WITH CHECK ({own_row})")
    op.execute(f"REVOKE INSERT, DELETE, TRUNCATE ON tenants FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT, UPDATE ON tenants TO {APP_ROLE}")
    for signature, body in _FUNCTIONS.items():
        op.execute(
            f"CREATE OR REPLACE FUNCTION {signature} {body.replace('LANGUAGE sql', 'LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT', 1)}"
        )
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for signature in _FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute("DROP POLICY IF EXISTS tenant_self ON tenants")
    op.execute("ALTER TABLE tenants DISABLE ROW LEVEL SECURITY")
    op.execute(f"GRANT INSERT, DELETE ON tenants TO {APP_ROLE}")
    _set_policies(_OLD_CONDITION)
