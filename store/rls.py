"""PostgreSQL row-level security: every tenant table sees only the transaction's tenant.

The application logs in as ``frontdesk_app`` (no superuser, no BYPASSRLS, owner of nothing),
so ``RESET ROLE`` or ``SET ROLE`` lead nowhere. The transaction's tenant is a *signed pin* in
``app.tenant_id``: ``<tenant id>.<key id>.<mac>``, the MAC keyed by a key derived from the
master keys. ``frontdesk_tenant()`` (owner's rights) checks the MAC against
``frontdesk_pin_keys``, a table the application role cannot read, and answers the tenant id
or NULL. Someone who can run SQL as the application but does not hold the master keys
(a leaked database password, an injection) cannot ``set_config`` their way into another
tenant: a forged or copied-over pin names no tenant and every tenant row stays invisible.
"""

from __future__ import annotations

import hashlib

from store.crypto import Keyring

APP_ROLE = "frontdesk_app"
TENANT_SETTING = "app.tenant_id"
PIN_PURPOSE = "tenant pin"
CURRENT_TENANT = "(SELECT frontdesk_tenant())"
"""The transaction's tenant in a policy (a sub-select: evaluated once per statement)."""


def pin_value(keyring: Keyring, tenant_id: int, key_id: str | None = None) -> str:
    """The ``app.tenant_id`` value that makes ``tenant_id`` the transaction's tenant (signed
    with the newest master key, or ``key_id``)."""
    key_id, key = keyring.derived_key(PIN_PURPOSE, key_id)
    inner = hashlib.sha256(key + f"tenant:{tenant_id}".encode()).digest()
    return f"{tenant_id}.{key_id}.{hashlib.sha256(key + inner).hexdigest()}"


def enable_tenant_rls(table: str) -> list[str]:
    """SQL that makes ``table`` visible only to the tenant pinned for the current transaction."""
    condition = f"tenant_id = {CURRENT_TENANT}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}",
    ]


_PIN_FUNCTION = r"""CREATE OR REPLACE FUNCTION frontdesk_tenant() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
  SELECT split_part(s.v, '.', 1)::bigint
  FROM (SELECT current_setting('app.tenant_id', true) AS v) AS s
  JOIN frontdesk_pin_keys AS k ON k.key_id = split_part(s.v, '.', 2)
  WHERE s.v ~ '^[0-9]{1,18}\.[A-Za-z0-9_-]{1,32}\.[0-9a-f]{64}$'
    AND encode(sha256(k.pin_key || sha256(k.pin_key
        || convert_to('tenant:' || split_part(s.v, '.', 1), 'UTF8'))), 'hex') = split_part(s.v, '.', 3)
$$"""


def create_app_role() -> list[str]:
    """SQL that creates the application's login role (if missing) and the signed-pin check."""
    return [
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
            END IF;
        END $$""",
        "CREATE TABLE IF NOT EXISTS frontdesk_pin_keys (key_id text PRIMARY KEY, pin_key bytea NOT NULL)",
        "REVOKE ALL ON frontdesk_pin_keys FROM PUBLIC",
        _PIN_FUNCTION,
        "REVOKE ALL ON FUNCTION frontdesk_tenant() FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION frontdesk_tenant() TO {APP_ROLE}",
        """CREATE OR REPLACE FUNCTION frontdesk_pin_key_ids() RETURNS SETOF text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS
        $$ SELECT key_id FROM frontdesk_pin_keys $$""",
        f"GRANT EXECUTE ON FUNCTION frontdesk_pin_key_ids() TO {APP_ROLE}",
    ]


def register_pin_keys(keyring: Keyring) -> list[tuple[str, dict[str, object]]]:
    """Statements (with parameters) that let ``frontdesk_tenant()`` check pins of every key."""
    statements: list[tuple[str, dict[str, object]]] = []
    for key_id in keyring.key_ids:
        _, key = keyring.derived_key(PIN_PURPOSE, key_id)
        statements.append(
            (
                "INSERT INTO frontdesk_pin_keys (key_id, pin_key) VALUES (:k, :v) "
                "ON CONFLICT (key_id) DO UPDATE SET pin_key = EXCLUDED.pin_key",
                {"k": key_id, "v": key},
            )
        )
    return statements


def grant_schema(schema: str) -> list[str]:
    """Let the application role use the schema (tables are granted one by one)."""
    return [f'GRANT USAGE ON SCHEMA "{schema}" TO {APP_ROLE}']


CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


def secure_checkpoints() -> list[str]:
    """SQL that keeps LangGraph's checkpoint tables per tenant: a thread id is
    ``<tenant id>:<conversation id>``, and a row is visible only to the tenant it names."""
    condition = f"split_part(thread_id, ':', 1) = {CURRENT_TENANT}::text"
    statements: list[str] = []
    for table in CHECKPOINT_TABLES:
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
            f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}",
        ]
    return [*statements, f"GRANT SELECT ON checkpoint_migrations TO {APP_ROLE}"]
