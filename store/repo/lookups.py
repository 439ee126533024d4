"""Lookups made before the tenant is known (webhook routing, sign-in), answering tenant ids only.

On PostgreSQL the application role cannot see tenant rows outside a tenant session, so these
go through ``SECURITY DEFINER`` functions (migration 0004) keyed by an unguessable value.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from store.crypto import Keyring
from store.models import Channel, User


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def tenants_of_verify_token(session: Session, keyring: Keyring, token: str) -> list[int]:
    """Tenants with an active channel whose verify token is ``token`` (by blind index, every key)."""
    digests = keyring.blind_indexes(token)
    if _postgres(session):
        rows = session.scalars(text("SELECT frontdesk_verify_token_tenants(:d)"), {"d": digests})
    else:
        rows = session.scalars(
            select(Channel.tenant_id)
            .where(Channel.verify_token_digest.in_(digests), Channel.verified_at.is_not(None))
            .distinct()
        )
    return [int(r) for r in rows]


def tenants_of_waba(session: Session, waba_id: str) -> list[int]:
    """Tenants with an active channel of this WhatsApp Business Account."""
    if _postgres(session):
        rows = session.scalars(text("SELECT frontdesk_waba_tenants(:w)"), {"w": waba_id})
    else:
        active = select(Channel.tenant_id).where(Channel.waba_id == waba_id, Channel.verified_at.is_not(None))
        rows = session.scalars(active.distinct())
    return [int(r) for r in rows]


def tenants_of_token_prefix(session: Session, prefix: str) -> list[int]:
    """Tenants with a user whose token starts with ``prefix`` (to count failed sign-ins)."""
    if _postgres(session):
        rows = session.scalars(text("SELECT frontdesk_token_prefix_tenants(:p)"), {"p": prefix})
    else:
        rows = session.scalars(select(User.tenant_id).where(User.token_prefix == prefix).distinct())
    return [int(r) for r in rows]
