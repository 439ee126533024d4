"""Knowledge-base benchmark, all figures in one run.

    uv run python -m bench.knowledge [--postgres URL]

1. recall@3 of tenant search (lexical default) vs plain BM25 over paragraphs, on tests/data;
2. search latency p50/p95 for a tenant with 5,000 chunks while two other tenants hold data too;
3. ingest throughput for text PDFs (pages/s);
4. brute-force cosine over 50,000 chunk vectors of one tenant (NumPy).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text

from knowledge import ingest, search
from knowledge.evaluation import baseline_recall, ingest_kb, load_questions, search_recall
from knowledge.pdfgen import text_pdf
from knowledge.search import cosine_top
from store.crypto import Keyring
from store.db import Database, migrate
from store.repo import tenants

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
WORDS = [
    "corte",
    "tinte",
    "mechas",
    "peinado",
    "barba",
    "manicura",
    "pedicura",
    "depilación",
    "masaje",
    "facial",
    "tratamiento",
    "keratina",
    "ölwechsel",
    "reifen",
    "bremsen",
    "inspektion",
    "klima",
    "batterie",
    "auspuff",
    "kupplung",
    "getriebe",
    "zahnriemen",
    "pão",
    "bolo",
    "broa",
    "croissant",
    "pastel",
    "café",
    "sumo",
    "sandes",
    "tosta",
    "queque",
    "consultation",
    "vaccination",
    "microchip",
    "neutering",
    "dental",
    "grooming",
    "boarding",
    "xray",
    "surgery",
]


def _tenant(db: Database, slug: str) -> int:
    with db.admin_session() as session:
        return tenants.create(session, slug).id


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_recall(db: Database, label: str) -> None:
    questions = load_questions(DATA / "kb_questions.json")
    ids = {kb: _tenant(db, f"{label}-{kb.replace('_', '-')}") for kb in sorted({q.kb for q in questions})}
    for kb, tenant_id in ids.items():
        ingest_kb(db, tenant_id, DATA, kb)
    ours, misses = search_recall(db, ids, questions, k=3)
    base, _ = baseline_recall(DATA, questions, k=3)
    print(f"[{label}] recall@3 over {len(questions)} questions: search {ours:.1%}  plain BM25 {base:.1%}")
    for kb in ids:
        sub = [q for q in questions if q.kb == kb]
        o, _ = search_recall(db, ids, sub, k=3)
        b, _ = baseline_recall(DATA, sub, k=3)
        print(f"    {kb:<18} {len(sub):>2} questions: search {o:.1%}  plain BM25 {b:.1%}")
    for miss in misses:
        print(f"    miss: {miss.kb}: {miss.q}")


def _synthetic_markdown(rng: random.Random, items: int) -> bytes:
    lines = [f"# Catálogo {rng.randrange(10**6)}", ""]
    for section in range(items // 20):
        lines += [f"## Sección {section} {rng.choice(WORDS)}", ""]
        for _ in range(20):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
            lines.append(f"- {words}: {rng.randint(5, 400)} €")
        lines.append("")
    return "\n".join(lines).encode()


def bench_latency(db: Database, label: str, chunks: int = 5_000) -> None:
    rng = random.Random(7)
    target = _tenant(db, f"{label}-big")
    others = [_tenant(db, f"{label}-other-{i}") for i in range(2)]
    start = time.perf_counter()
    for tenant_id, count in [(target, chunks), *((o, chunks // 2) for o in others)]:
        for _ in range(count // 100):
            ingest(db, tenant_id, f"cat-{rng.randrange(10**9)}.md", _synthetic_markdown(rng, 100))
    ingest_kb(db, target, DATA, "kb_clinica_es")
    seconds = time.perf_counter() - start
    print(f"[{label}] indexed {chunks * 2:,} synthetic chunks (3 tenants) in {seconds:.1f}s")
    queries = [q.q for q in load_questions(DATA / "kb_questions.json")]
    queries += [" ".join(rng.choice(WORDS) for _ in range(3)) for _ in range(100)]
    for q in queries[:10]:
        search(db, target, q)  # warm-up
    timings: list[float] = []
    for _ in range(3):
        for q in queries:
            t0 = time.perf_counter()
            search(db, target, q, k=3)
            timings.append((time.perf_counter() - t0) * 1000)
    print(
        f"[{label}] search at {chunks:,} chunks: p50 {statistics.median(timings):.1f} ms  "
        f"p95 {_percentile(timings, 95):.1f} ms  max {max(timings):.1f} ms  ({len(timings)} queries)"
    )


def bench_pdf_ingest(db: Database, label: str, pages: int = 300) -> None:
    rng = random.Random(3)
    tenant_id = _tenant(db, f"{label}-pdf")
    sentence = "La clínica atiende {w} y {v} con cita previa, de lunes a viernes, desde {n} euros."
    docs: list[bytes] = []
    for d in range(pages // 30):
        page_lines: list[list[str]] = []
        for p in range(30):
            lines = [f"SECCIÓN {d}-{p}"]
            for _ in range(6):
                para = sentence.format(w=rng.choice(WORDS), v=rng.choice(WORDS), n=rng.randint(10, 900))
                lines += [para[:60], para[60:] + " Más información en recepción.", ""]
            for _ in range(8):
                lines.append(f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.randint(5, 300)} €")
            page_lines.append(lines)
        docs.append(text_pdf(page_lines, title=f"Documento {d}"))
    start = time.perf_counter()
    total = sum(ingest(db, tenant_id, f"doc-{i}.pdf", data).pages for i, data in enumerate(docs))
    seconds = time.perf_counter() - start
    print(f"[{label}] ingest of text PDFs: {total} pages in {seconds:.2f}s = {total / seconds:.0f} pages/s")


def bench_vectors(count: int = 50_000) -> None:
    rng = np.random.default_rng(1)
    for dim in (384, 1536):
        matrix = rng.standard_normal((count, dim), dtype=np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        timings: list[float] = []
        for _ in range(50):
            query = rng.standard_normal(dim, dtype=np.float32)
            query /= np.linalg.norm(query)
            t0 = time.perf_counter()
            cosine_top(matrix, query, 50)
            timings.append((time.perf_counter() - t0) * 1000)
        print(
            f"[numpy] brute-force cosine over {count:,} x {dim} float32 "
            f"({matrix.nbytes / 2**20:.0f} MiB): p50 {statistics.median(timings):.1f} ms  "
            f"p95 {_percentile(timings, 95):.1f} ms"
        )


def run(db: Database, label: str) -> None:
    bench_recall(db, label)
    bench_latency(db, label)
    bench_pdf_ingest(db, label)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="superuser URL of a PostgreSQL to run on too (a scratch schema)")
    args = parser.parse_args()
    keyring = Keyring.generate("bench")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db", keyring)
        migrate(db)
        run(db, "sqlite")
        db.dispose()
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            db = Database(args.postgres, keyring, schema=schema)
            migrate(db)
            run(db, "postgres")
            db.dispose()
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    bench_vectors()


if __name__ == "__main__":
    main()
