"""Errors of the WhatsApp protocol layer. Messages never carry tokens or message text."""

from __future__ import annotations

from typing import Any

from store.errors import FrontdeskError, UserError


class ChannelError(FrontdeskError):
    """Base of the errors raised by :mod:`channels`."""


class MalformedWebhook(ChannelError, UserError):
    """A webhook body is not JSON, has the wrong shape, or is too large (answer 400)."""


class SendError(ChannelError):
    """The Cloud API did not accept a message.

    ``code`` is Meta's error code (``None`` for network failures), ``http_status`` the HTTP
    status (``None`` when no answer came), ``retryable`` whether the same request may succeed
    later, and ``retry_after`` the suggested wait in seconds when Meta or the error implies one.
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        subcode: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        fbtrace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.subcode = subcode
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.fbtrace_id = fbtrace_id

    def __reduce__(self) -> tuple[Any, ...]:
        """Keep the attributes across pickling (Celery results, process pools)."""
        kwargs = {
            "code": self.code,
            "http_status": self.http_status,
            "subcode": self.subcode,
            "retryable": self.retryable,
            "retry_after": self.retry_after,
            "fbtrace_id": self.fbtrace_id,
        }
        return (_rebuild, (type(self), self.args[0], kwargs))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.args[0]!r}, code={self.code}, http_status={self.http_status}, "
            f"retryable={self.retryable}, retry_after={self.retry_after})"
        )


class RateLimited(SendError):
    """The number's throughput limit was hit (130429, or HTTP 429). Retry after a pause."""

    default_retryable = True


class PairRateLimited(RateLimited):
    """Too many messages to the same customer in a short time (131056). Retry later."""


class OutsideWindow(SendError):
    """The customer's 24-hour window is closed (131047): only a template may be sent."""


class OptedOut(SendError):
    """The customer does not accept these messages (131050)."""


class InvalidToken(SendError):
    """The channel's access token is invalid or expired (HTTP 401, code 190)."""


class TransientSendError(SendError):
    """A server error or timeout; the same request may succeed later."""

    default_retryable = True


class PermanentSendError(SendError):
    """Any other rejection: invalid parameters, unknown recipient, template problems."""


class GraphReadError(ChannelError):
    """A Graph API read (the ownership proof) failed. ``reason``: ``denied`` (no such object,
    or the token may not see it: Meta answers both alike), ``token_invalid`` (HTTP 401 or
    code 190), ``unavailable`` (network, server error or rate limit: try again later) or
    ``rejected`` (any other answer, e.g. a malformed one)."""

    def __init__(
        self, message: str, *, reason: str, code: int | None = None, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = code
        self.http_status = http_status


def _rebuild(cls: type[SendError], message: str, kwargs: dict[str, Any]) -> SendError:
    return cls(message, **kwargs)
