"""Tenant-scoped search: lexical (FTS5 / PostgreSQL full text), optional dense vectors, RRF fusion."""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from knowledge.models import KbChunk, KbDocument
from knowledge.service import Embed, tenant_languages
from knowledge.textnorm import PG_CONFIG, detect_language, query_terms, words
from store.db import Database

# Column weights: the chunk's own words count most, its heading path less, compound fragments least.
W_HEADING, W_TEXT, W_PARTS = 0.6, 1.0, 0.3
RRF_K = 60
CANDIDATES = 50
RERANK = 300


@dataclass(frozen=True, slots=True)
class Passage:
    """One search hit, with what a citation needs."""

    text: str
    source: str
    heading: str
    score: float
    chunk_id: int
    document_id: int

    def as_json(self) -> dict[str, object]:
        """The CLI's JSON shape."""
        return {
            "text": self.text,
            "source": self.source,
            "heading": self.heading,
            "score": round(self.score, 6),
        }


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several rankings of ids, best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


# --- lexical ---------------------------------------------------------------------------------


def _fts5_query(terms: Sequence[str]) -> str:
    return " OR ".join(f'"{term}"' for term in terms)


def _lexical_sqlite(
    session: Session, tenant_id: int, terms: Sequence[str], limit: int
) -> list[tuple[int, float]]:
    rows = session.execute(
        text(
            f"""SELECT c.id, bm25(kb_chunks_fts, {W_HEADING}, {W_TEXT}, {W_PARTS}) AS rank
                FROM kb_chunks_fts JOIN kb_chunks AS c ON c.id = kb_chunks_fts.rowid
                WHERE kb_chunks_fts MATCH :query AND c.tenant_id = :tenant
                ORDER BY rank LIMIT :limit"""
        ),
        {"query": _fts5_query(terms), "tenant": tenant_id, "limit": limit},
    )
    return [(int(chunk_id), -float(rank)) for chunk_id, rank in rows]


def _lexical_postgres(
    session: Session, tenant_id: int, query: str, terms: Sequence[str], limit: int
) -> list[tuple[int, float]]:
    """GIN-backed match set; document frequencies counted over it in SQL (exact, since every
    chunk holding a query term matches), the best ``RERANK`` by ts_rank re-ranked by BM25."""
    lang = detect_language(query)
    raw = " | ".join(dict.fromkeys(w for w in words(query) if w.isalnum())) or "''"
    params = {"terms": " | ".join(terms), "config": PG_CONFIG[lang], "raw": raw, "tenant": tenant_id}
    matches = """WITH m AS MATERIALIZED (
            SELECT c.id, c.search_heading, c.search_text, c.search_parts, c.search_vector,
                   ts_rank(c.search_vector, q.q) AS rank
            FROM kb_chunks AS c,
                 (SELECT to_tsquery('simple', :terms)
                         || to_tsquery(CAST(:config AS regconfig), :raw) AS q) AS q
            WHERE c.tenant_id = :tenant AND c.search_vector @@ q.q)"""
    candidates = session.execute(
        text(
            matches
            + " SELECT id, search_heading, search_text, search_parts FROM m ORDER BY rank DESC, id LIMIT :cap"
        ),
        {**params, "cap": RERANK},
    ).all()
    if not candidates:
        return []
    df_rows = session.execute(
        text(
            matches
            + """ SELECT t.term, count(*) FROM m, unnest(CAST(:term_list AS text[])) AS t(term)
            WHERE m.search_vector @@ to_tsquery('simple', t.term) GROUP BY t.term"""
        ),
        {**params, "term_list": list(terms)},
    )
    df = {str(term): int(n) for term, n in df_rows}
    total = (
        session.scalar(select(func.count()).select_from(KbChunk).where(KbChunk.tenant_id == tenant_id)) or 1
    )
    fields = (W_HEADING, W_TEXT, W_PARTS)
    docs = [[Counter(str(field).split()) for field in row[1:4]] for row in candidates]
    wanted = set(terms)
    idf = {term: math.log(1 + (total - n + 0.5) / (n + 0.5)) for term, n in df.items()}
    lengths = [[sum(field.values()) for field in doc] for doc in docs]
    avg = [max(1.0, sum(length[f] for length in lengths) / len(lengths)) for f in range(3)]
    scored: list[tuple[int, float]] = []
    for row, doc, length in zip(candidates, docs, lengths, strict=True):
        score = 0.0
        for f, weight in enumerate(fields):
            norm = 1.2 * (0.25 + 0.75 * length[f] / avg[f])
            for term in wanted.intersection(doc[f]):
                tf = doc[f][term]
                score += weight * idf.get(term, 0.0) * tf * 2.2 / (tf + norm)
        scored.append((int(row[0]), score))
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored[:limit]


# --- dense vectors ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Vectors:
    version: tuple[int, int]
    ids: npt.NDArray[np.int64]
    matrix: npt.NDArray[np.float32]


_cache: dict[tuple[str, int], _Vectors] = {}
_cache_lock = threading.Lock()


def cosine_top(
    matrix: npt.NDArray[np.float32], query: npt.NDArray[np.float32], k: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Brute-force cosine over unit rows: (row indexes, scores), best first."""
    scores = matrix @ query
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float32)
    top = np.argpartition(-scores, k - 1)[:k]
    order = top[np.argsort(-scores[top], kind="stable")]
    return order, scores[order]


def _tenant_vectors(db: Database, session: Session, tenant_id: int, dim: int) -> _Vectors | None:
    """The tenant's chunk vectors of this dimension, cached until its chunks change."""
    has_vector = (KbChunk.tenant_id == tenant_id, KbChunk.embedding_dim == dim)
    count, id_sum = session.execute(
        select(func.count(), func.coalesce(func.sum(KbChunk.id % 1_000_003), 0)).where(*has_vector)
    ).one()
    if not count:
        return None
    key = (f"{db.url}|{db.schema}", tenant_id)
    version = (int(count), int(id_sum))
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached.version == version and cached.matrix.shape[1] == dim:
        return cached
    rows = session.execute(select(KbChunk.id, KbChunk.embedding).where(*has_vector)).all()
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(row[1] or b"" for row in rows), dtype=np.float32).reshape(len(rows), dim)
    vectors = _Vectors(version, ids, matrix)
    with _cache_lock:
        _cache[key] = vectors
    return vectors


def _dense(
    db: Database, session: Session, tenant_id: int, vector: Sequence[float], limit: int
) -> list[tuple[int, float]]:
    query = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(query))
    if norm == 0:
        return []
    vectors = _tenant_vectors(db, session, tenant_id, query.shape[0])
    if vectors is None:
        return []
    rows, scores = cosine_top(vectors.matrix, query / norm, limit)
    return [(int(vectors.ids[r]), float(s)) for r, s in zip(rows, scores, strict=True)]


# --- public ----------------------------------------------------------------------------------


def search(
    db: Database,
    tenant_id: int,
    query: str,
    k: int = 3,
    *,
    query_vector: Sequence[float] | None = None,
    embed: Embed | None = None,
) -> list[Passage]:
    """The k passages of this tenant's knowledge base that best answer ``query``.

    Lexical ranking always; with ``query_vector`` (or ``embed`` to compute it) the tenant's
    chunk vectors are ranked by cosine too and both rankings are fused by reciprocal rank.
    """
    if k <= 0 or not query.strip():
        return []
    if query_vector is None and embed is not None:
        query_vector = list(embed([query])[0])
    with db.tenant_session(tenant_id) as session:
        terms = query_terms(query, tenant_languages(session, tenant_id))
        lexical: list[tuple[int, float]] = []
        if terms:
            if db.is_postgres:
                lexical = _lexical_postgres(session, tenant_id, query, terms, CANDIDATES)
            else:
                lexical = _lexical_sqlite(session, tenant_id, terms, CANDIDATES)
        if query_vector is not None:
            dense = _dense(db, session, tenant_id, query_vector, CANDIDATES)
            ranked = rrf([[i for i, _ in lexical], [i for i, _ in dense]])[:k] if dense else lexical[:k]
        else:
            ranked = lexical[:k]
        if not ranked:
            return []
        ids = [chunk_id for chunk_id, _ in ranked]
        rows = session.execute(
            select(KbChunk.id, KbChunk.text, KbChunk.heading, KbChunk.document_id, KbDocument.title)
            .join(KbDocument, KbDocument.id == KbChunk.document_id)
            .where(KbChunk.tenant_id == tenant_id, KbDocument.tenant_id == tenant_id, KbChunk.id.in_(ids))
        ).all()
        by_id = {row[0]: row for row in rows}
        return [
            Passage(row[1], row[4], row[2], score, chunk_id, row[3])
            for chunk_id, score in ranked
            if (row := by_id.get(chunk_id)) is not None
        ]
