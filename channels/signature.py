"""Meta's webhook signature (``X-Hub-Signature-256``) and the subscription handshake."""

from __future__ import annotations

import hashlib
import hmac
import re

from store.crypto import Secret

SIGNATURE_HEADER = "X-Hub-Signature-256"
_HEADER = re.compile(r"^\s*sha256=([0-9a-fA-F]{64})\s*$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9_.~-]{1,256}$")


def _key(app_secret: str | Secret) -> bytes:
    return (app_secret.reveal() if isinstance(app_secret, Secret) else app_secret).encode()


def sign(body: bytes, app_secret: str | Secret) -> str:
    """The header value Meta would send for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(_key(app_secret), body, hashlib.sha256).hexdigest()


def well_formed(header: str | None) -> bool:
    """Whether ``header`` has the shape of Meta's signature (``sha256=`` and 64 hex digits)."""
    return bool(header) and _HEADER.match(header or "") is not None


def verify_signature(body: bytes, header: str | None, app_secret: str | Secret) -> bool:
    """Whether ``header`` is the HMAC-SHA256 of the raw ``body`` with ``app_secret``.

    Compared in constant time; the hex may be in any case; a missing, empty or malformed
    header, or an empty secret, is rejected.
    """
    if not header:
        return False
    match = _HEADER.match(header)
    key = _key(app_secret)
    if match is None or not key:
        return False
    expected = hmac.new(key, body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(match.group(1)))


def verify_subscription(
    mode: str | None, token: str | None, challenge: str | None, verify_token: str | Secret
) -> str | None:
    """The GET handshake: the challenge to echo back, or ``None`` (answer 403).

    ``mode`` must be ``subscribe`` and ``token`` the channel's verify token (compared in constant
    time). The challenge is echoed only if it looks like one (Meta sends digits), so the
    endpoint cannot be used to reflect arbitrary content.
    """
    expected = _key(verify_token)
    if mode != "subscribe" or not token or not challenge or not expected:
        return None
    if not hmac.compare_digest(token.encode(), expected):
        return None
    return challenge if _CHALLENGE.match(challenge) else None
