"""The errors every layer shares: now :mod:`errors` (this module re-exports them while callers move)."""

from __future__ import annotations

from errors import Conflict, FieldError, FrontdeskError, NotFound, UserError

__all__ = ["Conflict", "FieldError", "FrontdeskError", "NotFound", "UserError"]
