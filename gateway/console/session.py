"""Console sessions: a signed, expiring, HttpOnly SameSite=Strict cookie, and CSRF tokens.

The cookie holds the tenant and user ids, an expiry, a random session id and a fingerprint of
the user's API token (so issuing a new token ends every console session of that user); it is
signed with HMAC-SHA256 under a key derived from the master keyring (any configured key
verifies, so a key rotation signs nobody out). The API token itself is never in the cookie.
Every form carries a CSRF token: HMAC of the session id (before sign-in, a double-submit
cookie).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from store.crypto import Keyring

SESSION_COOKIE = "fd_console"
LOGIN_COOKIE = "fd_console_login"
LANGUAGE_COOKIE = "fd_console_lang"
_PURPOSE = "frontdesk console session v1"


def _keys(keyring: Keyring) -> list[bytes]:
    return [bytes.fromhex(k) for k in keyring.blind_indexes(_PURPOSE)]


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def token_fingerprint(keyring: Keyring, token_hash: str) -> str:
    return _mac(_keys(keyring)[0], "fingerprint:" + token_hash)[:24]


@dataclass(frozen=True)
class SessionClaims:
    tenant_id: int
    user_id: int
    expires: int
    sid: str
    fingerprint: str


def issue(keyring: Keyring, tenant_id: int, user_id: int, token_hash: str, seconds: float) -> str:
    """A new session cookie value for the user, valid ``seconds``."""
    claims = f"{tenant_id}.{user_id}.{int(time.time() + seconds)}.{secrets.token_urlsafe(18)}"
    claims += "." + token_fingerprint(keyring, token_hash)
    encoded = base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")
    return f"{encoded}.{_mac(_keys(keyring)[0], claims)}"


def read(keyring: Keyring, value: str | None) -> SessionClaims | None:
    """The claims of a valid, unexpired cookie; None for anything else."""
    if not value or len(value) > 400 or "." not in value:
        return None
    encoded, _, signature = value.rpartition(".")
    try:
        claims = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        tenant, user, expires, sid, fingerprint = claims.split(".")
        parsed = SessionClaims(int(tenant), int(user), int(expires), sid, fingerprint)
    except (ValueError, UnicodeDecodeError):
        return None
    if not any(hmac.compare_digest(_mac(key, claims), signature) for key in _keys(keyring)):
        return None
    return parsed if parsed.expires > time.time() else None


def csrf_token(keyring: Keyring, sid: str) -> str:
    return _mac(_keys(keyring)[0], "csrf:" + sid)


def csrf_ok(keyring: Keyring, sid: str, given: str | None) -> bool:
    if not given:
        return False
    return any(hmac.compare_digest(_mac(key, "csrf:" + sid), given) for key in _keys(keyring))


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)
