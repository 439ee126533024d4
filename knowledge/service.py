"""Ingest, replace, list and remove one tenant's documents."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from errors import NotFound, UserError
from knowledge.chunking import Chunk, chunk_blocks
from knowledge.formats import Limits, ParsedDocument, parse
from knowledge.injection import looks_like_injection
from knowledge.models import KbChunk, KbDocument
from knowledge.terms import PG_CONFIG, analyze
from store.db import Database
from store.models import new_id, utcnow
from textnorm import Language, detect_language

Embed = Callable[[list[str]], Sequence[Sequence[float]]]
"""The tenant's embedding function: texts in, one vector per text out."""

IngestStatus = Literal["added", "replaced", "unchanged", "duplicate"]


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ingesting one file did."""

    document_id: int
    status: IngestStatus
    title: str
    format: str
    language: str
    chunks: int
    pages: int
    flagged: int = 0
    """Passages that look like instructions to the assistant (never given to the model)."""


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """One document of a tenant's knowledge base, as listed."""

    id: int
    title: str
    source_name: str
    format: str
    language: str
    size_bytes: int
    pages: int
    chunks: int
    content_hash: str


def content_hash(data: bytes) -> str:
    """SHA-256 of the raw bytes: the same file is never stored twice for a tenant."""
    return hashlib.sha256(data).hexdigest()


def _chunk_language(chunk: Chunk, document_language: Language) -> Language:
    """Short chunks (price-list items) take the document's language; long ones are detected."""
    if len(chunk.text.split()) < 8:
        return document_language
    return detect_language(chunk.text, default=document_language)


def pack_vector(vector: Sequence[float]) -> bytes:
    """Unit-normalised float32 bytes, so that search is a dot product."""
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return (array / norm if norm > 0 else array).astype(np.float32).tobytes()


def _chunk_rows(
    tenant_id: int, document_id: int, title: str, language: Language, chunks: list[Chunk], embed: Embed | None
) -> list[dict[str, object]]:
    vectors: Sequence[Sequence[float]] | None = None
    if embed is not None and chunks:
        vectors = embed([f"{title}\n{c.heading}\n{c.text}" for c in chunks])
        if len(vectors) != len(chunks):
            raise UserError(f"the embedding provider returned {len(vectors)} vectors for {len(chunks)} texts")
    rows: list[dict[str, object]] = []
    for index, chunk in enumerate(chunks):
        lang = _chunk_language(chunk, language)
        head_terms = analyze(" ".join((title, *chunk.heading_path)), lang)
        body_terms = analyze(chunk.text, lang)
        vector = vectors[index] if vectors is not None else None
        rows.append(
            {
                "id": new_id(),
                "tenant_id": tenant_id,
                "document_id": document_id,
                "ordinal": chunk.ordinal,
                "heading": chunk.heading,
                "text": chunk.text,
                "language": lang,
                "search_heading": " ".join(head_terms.main),
                "search_text": " ".join(body_terms.main),
                "search_parts": " ".join(body_terms.parts + head_terms.parts),
                "embedding": pack_vector(vector) if vector is not None else None,
                "embedding_dim": len(vector) if vector is not None else None,
            }
        )
    return rows


def _write_tsvectors(session: Session, tenant_id: int, document_id: int) -> None:
    """PostgreSQL: language-aware tsvector over the raw text plus the normalised terms.

    For SQL over the knowledge base (operators, row-level security tests); the application's
    search ranks from the in-process index of :mod:`knowledge.search`, since ``@@`` cannot use
    the GIN index under row-level security.
    """
    session.execute(
        text(
            """UPDATE kb_chunks SET search_vector =
                 setweight(to_tsvector('simple', search_text), 'A')
              || setweight(to_tsvector('simple', search_heading), 'B')
              || setweight(to_tsvector(CAST(CASE language WHEN 'es' THEN 'spanish'
                     WHEN 'pt' THEN 'portuguese' WHEN 'de' THEN 'german' ELSE 'english' END
                     AS regconfig), heading || ' ' || text), 'C')
              || setweight(to_tsvector('simple', search_parts), 'D')
               WHERE tenant_id = :tenant AND document_id = :document"""
        ),
        {"tenant": tenant_id, "document": document_id},
    )


def ingest(
    db: Database,
    tenant_id: int,
    name: str,
    data: bytes,
    *,
    title: str | None = None,
    embed: Embed | None = None,
    limits: Limits | None = None,
    parsed: ParsedDocument | None = None,
) -> IngestResult:
    """Parse, chunk and index one file for one tenant (``parsed``: already checked by :func:`parse`).

    The format comes from the content. The same bytes are stored once per tenant
    ("unchanged" / "duplicate"); a new version under an existing name replaces the old one.
    """
    name = name.strip()[:300] or "document"
    digest = content_hash(data)
    with db.tenant_session(tenant_id) as session:
        same = session.scalar(
            select(KbDocument).where(KbDocument.tenant_id == tenant_id, KbDocument.content_hash == digest)
        )
        if same is not None:
            return IngestResult(
                same.id,
                "unchanged" if same.source_name == name else "duplicate",
                same.title,
                same.format,
                same.language,
                same.chunk_count,
                same.pages,
            )
    parsed = parsed or parse(data, limits)
    doc_title = (title or parsed.title or name).strip()[:300]
    chunks = chunk_blocks(parsed.blocks)
    all_text = " ".join([doc_title, *(f"{c.heading} {c.text}" for c in chunks[:400])])
    language = detect_language(all_text)
    with db.tenant_session(tenant_id) as session:
        document = session.scalar(
            select(KbDocument).where(KbDocument.tenant_id == tenant_id, KbDocument.source_name == name)
        )
        status: IngestStatus = "replaced" if document is not None else "added"
        if document is None:
            document = KbDocument(tenant_id=tenant_id, source_name=name)
            session.add(document)
        else:
            session.execute(
                delete(KbChunk).where(KbChunk.tenant_id == tenant_id, KbChunk.document_id == document.id)
            )
            document.updated_at = utcnow()
        document.title = doc_title
        document.format = parsed.format.value
        document.language = language
        document.content_hash = digest
        document.size_bytes = len(data)
        document.pages = parsed.pages
        document.chunk_count = len(chunks)
        session.flush()
        rows = _chunk_rows(tenant_id, document.id, doc_title, language, chunks, embed)
        if rows:
            session.execute(insert(KbChunk), rows)
        if db.is_postgres:
            _write_tsvectors(session, tenant_id, document.id)
        flagged = sum(looks_like_injection(f"{c.heading}\n{c.text}") for c in chunks)
        return IngestResult(
            document.id, status, doc_title, parsed.format.value, language, len(chunks), parsed.pages, flagged
        )


def _find(session: Session, tenant_id: int, ref: int | str) -> KbDocument:
    query = select(KbDocument).where(KbDocument.tenant_id == tenant_id)
    if isinstance(ref, int) or ref.isdigit():
        found = session.scalar(query.where(KbDocument.id == int(ref)))
        if found is not None:
            return found
    found = session.scalar(query.where(KbDocument.source_name == str(ref)))
    if found is None:
        found = session.scalar(query.where(KbDocument.title == str(ref)).limit(1))
    if found is None:
        raise NotFound(f"no document {ref!r} in this knowledge base")
    return found


def remove(db: Database, tenant_id: int, ref: int | str) -> DocumentInfo:
    """Remove a document (by id, source name or title) and all its chunks."""
    with db.tenant_session(tenant_id) as session:
        document = _find(session, tenant_id, ref)
        info = _info(document)
        session.execute(
            delete(KbChunk).where(KbChunk.tenant_id == tenant_id, KbChunk.document_id == document.id)
        )
        session.delete(document)
        return info


def _info(document: KbDocument) -> DocumentInfo:
    return DocumentInfo(
        document.id,
        document.title,
        document.source_name,
        document.format,
        document.language,
        document.size_bytes,
        document.pages,
        document.chunk_count,
        document.content_hash,
    )


def list_documents(db: Database, tenant_id: int) -> list[DocumentInfo]:
    """The tenant's documents, by title."""
    with db.tenant_session(tenant_id) as session:
        documents = session.scalars(
            select(KbDocument)
            .where(KbDocument.tenant_id == tenant_id)
            .order_by(KbDocument.title, KbDocument.id)
        )
        return [_info(d) for d in documents]


def tenant_languages(session: Session, tenant_id: int) -> list[Language]:
    """Languages the tenant's documents are written in, most chunks first."""
    rows = session.execute(
        select(KbDocument.language, func.sum(KbDocument.chunk_count))
        .where(KbDocument.tenant_id == tenant_id)
        .group_by(KbDocument.language)
        .order_by(func.sum(KbDocument.chunk_count).desc())
    )
    return [lang for lang, _ in rows if lang in PG_CONFIG]  # type: ignore[misc]
