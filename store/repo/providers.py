"""The tenant's model provider settings; the API key is sealed and write-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.crypto import Keyring, Secret
from store.errors import FieldError, NotFound, UserError
from store.models import PROVIDERS, ProviderSetting, utcnow
from store.sealed import seal, unseal_secret

KEYLESS_PROVIDERS = ("extractive", "openai-compatible")
SLOTS = ("primary", "fallback")


@dataclass(frozen=True)
class ProviderConfig:
    """A provider setting with its key unsealed (the key still prints as ``***``)."""

    provider: str
    model: str | None
    base_url: str | None
    api_key: Secret | None
    prices: dict[str, Any] = field(default_factory=dict[str, Any])
    last_error: str | None = None
    """Why the provider last failed a turn (see :func:`note_error`)."""


def validate(provider: str, base_url: str | None, api_key: str | None) -> None:
    """Raise :class:`UserError` for an unknown provider, a bad URL or a missing key."""
    if provider not in PROVIDERS:
        raise UserError(f"unknown provider {provider!r}: choose one of {', '.join(PROVIDERS)}")
    if base_url is not None:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise FieldError("base_url", "expected a base URL of the form http(s)://host[:port][/path]")
    if provider == "openai-compatible" and base_url is None:
        raise FieldError("base_url", "provider openai-compatible needs the endpoint's URL")
    if provider not in KEYLESS_PROVIDERS and not api_key:
        raise FieldError("api_key", f"provider {provider} needs an API key")


def set_provider(
    session: Session,
    keyring: Keyring,
    tenant_id: int,
    provider: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    slot: str = "primary",
) -> ProviderSetting:
    """Create or replace the tenant's provider in ``slot``; the key is sealed to the row."""
    if slot not in SLOTS:
        raise UserError(f"unknown slot {slot!r}")
    validate(provider, base_url, api_key)
    row = session.scalar(
        select(ProviderSetting).where(ProviderSetting.tenant_id == tenant_id, ProviderSetting.slot == slot)
    )
    if row is None:
        row = ProviderSetting(tenant_id=tenant_id, slot=slot, provider=provider)
        session.add(row)
    row.provider, row.model, row.base_url, row.updated_at = provider, model, base_url, utcnow()
    row.last_error, row.last_error_at = None, None
    seal(keyring, row, "api_key_ciphertext", api_key or None)
    session.flush()
    return row


def get(session: Session, keyring: Keyring, tenant_id: int, slot: str = "primary") -> ProviderConfig:
    """The tenant's provider in ``slot``, key unsealed; :class:`NotFound` if none is set."""
    row = session.scalar(
        select(ProviderSetting).where(ProviderSetting.tenant_id == tenant_id, ProviderSetting.slot == slot)
    )
    if row is None:
        raise NotFound(f"no {slot} provider configured")
    return unsealed(keyring, row)


def stored(session: Session, tenant_id: int) -> dict[str, ProviderSetting]:
    """The tenant's provider rows by slot, keys still sealed (see :func:`unsealed`)."""
    rows = session.scalars(select(ProviderSetting).where(ProviderSetting.tenant_id == tenant_id))
    return {row.slot: row for row in rows}


def unsealed(keyring: Keyring, row: ProviderSetting) -> ProviderConfig:
    """A stored provider row with its key unsealed (bound to the row: tenant and id)."""
    return ProviderConfig(
        provider=row.provider,
        model=row.model,
        base_url=row.base_url,
        api_key=unseal_secret(keyring, row, "api_key_ciphertext"),
        prices=dict(row.prices or {}),
        last_error=row.last_error,
    )


def note_error(session: Session, tenant_id: int, error: str | None, slot: str = "primary") -> None:
    """Remember why the provider failed a turn (``None``: it answered again)."""
    session.execute(
        update(ProviderSetting)
        .where(ProviderSetting.tenant_id == tenant_id, ProviderSetting.slot == slot)
        .values(last_error=error[:200] if error else None, last_error_at=utcnow() if error else None)
    )


def describe(session: Session, tenant_id: int) -> list[dict[str, Any]]:
    """The provider settings for display: the key shown only as set or not."""
    rows = session.scalars(
        select(ProviderSetting).where(ProviderSetting.tenant_id == tenant_id).order_by(ProviderSetting.slot)
    )
    return [
        {
            "slot": r.slot,
            "provider": r.provider,
            "model": r.model,
            "base_url": r.base_url,
            "api_key": "***" if r.api_key_ciphertext else None,
            "last_error": r.last_error,
            "last_error_at": r.last_error_at.isoformat() if r.last_error_at else None,
        }
        for r in rows
    ]
