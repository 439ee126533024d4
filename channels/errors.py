"""What the Cloud API answers when it does not take a message, as :mod:`errors`' send errors.

Each names Meta's condition; ``code``, ``subcode``, ``status`` and ``trace_id`` carry what Meta
answered. Messages never carry tokens or message text.
"""

from __future__ import annotations

from errors import PermanentSendError, SendError, UserError


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
