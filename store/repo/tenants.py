"""Tenants: the businesses Frontdesk serves."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from errors import Conflict, NotFound, UserError
from store.models import Tenant

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def validate_slug(slug: str) -> str:
    """Return the slug or raise :class:`UserError` saying what a slug may contain."""
    if not SLUG_PATTERN.match(slug):
        raise UserError(f"invalid slug {slug!r}: use 1-63 lowercase letters, digits and inner hyphens")
    return slug


def create(
    session: Session, slug: str, name: str | None = None, settings: dict[str, Any] | None = None
) -> Tenant:
    """Create a tenant; the slug must be new."""
    validate_slug(slug)
    if session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(f"tenant {slug!r} already exists")
    tenant = Tenant(slug=slug, name=name or slug, settings=settings or {})
    session.add(tenant)
    session.flush()
    return tenant


def get_by_slug(session: Session, slug: str) -> Tenant:
    """The tenant with this slug, or :class:`NotFound`."""
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no tenant {slug!r}")
    return tenant


def get(session: Session, tenant_id: int) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id}")
    return tenant


def list_all(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.slug)))
