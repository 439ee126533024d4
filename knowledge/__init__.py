"""Per-tenant knowledge bases: ingest, chunk, index and search, always scoped to one tenant.

ingest(db, tenant_id, name, data, embed=None) -> IngestResult
search(db, tenant_id, query, k=3, query_vector=None, embed=None) -> list[SearchHit]
list_documents(db, tenant_id) -> list[DocumentInfo]
remove(db, tenant_id, id_or_name) -> DocumentInfo
"""

from __future__ import annotations

from knowledge.errors import (
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    UnsupportedFormat,
)
from knowledge.formats import Format, Limits
from knowledge.search import SearchHit, search
from knowledge.service import DocumentInfo, Embed, IngestResult, ingest, list_documents, remove

__all__ = [
    "CorruptDocument",
    "DocumentInfo",
    "DocumentTooLarge",
    "Embed",
    "EmptyDocument",
    "EncryptedDocument",
    "Format",
    "IngestResult",
    "Limits",
    "SearchHit",
    "UnsupportedFormat",
    "ingest",
    "list_documents",
    "remove",
    "search",
]
