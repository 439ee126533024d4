"""Gateway: template registry, conversation notes, recorded webhook events, eval results,
per-user body grant, channel WABA ids, outbox item kind; RLS and the pre-tenant lookups.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from store.rls import APP_ROLE, enable_tenant_rls

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NEW_TENANT_TABLES = ("message_templates", "conversation_notes", "webhook_events", "eval_results")


def _tenant_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("can_read_bodies", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waba_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_channels_waba_id", ["waba_id"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="text"))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("media_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("media_mime_type", sa.String(length=128), nullable=True))

    op.create_table(
        "message_templates",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("body_params", sa.Integer(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("meta_template_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name", "language"),
    )
    op.create_index("ix_message_templates_tenant_id", "message_templates", ["tenant_id"])

    op.create_table(
        "conversation_notes",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("author_id", Id, nullable=True),
        sa.Column("body_ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk(),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_conversation_notes_tenant_id", "conversation_notes", ["tenant_id"])
    op.create_index("ix_conversation_notes_conversation_id", "conversation_notes", ["conversation_id"])

    op.create_table(
        "webhook_events",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("channel_id", Id, nullable=True),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("wa_message_id", sa.String(length=128), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("payload_ciphertext", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk(),
        sa.ForeignKeyConstraint(["channel_id"], ["channels.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_events_tenant_id", "webhook_events", ["tenant_id"])
    op.create_index("ix_webhook_events_kind", "webhook_events", ["kind"])

    op.create_table(
        "eval_results",
        sa.Column("id", Id, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("run_name", sa.String(length=200), nullable=False),
        sa.Column("scenario", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("trace_id", sa.String(length=128), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _tenant_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_eval_results_tenant_id", "eval_results", ["tenant_id"])
    op.create_index("ix_eval_results_run_name", "eval_results", ["run_name"])
    op.create_index("ix_audit_log_tenant_at", "audit_log", ["tenant_id", "at"])

    if op.get_bind().dialect.name == "postgresql":
        _postgres_security()


def _postgres_security() -> None:
    for table in NEW_TENANT_TABLES:
        for statement in enable_tenant_rls(table):
            op.execute(statement)
    # Lookups the gateway needs before it knows the tenant; each answers by an unguessable
    # key (or a keyed digest) and returns tenant ids only.
    op.execute(
        """CREATE OR REPLACE FUNCTION frontdesk_verify_token_tenants(p_digests text[])
        RETURNS SETOF bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS
        $$ SELECT DISTINCT tenant_id FROM channels WHERE verify_token_digest = ANY(p_digests) $$"""
    )
    op.execute(
        """CREATE OR REPLACE FUNCTION frontdesk_waba_tenants(p_waba_id text)
        RETURNS SETOF bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS
        $$ SELECT DISTINCT tenant_id FROM channels WHERE waba_id = p_waba_id $$"""
    )
    op.execute(
        """CREATE OR REPLACE FUNCTION frontdesk_token_prefix_tenants(p_prefix text)
        RETURNS SETOF bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS
        $$ SELECT DISTINCT tenant_id FROM users WHERE token_prefix = p_prefix $$"""
    )
    for signature in (
        "frontdesk_verify_token_tenants(text[])",
        "frontdesk_waba_tenants(text)",
        "frontdesk_token_prefix_tenants(text)",
    ):
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS frontdesk_verify_token_tenants(text[])")
        op.execute("DROP FUNCTION IF EXISTS frontdesk_waba_tenants(text)")
        op.execute("DROP FUNCTION IF EXISTS frontdesk_token_prefix_tenants(text)")
    op.drop_index("ix_audit_log_tenant_at", table_name="audit_log")
    for table in ("eval_results", "webhook_events", "conversation_notes", "message_templates"):
        op.drop_table(table)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("media_mime_type")
        batch_op.drop_column("media_id")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_index("ix_channels_waba_id")
        batch_op.drop_column("waba_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("can_read_bodies")
