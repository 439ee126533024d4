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


_PIN_BODY = r"""
DECLARE
  v text := current_setting('app.tenant_id', true);
  tenant text;
  mac_key bytea;
BEGIN
  IF v IS NULL OR length(v) > 160 OR split_part(v, '.', 4) <> '' THEN
    RETURN NULL;
  END IF;
  SELECT k.pin_key INTO mac_key FROM frontdesk_pin_keys AS k WHERE k.key_id = split_part(v, '.', 2);
  IF mac_key IS NULL THEN
    RETURN NULL;
  END IF;
  tenant := split_part(v, '.', 1);
  IF encode(sha256(mac_key || sha256(mac_key || convert_to('tenant:' || tenant, 'UTF8'))), 'hex')
      IS DISTINCT FROM split_part(v, '.', 3) THEN
    RETURN NULL;
  END IF;
  RETURN tenant::bigint;  -- signed: a tenant id the application wrote
END
"""
"""``frontdesk_tenant()``: the pinned tenant when its MAC checks out, else NULL.

PL/pgSQL, whose statement plans live as long as the connection: a policy evaluates it once per
table a statement reads, and the SQL function it replaces was parsed and planned again at every
statement (its regular expression cost as much again; the MAC check is what rejects a forged
pin, and the tenant id is cast only once it is signed). ``search_path`` ends with ``pg_temp``:
left implicit, the session's temporary schema comes first, and a temporary table named
``frontdesk_pin_keys`` would let the application sign its own pins.
"""


def definer(name: str, returns: str, language: str, body: str) -> str:
    """``CREATE OR REPLACE FUNCTION`` owned by the migrating role, its search path the schema it is
    created in, then ``pg_temp`` (never first: a temporary table must not shadow one of ours)."""
    return f"""DO $create$ BEGIN EXECUTE format($function$
CREATE OR REPLACE FUNCTION {name}() RETURNS {returns}
LANGUAGE {language} STABLE SECURITY DEFINER SET search_path = %I, pg_temp AS $body${body}$body$
$function$, current_schema()); END $create$"""


TEMP_SCHEMA_LAST = """DO $paths$ DECLARE f regprocedure; BEGIN
  FOR f IN SELECT p.oid FROM pg_proc p
           WHERE p.pronamespace = current_schema()::regnamespace AND p.prosecdef
             AND p.proname LIKE 'frontdesk\\_%' LOOP
    EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', f, current_schema());
  END LOOP;
END $paths$"""
"""Every ``SECURITY DEFINER`` function of ours in the current schema gets the search path
``schema, pg_temp``. Created with ``SET search_path FROM CURRENT`` they searched the session's
temporary schema first: a temporary ``channels`` table made by SQL running as the application
(kept by a pooled connection) would have routed other customers' messages to its tenant."""


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
        definer("frontdesk_tenant", "bigint", "plpgsql", _PIN_BODY),
        "REVOKE ALL ON FUNCTION frontdesk_tenant() FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION frontdesk_tenant() TO {APP_ROLE}",
        definer("frontdesk_pin_key_ids", "SETOF text", "sql", " SELECT key_id FROM frontdesk_pin_keys "),
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
