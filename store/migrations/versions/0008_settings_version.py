"""A version number per tenant, bumped by the database on every change to the tenant's row or
its provider settings: workers keep a tenant's settings in memory and check this number (at
most once a second) instead of reading everything again for every turn.

Triggers bump it, so every way of writing settings (CLI, API, SQL) is covered.

Revision ID: 0008_settings_version
Revises: 0007_audit_hmac
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_settings_version"
down_revision = "0007_audit_hmac"
branch_labels = None
depends_on = None

_POSTGRES = [
    """CREATE OR REPLACE FUNCTION frontdesk_tenant_row_changed() RETURNS trigger AS $$
    BEGIN
        IF NEW.settings_version = OLD.settings_version THEN
            NEW.settings_version := OLD.settings_version + 1;
        END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER tenants_settings_version BEFORE UPDATE ON tenants
    FOR EACH ROW EXECUTE FUNCTION frontdesk_tenant_row_changed()""",
    """CREATE OR REPLACE FUNCTION frontdesk_provider_changed() RETURNS trigger AS $$
    BEGIN
        UPDATE tenants SET settings_version = settings_version + 1
        WHERE id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END);
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER provider_settings_version AFTER INSERT OR UPDATE OR DELETE ON provider_settings
    FOR EACH ROW EXECUTE FUNCTION frontdesk_provider_changed()""",
]

_BUMP = "UPDATE tenants SET settings_version = settings_version + 1 WHERE id = {row}.tenant_id;"
_SQLITE = [
    """CREATE TRIGGER tenants_settings_version AFTER UPDATE ON tenants
    FOR EACH ROW WHEN NEW.settings_version = OLD.settings_version
    BEGIN UPDATE tenants SET settings_version = OLD.settings_version + 1 WHERE id = NEW.id; END""",
    *(
        f"""CREATE TRIGGER provider_settings_version_{event.lower()} AFTER {event} ON provider_settings
        FOR EACH ROW BEGIN {_BUMP.format(row=row)} END"""
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    ),
]


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("settings_version", sa.BigInteger(), nullable=False, server_default="1")
        )
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS provider_settings_version ON provider_settings")
        op.execute("DROP TRIGGER IF EXISTS tenants_settings_version ON tenants")
        op.execute("DROP FUNCTION IF EXISTS frontdesk_provider_changed()")
        op.execute("DROP FUNCTION IF EXISTS frontdesk_tenant_row_changed()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS provider_settings_version_{name}")
        op.execute("DROP TRIGGER IF EXISTS tenants_settings_version")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("settings_version")
