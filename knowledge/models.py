"""SQLAlchemy models of the knowledge base (tables ``kb_documents`` and ``kb_chunks``).

The search indexes live beside them and are created by migration 0002: the FTS5 table
``kb_chunks_fts`` (external content, kept in sync by triggers) on SQLite, and the
``search_vector`` tsvector column with a GIN index on PostgreSQL (written by
:mod:`knowledge.service` with the document language's text-search configuration).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, Id, UTCDateTime, new_id, utcnow


class KbDocument(Base):
    """One ingested document of one tenant; its chunks go with it."""

    __tablename__ = "kb_documents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "content_hash", name="uq_kb_documents_tenant_hash"),
        UniqueConstraint("tenant_id", "source_name", name="uq_kb_documents_tenant_source"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    tenant_id: Mapped[int] = mapped_column(Id, ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    source_name: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2))
    content_hash: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, default=1)
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KbChunk(Base):
    """One retrievable unit: a paragraph or list item, with its heading path and search terms."""

    __tablename__ = "kb_chunks"
    __table_args__ = (Index("ix_kb_chunks_tenant_document", "tenant_id", "document_id", "ordinal"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, default=new_id)
    tenant_id: Mapped[int] = mapped_column(Id, ForeignKey("tenants.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(Id, ForeignKey("kb_documents.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))
    search_heading: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    search_parts: Mapped[str] = mapped_column(Text, default="")
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    embedding_dim: Mapped[int | None] = mapped_column(Integer, nullable=True)
