"""Users with roles and API tokens. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from store.crypto import Secret
from store.errors import UserError
from store.models import ROLES, User, utcnow

TOKEN_PREFIX = "fdk_"  # noqa: S105 (a public prefix, not a secret)


@dataclass(frozen=True)
class NewUser:
    """A created user and its token, which is shown once and never stored."""

    user: User
    token: Secret


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, tenant_id: int, role: str, name: str | None = None) -> NewUser:
    """Create a user of ``tenant_id`` with ``role`` and a fresh API token."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user = User(
        tenant_id=tenant_id,
        name=name or role,
        role=role,
        token_hash=hash_token(token),
        token_prefix=token[: len(TOKEN_PREFIX) + 6],
    )
    session.add(user)
    session.flush()
    return NewUser(user, Secret(token))


def tenant_of_token(session: Session, token: str) -> int | None:
    """The tenant a token belongs to, before any tenant is pinned (for authentication)."""
    digest = hash_token(token)
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(text("SELECT frontdesk_token_tenant(:h)"), {"h": digest})
    return session.scalar(select(User.tenant_id).where(User.token_hash == digest))


def by_token(session: Session, token: str) -> User | None:
    """The enabled user with this token, within the session's tenant."""
    user = session.scalar(select(User).where(User.token_hash == hash_token(token)))
    if user is None or user.disabled:
        return None
    user.last_used_at = utcnow()
    return user


def list_for_tenant(session: Session, tenant_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.created_at)))
