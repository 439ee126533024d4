"""Handoffs outside the console: the latest summary of a conversation, and the operator's
signed outgoing webhook.

An operator may give an HTTPS URL of their own (``PUT /api/settings/handoff-webhook``); every
handoff is then POSTed there as JSON ``{"event": "handoff", "tenant", "conversation_id",
"reason", "at"}`` (no message text, no customer data: read the conversation through the API),
signed with the tenant's webhook secret: ``X-Frontdesk-Signature: sha256=<hex HMAC-SHA256 of
"<X-Frontdesk-Timestamp>.<body>">``. A failed delivery (network error, 429 or 5xx) is
retried a few times with growing delays, in the background of the worker that handed off.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.llm.hosts import HostRefused, PinnedTransport, Resolver, checked_address, is_public, resolve
from errors import UserError
from store.crypto import Keyring, aad_for
from store.db import Database
from store.models import Tenant, TurnRow
from store.sealed import unseal

log = logging.getLogger("frontdesk.handoffs")

SETTING = "handoff_webhook"
SIGNATURE_HEADER = "X-Frontdesk-Signature"
TIMESTAMP_HEADER = "X-Frontdesk-Timestamp"
RETRY_DELAYS = (1.0, 5.0, 30.0)
TIMEOUT = 5.0


# --- the summary -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handoff:
    """Why the bot handed over, and the summary a person reads in five seconds."""

    reason: str
    summary: str
    at: datetime | None


def split_summary(text: str) -> tuple[str, str]:
    """``(reason, the rest)`` of a stored summary whose first line is ``Reason: ….``."""
    first, _, rest = text.partition("\n")
    if first.startswith("Reason:"):
        return first.removeprefix("Reason:").strip().rstrip("."), rest.strip()
    return "", text.strip()


def latest(session: Session, keyring: Keyring, conversation_id: int) -> Handoff | None:
    """The conversation's most recent handoff, decrypted (None if the bot never handed over)."""
    turn = session.scalar(
        select(TurnRow)
        .where(TurnRow.conversation_id == conversation_id, TurnRow.handoff_summary_ciphertext.is_not(None))
        .order_by(TurnRow.finished_at.desc(), TurnRow.started_at.desc())
        .limit(1)
    )
    if turn is None:
        return None
    reason, summary = split_summary(unseal(keyring, turn, "handoff_summary_ciphertext") or "")
    return Handoff(reason or "handoff", summary, turn.finished_at)


# --- the operator's webhook --------------------------------------------------------------------


def _allowed(allow_loopback: bool) -> Callable[[str], bool]:
    def allowed(address: str) -> bool:
        return is_public(address) or (
            allow_loopback and ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
        )

    return allowed


def validate_url(url: str, *, allow_loopback: bool = False, resolver: Resolver = resolve) -> str:
    """The URL if it is fit to receive handoffs: HTTPS, a host name whose addresses are all
    public (a name that does not resolve yet is checked again at delivery) or a public address,
    no credentials in it (plain HTTP only to this machine, and only with ``allow_loopback``)."""
    if len(url) > 500:
        raise UserError("the webhook URL is longer than 500 characters")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or parts.username or parts.password:
        raise UserError("the webhook URL needs a host and no user or password in it")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    loopback = host == "localhost" or (address is not None and address.is_loopback)
    if loopback and allow_loopback and parts.scheme in ("http", "https"):
        return url
    if parts.scheme != "https":
        raise UserError("the webhook URL must start with https://")
    if loopback or (address is not None and not address.is_global):
        raise UserError("the webhook URL must not point at a private, loopback or reserved address")
    try:
        checked_address(host, parts.port or 443, allow=_allowed(allow_loopback), resolver=resolver)
    except HostRefused as exc:
        if "does not resolve" not in str(exc):
            raise UserError(
                "the webhook URL's host resolves to a private, loopback or reserved address"
            ) from None
    return url


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _aad(tenant_id: int) -> str:
    return aad_for("tenants.settings.handoff_webhook", tenant_id, "secret")


def setting_for(keyring: Keyring, tenant_id: int, url: str, secret: str) -> dict[str, str]:
    """What ``tenants.settings[SETTING]`` holds: the URL and the secret, encrypted."""
    return {"url": url, "secret_ciphertext": keyring.encrypt(secret, aad=_aad(tenant_id))}


def secret_of(keyring: Keyring, tenant_id: int, setting: dict[str, Any]) -> str:
    return keyring.decrypt(str(setting["secret_ciphertext"]), aad=_aad(tenant_id))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def deliver(
    url: str,
    secret: str,
    payload: dict[str, Any],
    *,
    delays: Sequence[float] = RETRY_DELAYS,
    client: httpx.Client | None = None,
    allow_loopback: bool = False,
    resolver: Resolver = resolve,
) -> bool:
    """POST the signed payload; retried after each delay on a network error, 429 or 5xx.

    The connection goes to the address checked for it (:class:`agent.llm.hosts.PinnedTransport`):
    a name that now resolves to a private or loopback address is refused, not retried."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    own = client is None

    def pick(host: str, port: int) -> str:
        return checked_address(host, port, allow=_allowed(allow_loopback), resolver=resolver)

    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False, transport=PinnedTransport(pick))
    try:
        for attempt in range(len(delays) + 1):
            timestamp = str(int(time.time()))
            headers = {
                "content-type": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature(secret, timestamp, body),
                "user-agent": "frontdesk-handoffs/1",
            }
            try:
                status = http.post(url, content=body, headers=headers).status_code
            except HostRefused:
                log.warning("handoff webhook refused: its host resolves to a private or reserved address")
                return False
            except httpx.HTTPError as exc:
                status, why = 0, type(exc).__name__
            else:
                why = str(status)
            if 200 <= status < 300:
                return True
            if status and status < 500 and status != 429:
                log.warning("handoff webhook refused (%s); not retried", why)
                return False
            if attempt < len(delays):
                time.sleep(delays[attempt])
            log.warning("handoff webhook attempt %d failed (%s)", attempt + 1, why)
        return False
    finally:
        if own:
            http.close()


def notify(db: Database, tenant_id: int, conversation_id: int, *, allow_loopback: bool = False) -> bool:
    """Send the handoff to the tenant's webhook in the background; False when none is set."""
    with db.tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        setting = (tenant.settings or {}).get(SETTING) if tenant is not None else None
        if not isinstance(setting, dict) or not setting.get("url"):
            return False
        found = latest(session, db.keyring, conversation_id)
        slug = tenant.slug if tenant is not None else ""
    try:
        url = validate_url(str(setting["url"]), allow_loopback=allow_loopback)
        secret = secret_of(db.keyring, tenant_id, setting)
    except Exception as exc:
        log.warning("handoff webhook of tenant %s unusable (%s)", tenant_id, type(exc).__name__)
        return False
    payload = {
        "event": "handoff",
        "tenant": slug,
        "conversation_id": conversation_id,
        "reason": found.reason if found else "handoff",
        "at": int(time.time()),
    }
    threading.Thread(
        target=deliver,
        args=(url, secret, payload),
        kwargs={"allow_loopback": allow_loopback},
        name="handoff-webhook",
        daemon=True,
    ).start()
    return True
