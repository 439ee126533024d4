"""Channels are active only once their access token proved it owns the number and account.

``verified_at`` (unset: pending) and ``verification_error``; existing channels were connected
before proofs existed and stay active (``frontdesk channels verify`` re-proves them). A phone
number id is unique among active channels only, so a pending claim never blocks the real
owner; within one tenant it stays unique. The pre-tenant lookups see active channels only.

Revision ID: 0013_channel_ownership
Revises: 0012_privacy
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_channel_ownership"
down_revision = "0012_privacy"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("verified_at IS NOT NULL")


def _lookups(active: str) -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION frontdesk_channel_tenant(p_phone_number_id text)
        RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS
        $$ SELECT tenant_id FROM channels WHERE phone_number_id = p_phone_number_id{active} $$""",
        f"""CREATE OR REPLACE FUNCTION frontdesk_verify_token_tenants(p_digests text[])
        RETURNS SETOF bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS
        $$ SELECT DISTINCT tenant_id FROM channels WHERE verify_token_digest = ANY(p_digests){active} $$""",
        f"""CREATE OR REPLACE FUNCTION frontdesk_waba_tenants(p_waba_id text)
        RETURNS SETOF bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS
        $$ SELECT DISTINCT tenant_id FROM channels WHERE waba_id = p_waba_id{active} $$""",
    ]


def upgrade() -> None:
    # Plain ADD COLUMN (channels has no triggers, but keep to the rule).
    op.add_column("channels", sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("channels", sa.Column("verification_error", sa.String(200), nullable=True))
    op.execute("UPDATE channels SET verified_at = created_at")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("channels_phone_number_id_key", "channels", type_="unique")
        op.create_unique_constraint("uq_channels_tenant_number", "channels", ["tenant_id", "phone_number_id"])
    else:
        # SQLite: the unnamed UNIQUE goes with a copy of the table (no triggers on channels).
        with op.batch_alter_table(
            "channels", naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s"}
        ) as batch_op:
            batch_op.drop_constraint("uq_channels_phone_number_id", type_="unique")
            batch_op.create_unique_constraint("uq_channels_tenant_number", ["tenant_id", "phone_number_id"])
    op.create_index(
        "uq_channels_active_number",
        "channels",
        ["phone_number_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in _lookups(" AND verified_at IS NOT NULL"):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _lookups(""):
            op.execute(statement)
    op.execute("DELETE FROM channels WHERE verified_at IS NULL")
    op.drop_index("uq_channels_active_number", table_name="channels")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_constraint("uq_channels_tenant_number", type_="unique")
        batch_op.create_unique_constraint("channels_phone_number_id_key", ["phone_number_id"])
        batch_op.drop_column("verification_error")
        batch_op.drop_column("verified_at")
