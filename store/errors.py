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
