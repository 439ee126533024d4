"""The errors every layer shares. Messages are safe to show: no secrets, no personal data."""

from __future__ import annotations


class FrontdeskError(Exception):
    """Base of Frontdesk's own errors."""


class UserError(FrontdeskError):
    """The caller asked for something invalid; retrying the same request cannot help."""


class NotFound(UserError):
    """The thing does not exist for this tenant (another tenant's ids look the same)."""


class Conflict(UserError):
    """The thing exists already."""


class FieldError(UserError):
    """One named field of a request is missing or invalid (the API names the field, the CLI its option)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
