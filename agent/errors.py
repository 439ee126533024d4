"""Provider-error helpers; the classes are :mod:`errors`' (re-exported here while callers move)."""

from __future__ import annotations

from errors import (
    BadRequestError,
    FrontdeskError,
    InvalidKeyError,
    ProviderError,
    ProviderHTTPError,
    RateLimitedError,
    RetryLater,
    TransientProviderError,
    UserError,
)

__all__ = [
    "BadRequestError",
    "FrontdeskError",
    "InvalidKeyError",
    "ProviderError",
    "ProviderHTTPError",
    "RateLimitedError",
    "RetryLater",
    "TransientProviderError",
    "UserError",
    "describe",
    "scrub",
]


def describe(error: ProviderError) -> str:
    """A short, secret-free reason for operators: :meth:`errors.ProviderError.describe`."""
    return error.describe()


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every occurrence of each secret (and its 12-char tail/head) masked."""
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "[redacted]")
        if len(secret) >= 16:
            text = text.replace(secret[-12:], "[redacted]").replace(secret[:12], "[redacted]")
    return text
