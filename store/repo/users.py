"""Users with roles and API tokens. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from errors import UserError
from store.crypto import Secret
from store.models import ROLES, User, utcnow

TOKEN_PREFIX = "fdk_"  # noqa: S105 (a public prefix, not a secret)


@dataclass(frozen=True)
class NewUser:
    """A created user and its token, which is shown once and never stored."""

    user: User
    token: Secret


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    session: Session,
    tenant_id: int,
    role: str,
    name: str | None = None,
    *,
    expires_at: datetime | None = None,
) -> NewUser:
    """Create a user of ``tenant_id`` with ``role`` and a fresh API token (refused after ``expires_at``)."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if expires_at is not None and expires_at.tzinfo is None:
        raise UserError("give the expiry with a UTC offset")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user = User(
        tenant_id=tenant_id,
        name=name or role,
        role=role,
        token_hash=hash_token(token),
        token_prefix=token[: len(TOKEN_PREFIX) + 6],
        expires_at=expires_at,
    )
    session.add(user)
    session.flush()
    return NewUser(user, Secret(token))


DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or ``2w`` as a duration; :class:`UserError` otherwise."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([mhdw])\s*", text.lower())
    if match is None or int(match.group(1)) == 0:
        raise UserError(f"invalid duration {text!r}: expected e.g. 30d, 12h, 90m or 2w")
    return timedelta(**{DURATION_UNITS[match.group(2)]: int(match.group(1))})


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
