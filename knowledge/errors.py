"""What can be wrong with a document: user errors (never retried), each a one-line message."""

from __future__ import annotations

from errors import UserError


class UnsupportedFormat(UserError):
    """The content is not Markdown, text, HTML, PDF or DOCX."""


class DocumentTooLarge(UserError):
    """The file (or what it expands to) exceeds the configured limits (the gateway answers 413)."""


class EncryptedDocument(UserError):
    """The file is password-protected."""


class CorruptDocument(UserError):
    """The file claims a format but cannot be read as it."""


class EmptyDocument(UserError):
    """The file holds no text to index."""
