"""Tenant-scoped search: lexical (FTS5 on SQLite, an in-process BM25 index on PostgreSQL), optional
dense vectors, RRF fusion."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from knowledge.models import KbChunk, KbDocument
from knowledge.service import Embed, tenant_languages
from knowledge.terms import query_terms
from store.db import Database
from textnorm import LANGUAGES, Language

# Column weights: the chunk's own words count most, its heading path less, compound fragments least.
W_HEADING, W_TEXT, W_PARTS = 0.6, 1.0, 0.3
RRF_K = 60
CANDIDATES = 50


@dataclass(frozen=True, slots=True)
class SearchHit:
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


# PostgreSQL: the tenant's chunks as an in-process BM25 index. Under row-level security the GIN
# index on ``search_vector`` is never used: ``@@`` is not leakproof, so the planner may not test it
# before the tenant policy and instead filters every row of the tenant (or of the table) one by
# one, with or without statistics; a composite (tenant_id, search_vector) GIN index has the same
# problem. That scan alone costs 5-30 ms at 5,000 chunks on a busy machine, before any ranking.
# The index below is built once per tenant and process from the columns FTS5 indexes on SQLite,
# through the tenant's own session, and rebuilt when the tenant's documents change
# (``_tenant_state``); a query costs one small aggregate over ``kb_documents`` and a sparse sum over
# the query terms' postings, and scores every matching chunk exactly. The index keeps what a hit
# shows (text, heading, document and its title) too, read in the same build: a lexical search is
# that one aggregate, on a Core connection, and no second statement for the passages.

K1, B = 1.2, 0.75
INDEX_BUDGET = 4_000_000
"""Postings (12 bytes each) kept across all cached tenants, about 50 MB; least recently used go first."""


@dataclass(frozen=True, slots=True)
class _LexicalIndex:
    """Postings of one tenant's chunks: for term slot t, ``rows[offsets[t]:offsets[t + 1]]`` are
    the chunks holding the term and ``weights`` its whole BM25 contribution to each of them."""

    version: tuple[object, ...]
    ids: npt.NDArray[np.int64]
    slots: dict[str, int]
    offsets: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int32]
    weights: npt.NDArray[np.float64]
    passages: dict[int, tuple[str, str, int, str]]
    """Chunk id → (text, heading, document id, document title), what a hit shows."""
    passage_units: int = 0
    """The passages' characters in posting-sized units (12), for :data:`INDEX_BUDGET`."""

    @property
    def size(self) -> int:
        return int(self.rows.shape[0]) + len(self.slots) + int(self.ids.shape[0]) + self.passage_units


def build_index(
    version: tuple[object, ...],
    chunks: Sequence[Sequence[object]],
    passages: dict[int, tuple[str, str, int, str]] | None = None,
) -> _LexicalIndex:
    """BM25F over (id, search_heading, search_text, search_parts) rows: per-field saturation and
    length normalisation against the tenant's average field length, weighted per field, summed
    per term; idf from the tenant's document frequencies. ``passages``: what each hit shows."""
    total = len(chunks)
    vocab: dict[str, int] = {}
    term_list: list[int] = []
    cell_list: list[int] = []  # row * 3 + field, one per token
    for row, chunk in enumerate(chunks):
        for f in range(3):
            tokens = str(chunk[f + 1]).split()
            term_list.extend([vocab.setdefault(token, len(vocab)) for token in tokens])
            cell_list.extend([row * 3 + f] * len(tokens))
    ids = np.fromiter((int(str(chunk[0])) for chunk in chunks), dtype=np.int64, count=total)
    width = max(1, len(vocab))
    terms = np.asarray(term_list, dtype=np.int64)
    cells = np.asarray(cell_list, dtype=np.int64)
    lengths = np.bincount(cells, minlength=total * 3).reshape(total, 3).astype(np.float64)
    avg = np.maximum(1.0, lengths.mean(axis=0)) if total else np.ones(3)
    # Term frequency per (row, field, term), its saturated and weighted share of the score ...
    cell_terms, tf = np.unique(cells * width + terms, return_counts=True)
    cell, term = np.divmod(cell_terms, width)
    row, field = np.divmod(cell, 3)
    norm = K1 * (1 - B + B * lengths[row, field] / avg[field])
    share = np.asarray((W_HEADING, W_TEXT, W_PARTS))[field] * tf * (K1 + 1) / (tf + norm)
    # ... summed over the fields per (term, row), in term order: the postings lists.
    term_rows, inverse = np.unique(term * max(1, total) + row, return_inverse=True)
    posting_term, posting_row = np.divmod(term_rows, max(1, total))
    df = np.bincount(posting_term, minlength=len(vocab))
    idf = np.log(1 + (total - df + 0.5) / (df + 0.5))
    weights = np.bincount(inverse, weights=share, minlength=term_rows.shape[0]) * idf[posting_term]
    offsets = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(df, dtype=np.int64)])
    passages = passages or {}
    units = sum(len(p[0]) + len(p[1]) + len(p[3]) for p in passages.values()) // 12 + 8 * len(passages)
    return _LexicalIndex(
        version,
        ids,
        vocab,
        offsets,
        posting_row.astype(np.int32),
        weights.astype(np.float64),
        passages,
        units,
    )


def rank_index(index: _LexicalIndex, terms: Sequence[str], limit: int) -> list[tuple[int, float]]:
    """Chunks holding any of the terms by BM25, best first (ties by id), at most ``limit``."""
    slots = [index.slots[term] for term in dict.fromkeys(terms) if term in index.slots]
    if not slots or limit <= 0:
        return []
    spans = [(int(index.offsets[s]), int(index.offsets[s + 1])) for s in slots]
    rows = np.concatenate([index.rows[a:b] for a, b in spans])
    weights = np.concatenate([index.weights[a:b] for a, b in spans])
    hits, inverse = np.unique(rows, return_inverse=True)
    scores = np.bincount(inverse, weights=weights)
    if scores.shape[0] > limit:  # keep everything tied with the limit-th score, then sort
        floor = np.partition(scores, scores.shape[0] - limit)[scores.shape[0] - limit]
        keep = np.flatnonzero(scores >= floor)
        hits, scores = hits[keep], scores[keep]
    ids = index.ids[hits]
    order = np.lexsort((ids, -scores))[:limit]
    return [(int(ids[i]), float(scores[i])) for i in order]


_LANG_NAMES: dict[str, Language] = {lang: lang for lang in LANGUAGES}
_indexes: OrderedDict[tuple[str, int], _LexicalIndex] = OrderedDict()
_indexes_lock = threading.Lock()
_building: dict[tuple[str, int], threading.Lock] = {}


def _cached_index(db: Database, tenant_id: int, version: tuple[object, ...]) -> _LexicalIndex | None:
    """The tenant's cached lexical index if it is of ``version``."""
    with _indexes_lock:
        return _cached_locked(_index_key(db, tenant_id), version)


def _index_key(db: Database, tenant_id: int) -> tuple[str, int]:
    return (f"{db.url}|{db.schema}", tenant_id)


def _cached_locked(key: tuple[str, int], version: tuple[object, ...]) -> _LexicalIndex | None:
    """(Under ``_indexes_lock``.) The cached index of ``key`` if it is of ``version``."""
    cached = _indexes.get(key)
    if cached is not None and cached.version == version:
        _indexes.move_to_end(key)
        return cached
    return None


def _tenant_index(
    db: Database, session: Session | Connection, tenant_id: int, version: tuple[object, ...]
) -> _LexicalIndex:
    """The tenant's lexical index, from the cache while its documents are unchanged.

    Built from the tenant's own rows (tenant filter and row-level security), one build at a time
    per tenant, so that a burst of questions after an ingest does not build it once per thread.
    """
    key = _index_key(db, tenant_id)
    with _indexes_lock:
        cached = _cached_locked(key, version)
        if cached is not None:
            return cached
        building = _building.setdefault(key, threading.Lock())
    with building:
        with _indexes_lock:
            cached = _indexes.get(key)
        if cached is not None and cached.version == version:
            return cached
        chunks = session.execute(
            select(
                KbChunk.id,
                KbChunk.search_heading,
                KbChunk.search_text,
                KbChunk.search_parts,
                KbChunk.text,
                KbChunk.heading,
                KbChunk.document_id,
            ).where(KbChunk.tenant_id == tenant_id)
        ).all()
        titles = dict(
            session.execute(
                select(KbDocument.id, KbDocument.title).where(KbDocument.tenant_id == tenant_id)
            ).all()
        )
        passages = {
            int(c[0]): (str(c[4]), str(c[5] or ""), int(c[6]), str(titles.get(c[6], "")))
            for c in chunks
            if c[6] in titles
        }
        index = build_index(version, [c[:4] for c in chunks if c[6] in titles], passages)
        with _indexes_lock:
            _indexes[key] = index
            _indexes.move_to_end(key)
            held = sum(i.size for i in _indexes.values())
            while held > INDEX_BUDGET and len(_indexes) > 1:
                evicted_key, evicted = _indexes.popitem(last=False)
                _building.pop(evicted_key, None)
                held -= evicted.size
    return index


_STATE_SQL = """SELECT language, sum(chunk_count), count(*), sum(id {mod} 1000003),
                      sum(CAST(CAST(xmin AS text) AS bigint)), max(updated_at)
               FROM kb_documents WHERE tenant_id = {tenant} GROUP BY language ORDER BY language"""
_STATE_TEXT = text(_STATE_SQL.format(mod="%", tenant=":tenant"))
_STATE_DRIVER = _STATE_SQL.format(mod="%%", tenant="%s")


def _tenant_state(session: Session | Connection, tenant_id: int) -> tuple[list[Language], tuple[object, ...]]:
    """PostgreSQL: the tenant's languages (most chunks first) and a version of its documents.

    Every ingest, replacement and removal inserts, updates or deletes a ``kb_documents`` row in
    the transaction that changes the chunks, so the row count and the sum of row versions
    (``xmin``) change with every committed change to the tenant's knowledge base.
    """
    return _state_of(session.execute(_STATE_TEXT, {"tenant": tenant_id}).all())


KnowledgeState = tuple[list[Language], tuple[object, ...]]
"""A tenant's languages and the version of its documents (:func:`tenant_state_in`)."""


def tenant_state_in(connection: Connection, tenant_id: int) -> KnowledgeState:
    """PostgreSQL: :func:`_tenant_state` on a connection already pinned to the tenant, straight
    through the driver as a prepared statement (it runs for every search, and SQLAlchemy's
    execution path cost more CPU than the statement). A worker opening a turn reads it in its
    own transaction and passes it to :func:`search` (``state``), which then needs no
    transaction while the index is cached."""
    dbapi: Any = connection.connection.dbapi_connection
    return _state_of(dbapi.execute(_STATE_DRIVER, (tenant_id,), prepare=True).fetchall())


def _state_of(rows: Sequence[Sequence[Any]]) -> tuple[list[Language], tuple[object, ...]]:
    ranked = sorted(rows, key=lambda row: (-int(row[1] or 0), str(row[0])))
    langs: list[Language] = [_LANG_NAMES[str(row[0])] for row in ranked if str(row[0]) in _LANG_NAMES]
    return langs, tuple(tuple(row) for row in rows)


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
    key = _index_key(db, tenant_id)
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


def _search_lexical(
    db: Database, tenant_id: int, query: str, k: int, state: KnowledgeState | None = None
) -> list[SearchHit]:
    """PostgreSQL, lexical only: the version check on a Core connection, the rest in memory.
    With ``state`` (read by the caller moments ago) and the index of that version cached, no
    transaction at all."""
    index = None if state is None else _cached_index(db, tenant_id, state[1])
    if state is not None and index is not None:
        terms = query_terms(query, state[0])
        if not terms:
            return []
    else:
        with db.tenant_connection(tenant_id) as connection:
            langs, version = state if state is not None else tenant_state_in(connection, tenant_id)
            terms = query_terms(query, langs)
            if not terms or not version:
                return []
            index = _tenant_index(db, connection, tenant_id, version)
    hits: list[SearchHit] = []
    for chunk_id, score in rank_index(index, terms, CANDIDATES)[:k]:
        text_, heading, document_id, title = index.passages[chunk_id]
        hits.append(SearchHit(text_, title, heading, score, chunk_id, document_id))
    return hits


# --- public ----------------------------------------------------------------------------------


def search(
    db: Database,
    tenant_id: int,
    query: str,
    k: int = 3,
    *,
    query_vector: Sequence[float] | None = None,
    embed: Embed | None = None,
    state: KnowledgeState | None = None,
) -> list[SearchHit]:
    """The k passages of this tenant's knowledge base that best answer ``query``.

    Lexical ranking always; with ``query_vector`` (or ``embed`` to compute it) the tenant's
    chunk vectors are ranked by cosine too and both rankings are fused by reciprocal rank.
    ``state``: the tenant's :func:`tenant_state_in`, read by the caller for this search (one
    turn's), used by the PostgreSQL lexical search instead of reading it again.
    """
    if k <= 0 or not query.strip():
        return []
    if query_vector is None and embed is not None:
        query_vector = list(embed([query])[0])
    if db.is_postgres and query_vector is None:
        return _search_lexical(db, tenant_id, query, k, state)
    with db.tenant_session(tenant_id) as session:
        lexical: list[tuple[int, float]] = []
        if db.is_postgres:
            langs, version = _tenant_state(session, tenant_id)
            terms = query_terms(query, langs)
            if terms and version:
                lexical = rank_index(_tenant_index(db, session, tenant_id, version), terms, CANDIDATES)
        else:
            terms = query_terms(query, tenant_languages(session, tenant_id))
            if terms:
                lexical = _lexical_sqlite(session, tenant_id, terms, CANDIDATES)
        if query_vector is not None:
            dense = _dense(db, session, tenant_id, query_vector, CANDIDATES)
            ranked = rrf([[i for i, _ in lexical], [i for i, _ in dense]])[:k] if dense else lexical[:k]
        else:
            ranked = lexical[:k]
        if not ranked:
            return []
        ids = [chunk_id for chunk_id, _ in ranked]
        # The chunks by primary key first: joined directly, a planner without statistics walks
        # all the tenant's chunks document by document instead.
        found = (
            select(KbChunk.id, KbChunk.text, KbChunk.heading, KbChunk.document_id)
            .where(KbChunk.tenant_id == tenant_id, KbChunk.id.in_(ids))
            .cte("found")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        rows = session.execute(
            select(found.c.id, found.c.text, found.c.heading, found.c.document_id, KbDocument.title)
            .join(KbDocument, KbDocument.id == found.c.document_id)
            .where(KbDocument.tenant_id == tenant_id)
        ).all()
        by_id = {row[0]: row for row in rows}
        return [
            SearchHit(row[1], row[4], row[2], score, chunk_id, row[3])
            for chunk_id, score in ranked
            if (row := by_id.get(chunk_id)) is not None
        ]
