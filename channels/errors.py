"""What the Cloud API answers when it does not take a message, as :mod:`errors`' send errors.

Each names Meta's condition; ``code``, ``subcode``, ``status`` and ``trace_id`` carry what Meta
answered. Messages never carry tokens or message text.
"""

from __future__ import annotations

from errors import FrontdeskError, PermanentSendError, SendError, UserError


class MalformedWebhook(UserError):
    """A webhook body is not JSON, has the wrong shape, or is too large (answer 400)."""


class RateLimited(SendError):
    """The number's throughput limit was hit (130429, or HTTP 429). Retry after a pause."""

    default_retryable = True


class PairRateLimited(RateLimited):
    """Too many messages to the same customer in a short time (131056). Retry later."""


class TransientSendError(SendError):
    """A server error or timeout; the same request may succeed later."""

    default_retryable = True


class OutsideWindow(PermanentSendError):
    """The customer's 24-hour window is closed (131047): only a template may be sent."""


class OptedOut(PermanentSendError):
    """The customer does not accept these messages (131050)."""


class InvalidToken(PermanentSendError):
    """The channel's access token is invalid or expired (HTTP 401, code 190)."""


class CloudApiReadError(FrontdeskError):
    """A Graph API read (the ownership proof) failed. ``reason``: ``denied`` (no such object,
    or the token may not see it: Meta answers both alike), ``token_invalid`` (HTTP 401 or
    code 190), ``unavailable`` (network, server error or rate limit: try again later) or
    ``rejected`` (any other answer, e.g. a malformed one)."""

    def __init__(
        self, message: str, *, reason: str, code: int | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.code = code
        self.status = status
