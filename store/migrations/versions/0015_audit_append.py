"""The audit chain's append in one statement: ``frontdesk_audit_append(...)`` locks the chain,
reads its head and inserts the entry only if it follows that head, and answers the head it
found (so a caller whose guess of the head was wrong computes the entry's HMAC again and
retries; the key never reaches the database).

Invoker's rights (row-level security and the application's grants apply as to its own
statements); ``search_path`` is the schema, then ``pg_temp`` (never first). PL/pgSQL: each
statement of the body takes a new snapshot, so the head is read after the lock is granted.
PostgreSQL only (SQLite serializes appends with its write lock).

Revision ID: 0015_audit_append
Revises: 0014_definer_paths
"""

from __future__ import annotations

from alembic import op

from store.rls import APP_ROLE

revision = "0015_audit_append"
down_revision = "0014_definer_paths"
branch_labels = None
depends_on = None

SIGNATURE = (
    "frontdesk_audit_append(bigint, bigint, bigint, integer, timestamptz, text, text, text, json, text, text, text)"
)

_CREATE = """DO $create$ BEGIN EXECUTE format($function$
CREATE OR REPLACE FUNCTION frontdesk_audit_append(
    p_lock bigint, p_id bigint, p_tenant_id bigint, p_seq integer, p_at timestamptz, p_actor text,
    p_action text, p_subject text, p_details json, p_prev_hash text, p_hash text, p_key_id text,
    OUT head_seq integer, OUT head_hash text)
LANGUAGE plpgsql VOLATILE SET search_path = %I, pg_temp AS $body$
BEGIN
  PERFORM pg_advisory_xact_lock(p_lock);
  IF p_tenant_id IS NULL THEN
    SELECT a.seq, a.hash INTO head_seq, head_hash FROM audit_log AS a
    WHERE a.tenant_id IS NULL ORDER BY a.seq DESC LIMIT 1;
  ELSE
    SELECT a.seq, a.hash INTO head_seq, head_hash FROM audit_log AS a
    WHERE a.tenant_id = p_tenant_id ORDER BY a.seq DESC LIMIT 1;
  END IF;
  IF (head_seq IS NULL AND p_seq = 1) OR (head_seq = p_seq - 1 AND head_hash = p_prev_hash) THEN
    INSERT INTO audit_log (id, tenant_id, seq, at, actor, action, subject, details, prev_hash, hash, key_id)
    VALUES (p_id, p_tenant_id, p_seq, p_at, p_actor, p_action, p_subject, p_details, p_prev_hash,
            p_hash, p_key_id);
  END IF;
END
$body$
$function$, current_schema()); END $create$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_CREATE)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
