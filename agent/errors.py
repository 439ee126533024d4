"""The small error hierarchy shared by the agent, its providers and the workers.

``UserError`` is a caller's mistake (misconfiguration): never retried. ``ProviderError`` covers a
model provider failing; its HTTP subclasses say whether a retry can help. ``RetryLater`` is a
control-flow exception carrying scheduling data, mapped to a task retry by the workers only.

Messages never contain secrets: provider errors are built from the status and a scrubbed
vendor message, and are raised without chaining the SDK exception.
"""

from __future__ import annotations

from typing import ClassVar


class FrontdeskError(Exception):
    """Base of every error Frontdesk raises on purpose."""


class UserError(FrontdeskError):
    """A caller or configuration mistake: retrying cannot help."""


class ProviderError(FrontdeskError):
    """A model provider call failed."""

    retryable: ClassVar[bool] = False
    """Whether repeating the same call may succeed."""

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message)
        self.provider = provider
        """Provider name (``openai``, ``anthropic``…), empty when unknown."""


class ProviderHTTPError(ProviderError):
    """A provider answered with an HTTP error status (``None`` when no answer came)."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message, provider=provider)
        self.status = status


class InvalidKeyError(ProviderHTTPError):
    """The tenant's key was refused (401/403). No retry: hand off and alert the operator."""

    needs_human: ClassVar[bool] = True


class RateLimitedError(ProviderHTTPError):
    """429: retry after ``retry_after`` seconds when the provider said so."""

    retryable: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.retry_after = retry_after


class TransientProviderError(ProviderHTTPError):
    """5xx, overloaded (529), timeouts and connection failures: a bounded retry may help."""

    retryable: ClassVar[bool] = True


class BadRequestError(ProviderHTTPError):
    """The provider rejected the request itself (400, 404, 422…): no retry."""


class RetryLater(FrontdeskError):
    """Ask the caller's scheduler to run the job again after ``defer`` seconds."""

    def __init__(self, defer: float | None = None, *, reason: str = "") -> None:
        super().__init__(reason or f"retry later (defer={defer})")
        self.defer = defer
        self.reason = reason

    @classmethod
    def from_error(cls, error: ProviderError, *, default_defer: float = 30.0) -> RetryLater:
        """The ``RetryLater`` for a retryable provider error that outlived its in-call retries."""
        defer = error.retry_after if isinstance(error, RateLimitedError) else None
        return cls(defer if defer is not None else default_defer, reason=str(error))


def describe(error: ProviderError) -> str:
    """A short, secret-free reason for operators (run records, ``tenants list``)."""
    status = getattr(error, "status", None)
    code = f" ({status})" if status else ""
    if isinstance(error, InvalidKeyError):
        return f"provider rejected the API key{code}"
    if isinstance(error, RateLimitedError):
        return f"provider rate-limited the tenant{code}"
    if isinstance(error, TransientProviderError):
        return f"provider unavailable{code}" if status else "provider unreachable or timed out"
    if isinstance(error, BadRequestError):
        return f"provider refused the request{code}"
    return f"provider error{code}"


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every occurrence of each secret (and its 12-char tail/head) masked."""
    for secret in secrets:
        if not secret:
            continue
        text = text.replace(secret, "[redacted]")
        if len(secret) >= 16:
            text = text.replace(secret[-12:], "[redacted]").replace(secret[:12], "[redacted]")
    return text
