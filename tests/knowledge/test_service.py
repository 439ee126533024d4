"""Ingest, dedupe, replace, remove; tenant isolation (query layer and RLS); recall; vectors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from errors import NotFound
from knowledge import ingest, list_documents, remove, search
from knowledge.evaluation import baseline_recall, ingest_kb, load_questions, search_recall
from knowledge.pdfgen import text_pdf

DATA = Path(__file__).resolve().parents[1] / "data"
CANARY = (
    "# Notas internas\n\nEl código de la alarma del almacén es ZAFIRO-7731.\n\n"
    "The staff Wi-Fi password is tangerine-4242.\n"
)
PROBES = [
    "ZAFIRO-7731",
    "zafiro 7731",
    "¿Cuál es el código de la alarma?",
    "¿me dices la clave de la alarma del almacén?",
    "tangerine-4242",
    "what's the wifi password for staff?",
    "Wie lautet das WLAN-Passwort?",
]


def _tenants(db: Any, make_tenant: Any) -> tuple[int, int]:
    return make_tenant(db, "alpha"), make_tenant(db, "beta")


def test_ingest_dedupe_replace_remove(any_db: Any, make_tenant: Any) -> None:
    a, _ = _tenants(any_db, make_tenant)
    first = ingest(any_db, a, "precios.md", b"# Precios de la casa\n\n- Corte: 15 EUR\n- Tinte: 40 EUR\n")
    assert (first.status, first.format, first.language, first.chunks) == ("added", "markdown", "es", 2)
    assert (
        ingest(any_db, a, "precios.md", b"# Precios de la casa\n\n- Corte: 15 EUR\n- Tinte: 40 EUR\n").status
        == "unchanged"
    )
    assert (
        ingest(any_db, a, "copia.md", b"# Precios de la casa\n\n- Corte: 15 EUR\n- Tinte: 40 EUR\n").status
        == "duplicate"
    )
    again = ingest(
        any_db,
        a,
        "precios.md",
        b"# Precios de la casa\n\n- Corte: 18 EUR\n- Tinte: 45 EUR\n- Mechas: 60 EUR\n",
    )
    assert (again.status, again.document_id, again.chunks) == ("replaced", first.document_id, 3)
    texts = [p.text for p in search(any_db, a, "corte tinte mechas", k=10)]
    assert sorted(texts) == ["Corte: 18 EUR", "Mechas: 60 EUR", "Tinte: 45 EUR"]
    pdf = ingest(any_db, a, "carta.pdf", text_pdf([["CARTA", "Café solo 1,20 €"], ["Tostada 2,50 €"]]))
    assert (pdf.format, pdf.pages) == ("pdf", 2)
    assert sorted(d.source_name for d in list_documents(any_db, a)) == ["carta.pdf", "precios.md"]
    removed = remove(any_db, a, "precios.md")
    assert removed.chunks == 3
    assert search(any_db, a, "corte tinte mechas") == []
    assert search(any_db, a, "tostada")[0].source == "CARTA"
    with pytest.raises(NotFound):
        remove(any_db, a, "precios.md")


def test_canary_in_tenant_b_never_reaches_tenant_a(any_db: Any, make_tenant: Any) -> None:
    a, b = _tenants(any_db, make_tenant)
    ingest_kb(any_db, a, DATA, "kb_clinica_es")
    ingest(any_db, b, "interno.md", CANARY.encode())
    for probe in PROBES:
        leaked = [p for p in search(any_db, a, probe, k=10) if re.search(r"ZAFIRO|tangerine", p.text)]
        assert leaked == [], probe
    # The canary is findable where it belongs, so the probes above could have failed.
    assert "ZAFIRO-7731" in search(any_db, b, "código de la alarma")[0].text
    assert "tangerine" in search(any_db, b, "wifi password")[0].text
    # Other tenants' documents are invisible to list and remove too.
    assert sorted(d.source_name for d in list_documents(any_db, a)) == [
        "contacto.html",
        "preguntas.txt",
        "servicios.md",
    ]
    with pytest.raises(NotFound):
        remove(any_db, a, "interno.md")


@pytest.mark.postgres
def test_row_level_security_hides_other_tenants_chunks(postgres_db: Any, make_tenant: Any) -> None:
    a, b = _tenants(postgres_db, make_tenant)
    ingest(postgres_db, a, "a.md", b"# A\n\nNuestro horario es de 9 a 18.\n")
    ingest(postgres_db, b, "interno.md", CANARY.encode())
    with postgres_db.tenant_session(a) as session:  # raw SQL with no tenant filter at all
        assert session.execute(text("SELECT count(*) FROM kb_chunks")).scalar_one() == 1
        assert session.execute(text("SELECT count(*) FROM kb_documents")).scalar_one() == 1
        hits = session.execute(
            text("SELECT count(*) FROM kb_chunks WHERE search_vector @@ to_tsquery('simple', 'zafiro')")
        )
        assert hits.scalar_one() == 0
        with pytest.raises(Exception, match="row-level security"):
            session.execute(
                text(
                    "INSERT INTO kb_documents (id, tenant_id, title, source_name, format, language,"
                    " content_hash, size_bytes, pages, chunk_count, created_at, updated_at)"
                    " VALUES (1, :b, 'x', 'x', 'text', 'es', 'x', 1, 1, 0, now(), now())"
                ),
                {"b": b},
            )
    with postgres_db.app_session() as session:
        assert session.execute(text("SELECT count(*) FROM kb_chunks")).scalar_one() == 0


def _recall_setup(db: Any, make_tenant: Any) -> tuple[dict[str, int], list[Any]]:
    questions = load_questions(DATA / "kb_questions.json")
    tenants: dict[str, int] = {}
    for kb in sorted({q.kb for q in questions}):
        tenants[kb] = make_tenant(db, kb.replace("_", "-"))
        ingest_kb(db, tenants[kb], DATA, kb)
    return tenants, questions


def test_recall_at_3_beats_plain_bm25(sqlite_db: Any, make_tenant: Any) -> None:
    tenants, questions = _recall_setup(sqlite_db, make_tenant)
    ours, misses = search_recall(sqlite_db, tenants, questions, k=3)
    baseline, _ = baseline_recall(DATA, questions, k=3)
    assert ours >= 0.90, [m.q for m in misses]
    assert ours >= baseline + 0.10, (ours, baseline)
    for lang_kb in tenants:  # every language holds up, not only the average
        per_kb, _ = search_recall(sqlite_db, tenants, [q for q in questions if q.kb == lang_kb], k=3)
        assert per_kb >= 0.8, lang_kb


@pytest.mark.postgres
def test_recall_on_postgres(postgres_db: Any, make_tenant: Any) -> None:
    tenants, questions = _recall_setup(postgres_db, make_tenant)
    ours, misses = search_recall(postgres_db, tenants, questions, k=3)
    assert ours >= 0.85, [m.q for m in misses]


_SYNONYMS = [{"snakes", "reptiles", "lizards"}, {"parrots", "birds", "budgies"}, {"teeth", "dental", "tooth"}]


def fake_embed(texts: list[str]) -> list[list[float]]:
    """A deterministic embedding where synonyms share a dimension (what a real model gives)."""
    out: list[list[float]] = []
    for t in texts:
        words = set(re.findall(r"\w+", t.lower()))
        vector = [float(len(words & group)) for group in _SYNONYMS]
        out.append([*vector, 0.01])
    return out


def test_dense_vectors_fused_with_lexical_ranking(any_db: Any, make_tenant: Any) -> None:
    a, b = _tenants(any_db, make_tenant)
    for path in sorted((DATA / "kb_vet_en").iterdir()):
        ingest(any_db, a, path.name, path.read_bytes(), embed=fake_embed)
    ingest(any_db, b, "other.md", b"# Other\n\nWe keep reptiles and birds: CANARY-BIRDS.\n", embed=fake_embed)
    question = "Do you treat snakes or parrots?"
    assert not any("reptiles" in p.text for p in search(any_db, a, question))
    fused = search(any_db, a, question, embed=fake_embed)
    assert any("not reptiles or birds" in p.text for p in fused)
    assert not any("CANARY" in p.text for p in search(any_db, a, question, k=20, embed=fake_embed))
