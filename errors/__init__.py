"""Frontdesk's one error hierarchy, at the bottom of the house: every room imports it, it imports
no room (``tests/test_layers.py``).

::

    FrontdeskError
    ├── UserError                 bad input or configuration: never retried; gateway 4xx, CLI exit 2
    │   ├── NotFound              404
    │   ├── Conflict              409
    │   └── FieldError            one named field (the API names it, the CLI its option)
    ├── ProviderError             a model provider failed (``retryable``, ``describe()``)
    │   └── ProviderHTTPError     with the HTTP ``status`` (``None`` when no answer came)
    │       ├── InvalidKeyError         401/403: hand off, alert the operator
    │       ├── RateLimitedError        429, with ``retry_after``
    │       ├── TransientProviderError  5xx, overloaded, timeouts, connection failures
    │       └── BadRequestError         400, 404, 422…
    ├── RetryLater                run the job again after ``defer`` seconds (the drain honours it)
    ├── SendError                 a message was not sent (``reason``, ``retryable``, ``retry_after``)
    │   └── PermanentSendError    never retried
    ├── CryptoError               encryption at rest (``store.crypto`` says which)
    └── DatabaseError             the database is unreachable or not set up

Rooms keep subclasses that add meaning where they are raised (``store.crypto.DecryptionError``,
``channels.errors.RateLimited``, ``knowledge.errors.DocumentTooLarge``…), all under this root.
Messages are safe to show: no secrets, no personal data, no message text; provider errors are
raised without chaining the SDK's exception.
"""

from __future__ import annotations

from typing import Any, ClassVar


class FrontdeskError(Exception):
    """Base of every error Frontdesk raises on purpose."""


# --- the caller's mistakes ----------------------------------------------------------------------


class UserError(FrontdeskError):
    """The caller asked for something invalid or misconfigured it; retrying the same cannot help."""


class NotFound(UserError):
    """The thing does not exist for this tenant (another tenant's ids look the same)."""


class Conflict(UserError):
    """The thing exists already, or its state does not allow the request."""


class FieldError(UserError):
    """One named field of a request is missing or invalid (the API names the field, the CLI its option)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- model providers ----------------------------------------------------------------------------


class ProviderError(FrontdeskError):
    """A model provider call failed."""

    retryable: ClassVar[bool] = False
    """Whether repeating the same call may succeed."""

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message)
        self.provider = provider
        """Provider name (``openai``, ``anthropic``…), empty when unknown."""

    def describe(self) -> str:
        """A short, secret-free reason for operators (run records, ``tenants list``)."""
        return f"provider error{self._status_note()}"

    def _status_note(self) -> str:
        status: int | None = getattr(self, "status", None)
        return f" ({status})" if status else ""


class ProviderHTTPError(ProviderError):
    """A provider answered with an HTTP error status (``None`` when no answer came)."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message, provider=provider)
        self.status = status


class InvalidKeyError(ProviderHTTPError):
    """The tenant's key was refused (401/403). No retry: hand off and alert the operator."""

    needs_human: ClassVar[bool] = True

    def describe(self) -> str:
        return f"provider rejected the API key{self._status_note()}"


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

    def describe(self) -> str:
        return f"provider rate-limited the tenant{self._status_note()}"


class TransientProviderError(ProviderHTTPError):
    """5xx, overloaded (529), timeouts and connection failures: a bounded retry may help."""

    retryable: ClassVar[bool] = True

    def describe(self) -> str:
        return (
            f"provider unavailable{self._status_note()}"
            if self.status
            else "provider unreachable or timed out"
        )


class BadRequestError(ProviderHTTPError):
    """The provider rejected the request itself (400, 404, 422…): no retry."""

    def describe(self) -> str:
        return f"provider refused the request{self._status_note()}"


# --- scheduling ---------------------------------------------------------------------------------


class RetryLater(FrontdeskError):
    """Ask the caller's scheduler to run the job again after ``defer`` seconds (arq's ``Retry``).

    The turn runner raises it (a rate-limited or unavailable provider); the drain honours it:
    the turn runs again after ``defer``, or is handed off past the customer's deadline.
    """

    def __init__(self, defer: float | None = None, *, reason: str = "") -> None:
        super().__init__(reason or f"retry later (defer={defer})")
        self.defer = defer
        self.reason = reason

    @classmethod
    def from_error(cls, error: ProviderError, *, default_defer: float = 30.0) -> RetryLater:
        """The ``RetryLater`` for a retryable provider error that outlived its in-call retries."""
        defer = error.retry_after if isinstance(error, RateLimitedError) else None
        return cls(defer if defer is not None else default_defer, reason=str(error))


# --- sending ------------------------------------------------------------------------------------


class SendError(FrontdeskError):
    """A message was not sent.

    ``reason`` is short and machine-readable (the outbox records it): unless given, the class
    name, with the channel's error ``code`` when there is one. ``retryable`` says whether the same
    request may succeed later, ``retry_after`` the wait in seconds when the channel implies one.
    ``code``, ``subcode``, ``status`` and ``trace_id`` are what the channel answered (Meta's error
    code and subcode, the HTTP status, Meta's ``fbtrace_id``), ``None`` when no answer came.
    """

    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        code: int | None = None,
        subcode: int | None = None,
        status: int | None = None,
        trace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        name = type(self).__name__
        self.reason = reason or (name if code is None else f"{name}:{code}")
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.code = code
        self.subcode = subcode
        self.status = status
        self.trace_id = trace_id

    def __reduce__(self) -> tuple[Any, ...]:
        """Keep the attributes across pickling (Celery results, process pools)."""
        kwargs = {
            "reason": self.reason,
            "retryable": self.retryable,
            "retry_after": self.retry_after,
            "code": self.code,
            "subcode": self.subcode,
            "status": self.status,
            "trace_id": self.trace_id,
        }
        return (_rebuild_send_error, (type(self), self.args[0], kwargs))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.args[0]!r}, reason={self.reason!r}, code={self.code}, "
            f"status={self.status}, retryable={self.retryable}, retry_after={self.retry_after})"
        )


class PermanentSendError(SendError):
    """Never retried: opted out, outside the 24-hour window, invalid token, bad request, no channel."""


def _rebuild_send_error(cls: type[SendError], message: str, kwargs: dict[str, Any]) -> SendError:
    return cls(message, **kwargs)


# --- infrastructure -----------------------------------------------------------------------------


class CryptoError(FrontdeskError):
    """Encryption at rest failed; messages never carry key material or plaintext."""


class DatabaseError(FrontdeskError):
    """The database is unreachable or not set up; the message is safe to show."""
