"""The tenant's model provider settings; the API key is sealed and write-only.

The key is sealed together with the endpoint it was entered for (provider, scheme, host and
port): a row whose provider or base URL no longer matches yields no key, so a changed host
can never receive a key that was meant for another one, even if the row was edited behind
the application's back (invariant 6).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from errors import FieldError, NotFound, UserError
from store.crypto import Keyring, Secret
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
    base_url_trusted: bool = False
    """The operator set the base URL (CLI): it may be at a private address."""
    key_withheld: bool = False
    """A key is stored but was entered for another endpoint, so it is not given out."""


def endpoint_of(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an http(s) URL; :class:`UserError` when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UserError("invalid base URL: expected http(s)://host[:port][/path]") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError("invalid base URL: expected http(s)://host[:port][/path]")
    if parts.username is not None or parts.password is not None:
        raise UserError("invalid base URL: credentials in the URL are not allowed")
    return parts.scheme, parts.hostname.lower().rstrip("."), port or (443 if parts.scheme == "https" else 80)


def host_of(base_url: str | None) -> str:
    """``host:port`` of a base URL for display and audit; ``default`` for the vendor's own."""
    if base_url is None:
        return "default"
    _scheme, host, port = endpoint_of(base_url)
    return f"{host}:{port}"


def binding(provider: str, base_url: str | None) -> str:
    """What a key is sealed to: the provider and the scheme, host and port it is sent to."""
    if base_url is None:
        return f"{provider} default"
    scheme, host, port = endpoint_of(base_url)
    return f"{provider} {scheme}://{host}:{port}"


def validate(provider: str, base_url: str | None, api_key: str | None) -> None:
    """Raise :class:`UserError` for an unknown provider, a bad URL or a missing key."""
    if provider not in PROVIDERS:
        raise UserError(f"unknown provider {provider!r}: choose one of {', '.join(PROVIDERS)}")
    if base_url is not None:
        try:
            endpoint_of(base_url)
        except UserError as exc:
            raise FieldError("base_url", str(exc)) from None
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
    trusted: bool = False,
) -> ProviderSetting:
    """Create or replace the tenant's provider in ``slot``; the key is sealed to the row and
    to the endpoint it is for. ``trusted``: the operator names the URL (any host)."""
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
    row.base_url_trusted = trusted and base_url is not None
    sealed = json.dumps({"key": api_key, "for": binding(provider, base_url)}) if api_key else None
    seal(keyring, row, "api_key_ciphertext", sealed)
    session.flush()
    return row


def _key_for(keyring: Keyring, row: ProviderSetting) -> tuple[Secret | None, bool]:
    """The row's key if it was sealed for the row's endpoint; and whether one was withheld."""
    stored = unseal_secret(keyring, row, "api_key_ciphertext")
    if stored is None:
        return None, False
    try:
        value = json.loads(stored.reveal())
    except ValueError:
        value = None
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):  # type: ignore[union-attr]
        return stored, False  # sealed before keys were bound to endpoints
    sealed: dict[str, str] = value  # type: ignore[assignment]
    if sealed.get("for") != binding(row.provider, row.base_url):
        return None, True
    return Secret(sealed["key"]), False


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
    key, withheld = _key_for(keyring, row)
    return ProviderConfig(
        provider=row.provider,
        model=row.model,
        base_url=row.base_url,
        api_key=key,
        prices=dict(row.prices or {}),
        last_error=row.last_error,
        base_url_trusted=bool(row.base_url_trusted),
        key_withheld=withheld,
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
