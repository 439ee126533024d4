"""Errors raised by the knowledge base; all are user errors (never retried)."""

from __future__ import annotations

from store.errors import NotFound, UserError


class KnowledgeError(UserError):
    """Base class: a problem with a document or a request, reported as one clear line."""


class UnsupportedFormat(KnowledgeError):
    """The content is not Markdown, text, HTML, PDF or DOCX."""


class DocumentTooLarge(KnowledgeError):
    """The file (or what it expands to) exceeds the configured limits."""


class EncryptedDocument(KnowledgeError):
    """The file is password-protected."""


class CorruptDocument(KnowledgeError):
    """The file claims a format but cannot be read as it."""


class EmptyDocument(KnowledgeError):
    """The file holds no text to index."""


class DocumentNotFound(KnowledgeError, NotFound):
    """No document of that id or name in this tenant's knowledge base."""
