"""The workers' small error hierarchy: what to retry, what never to retry."""

from __future__ import annotations


class WorkerError(Exception):
    """Base of the workers' errors; messages never carry message bodies or secrets."""


class SendError(WorkerError):
    """Sending one outbox item failed; ``code`` is a short machine-readable reason."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class RetryableSendError(SendError):
    """Try again later (429, 5xx, timeouts); ``retry_after`` seconds when the server said so."""

    def __init__(self, code: str, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Never retried (opted out, outside the 24-hour window, invalid token, bad request)."""


class ConfigError(WorkerError):
    """The worker is misconfigured; the message says what to set."""
