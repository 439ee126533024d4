"""The in-process BM25 index behind PostgreSQL search: exact scores, invalidation, isolation."""

from __future__ import annotations

import importlib
import math
import random
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from knowledge import ingest, remove, search
from knowledge.models import KbChunk
from store.db import Database
from tests.conftest import app_url_of

index_module = importlib.import_module("knowledge.search")
build_index, rank_index = index_module.build_index, index_module.rank_index

VOCAB = [f"w{i}" for i in range(30)]


def _reference(chunks: list[tuple[int, str, str, str]], terms: list[str]) -> list[tuple[int, float]]:
    """BM25F written out plainly: the formula the index must reproduce."""
    weights = (index_module.W_HEADING, index_module.W_TEXT, index_module.W_PARTS)
    docs = [[Counter(field.split()) for field in chunk[1:]] for chunk in chunks]
    lengths = [[sum(field.values()) for field in doc] for doc in docs]
    avg = [max(1.0, sum(length[f] for length in lengths) / len(lengths)) for f in range(3)]
    df = Counter(term for doc in docs for term in set().union(*doc))
    total = len(chunks)
    out: list[tuple[int, float]] = []
    for chunk, doc, length in zip(chunks, docs, lengths, strict=True):
        score = 0.0
        for f, field in enumerate(doc):
            norm = 1.2 * (0.25 + 0.75 * length[f] / avg[f])
            for term in set(terms) & set(field):
                idf = math.log(1 + (total - df[term] + 0.5) / (df[term] + 0.5))
                score += weights[f] * idf * field[term] * 2.2 / (field[term] + norm)
        if score > 0:
            out.append((chunk[0], score))
    return sorted(out, key=lambda pair: (-pair[1], pair[0]))


def _corpus(rng: random.Random, size: int) -> list[tuple[int, str, str, str]]:
    def field(most: int) -> str:
        return " ".join(rng.choice(VOCAB) for _ in range(rng.randint(0, most)))

    return [(rng.randrange(1, 10**15), field(4), field(15), field(3)) for _ in range(size)]


@pytest.mark.parametrize("seed", range(5))
def test_index_scores_equal_plain_bm25f(seed: int) -> None:
    rng = random.Random(seed)
    chunks = _corpus(rng, 300)
    index = build_index((), chunks)
    for _ in range(20):
        terms = [rng.choice([*VOCAB, "unknown"]) for _ in range(rng.randint(1, 5))]
        expected = _reference(chunks, terms)
        got = rank_index(index, terms, 10)
        assert [i for i, _ in got] == [i for i, _ in expected[:10]], terms
        assert [s for _, s in got] == pytest.approx([s for _, s in expected[:10]], rel=1e-9)
        assert len(rank_index(index, terms, 10_000)) == len(expected)


def test_ties_keep_the_lowest_ids_and_empty_inputs_rank_nothing() -> None:
    chunks = [(i, "", "same words", "") for i in (50, 7, 30, 9)]
    assert [i for i, _ in rank_index(build_index((), chunks), ["same"], 2)] == [7, 9]
    assert rank_index(build_index((), chunks), ["absent"], 3) == []
    assert rank_index(build_index((), []), ["same"], 3) == []
    assert rank_index(build_index((), [(1, "", "", "")]), ["same"], 3) == []


def _second_process(postgres_admin_url: str, db: Any) -> Database:
    """Another Database on the same schema: what a second worker process sees."""
    return Database(
        app_url_of(postgres_admin_url), db.keyring, admin_url=postgres_admin_url, schema=db.schema
    )


@pytest.mark.postgres
def test_changes_made_elsewhere_are_seen_at_once(
    postgres_db: Any, postgres_admin_url: str, make_tenant: Any
) -> None:
    a = make_tenant(postgres_db, "alpha")
    ingest(postgres_db, a, "precios.md", b"# Precios\n\n- Corte: 15 EUR\n- Tinte: 40 EUR\n")
    assert [p.text for p in search(postgres_db, a, "corte")] == ["Corte: 15 EUR"]  # index cached
    other = _second_process(postgres_admin_url, postgres_db)
    try:
        ingest(other, a, "precios.md", b"# Precios\n\n- Corte: 18 EUR\n- Tinte: 45 EUR\n")
        assert [p.text for p in search(postgres_db, a, "corte")] == ["Corte: 18 EUR"]
        ingest(other, a, "extra.md", b"# Extra\n\n- Mechas: 60 EUR\n")
        assert [p.text for p in search(postgres_db, a, "mechas")] == ["Mechas: 60 EUR"]
        remove(other, a, "precios.md")
        assert search(postgres_db, a, "corte") == []
        remove(other, a, "extra.md")
        assert search(postgres_db, a, "mechas") == []
    finally:
        other.dispose()


@pytest.mark.postgres
def test_each_cached_index_holds_only_its_tenants_chunks(
    postgres_db: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = make_tenant(postgres_db, "alpha"), make_tenant(postgres_db, "beta")
    ingest(postgres_db, a, "a.md", b"# Horario\n\nAbrimos de 9 a 18, corte y tinte.\n")
    ingest(postgres_db, b, "b.md", b"# Interno\n\nCorte de la alarma: ZAFIRO-7731.\n")
    assert "ZAFIRO" not in " ".join(p.text for p in search(postgres_db, a, "corte alarma zafiro", k=10))
    assert "ZAFIRO" in search(postgres_db, b, "corte alarma zafiro")[0].text
    with postgres_db.admin_session() as session:
        owner = {int(i): int(t) for i, t in session.execute(select(KbChunk.id, KbChunk.tenant_id))}
    cached = {
        key[1]: index for key, index in index_module._indexes.items() if key[0].endswith(postgres_db.schema)
    }  # pyright: ignore[reportPrivateUsage]
    assert set(cached) == {a, b}
    for tenant_id, index in cached.items():
        assert {owner[int(i)] for i in index.ids} == {tenant_id}
    # With room for one tenant only, building one evicts the other, rebuilt when asked for again.
    monkeypatch.setattr(index_module, "INDEX_BUDGET", 1)
    ingest(postgres_db, b, "c.md", b"# Parking\n\nAparcamiento gratuito.\n")
    assert search(postgres_db, b, "aparcamiento")[0].text == "Aparcamiento gratuito."
    assert _cached_tenants(postgres_db) == [b]
    assert search(postgres_db, a, "horario")[0].text.startswith("Abrimos")
    assert _cached_tenants(postgres_db) == [a]


def _cached_tenants(db: Any) -> list[int]:
    return [key[1] for key in index_module._indexes if key[0].endswith(db.schema)]  # pyright: ignore[reportPrivateUsage]
