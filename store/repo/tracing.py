"""A tenant's own Langfuse project; the secret key is sealed and write-only."""

from __future__ import annotations

from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from errors import UserError
from store.crypto import Keyring, Secret
from store.models import TenantTracing, utcnow
from store.sealed import seal, unseal


def set_project(
    session: Session, keyring: Keyring, tenant_id: int, *, public_key: str, secret_key: str, base_url: str
) -> TenantTracing:
    """Send this tenant's traces to its own Langfuse project from now on."""
    parsed = urlparse(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UserError("invalid Langfuse base URL: expected http(s)://host[:port]")
    if not public_key.strip() or not secret_key.strip():
        raise UserError("a Langfuse public key and secret key are both required")
    row = session.scalar(select(TenantTracing).where(TenantTracing.tenant_id == tenant_id))
    if row is None:
        row = TenantTracing(tenant_id=tenant_id, public_key="", base_url="", secret_key_ciphertext="")
        session.add(row)
    row.public_key, row.base_url, row.updated_at = public_key.strip(), base_url.rstrip("/"), utcnow()
    seal(keyring, row, "secret_key_ciphertext", secret_key.strip())
    session.flush()
    return row


def project_of(session: Session, keyring: Keyring, tenant_id: int) -> tuple[str, Secret, str] | None:
    """(public key, secret key, base URL) of the tenant's project, if it has one."""
    row = session.scalar(select(TenantTracing).where(TenantTracing.tenant_id == tenant_id))
    if row is None:
        return None
    return row.public_key, Secret(unseal(keyring, row, "secret_key_ciphertext") or ""), row.base_url
