"""PostgreSQL row-level security: every tenant table sees only the transaction's tenant."""

from __future__ import annotations

APP_ROLE = "frontdesk_app"
TENANT_SETTING = "app.tenant_id"


def enable_tenant_rls(table: str) -> list[str]:
    """SQL that makes ``table`` visible only to the tenant set for the current transaction."""
    condition = f"tenant_id = NULLIF(current_setting('{TENANT_SETTING}', true), '')::bigint"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}",
    ]


def create_app_role() -> list[str]:
    """SQL that creates the application role (cannot bypass RLS) if it is missing."""
    return [
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
        END $$""",
    ]


def grant_schema(schema: str) -> list[str]:
    """Let the application role use the schema (tables are granted one by one)."""
    return [f'GRANT USAGE ON SCHEMA "{schema}" TO {APP_ROLE}']
