"""Knowledge-base benchmark, all figures in one run.

    uv run python -m bench.knowledge [--postgres URL] [--baseline REV]

1. recall@3 of tenant search (lexical default) vs plain BM25 over paragraphs, on tests/data;
2. search latency p50/p95 for a tenant with 5,000 chunks while two other tenants hold data too
   (with --baseline, ``knowledge/search.py`` of that git revision is timed on the same data and
   queries, interleaved query by query, and its top 3 compared);
3. ingest throughput for text PDFs (pages/s);
4. brute-force cosine over 50,000 chunk vectors of one tenant (NumPy).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from sqlalchemy import create_engine, text

from knowledge import ingest, search
from knowledge.evaluation import baseline_recall, ingest_kb, load_questions, search_recall
from knowledge.pdfgen import text_pdf
from knowledge.search import cosine_top
from store.crypto import Keyring
from store.db import Database, migrate
from store.repo import tenants
from store.roles import app_login_url

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
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


def load_baseline(rev: str) -> ModuleType:
    """``knowledge/search.py`` as it was at a git revision, importable beside the current one."""
    source = subprocess.run(
        ["git", "show", f"{rev}:knowledge/search.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    module = ModuleType(f"knowledge_search_{rev}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:knowledge/search.py", "exec"), module.__dict__)
    return module


def _report(label: str, what: str, timings: list[float]) -> None:
    print(
        f"[{label}] {what}: p50 {statistics.median(timings):.1f} ms  "
        f"p95 {_percentile(timings, 95):.1f} ms  max {max(timings):.1f} ms  ({len(timings)} queries)"
    )


def bench_latency(db: Database, label: str, chunks: int = 5_000, baseline: ModuleType | None = None) -> None:
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
    t0 = time.perf_counter()
    search(db, target, queries[0])
    print(
        f"[{label}] first search after ingest: {(time.perf_counter() - t0) * 1000:.1f} ms"
        + ("  (builds the tenant's index in this process)" if db.is_postgres else "")
    )
    runs: dict[str, Callable[[str], Any]] = {"search": lambda q: search(db, target, q, k=3)}
    if baseline is not None:
        base_search: Callable[..., Any] = baseline.search
        runs["baseline"] = lambda q: base_search(db, target, q, k=3)
    for q in queries[:10]:
        for run_one in runs.values():
            run_one(q)  # warm-up
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(3):
        for q in queries:
            for name, run_one in runs.items():
                t0 = time.perf_counter()
                run_one(q)
                timings[name].append((time.perf_counter() - t0) * 1000)
    load = "  ".join(f"{x:.2f}" for x in os.getloadavg())
    _report(label, f"search at {chunks:,} chunks", timings["search"])
    if baseline is not None:
        _report(label, f"baseline {baseline.__name__.removeprefix('knowledge_search_')}", timings["baseline"])
        same = sum(
            [p.chunk_id for p in search(db, target, q, k=3)]
            == [p.chunk_id for p in baseline.search(db, target, q, k=3)]
            for q in queries
        )
        print(f"[{label}] same top 3 as the baseline for {same} of {len(queries)} queries")
    print(f"[{label}] load average after the timing: {load}")


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


def run(db: Database, label: str, baseline: ModuleType | None = None) -> None:
    bench_recall(db, label)
    bench_latency(db, label, baseline=baseline)
    bench_pdf_ingest(db, label)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="superuser URL of a PostgreSQL to run on too (a scratch schema)")
    parser.add_argument(
        "--baseline", metavar="REV", help="also time knowledge/search.py of this git revision"
    )
    args = parser.parse_args()
    baseline = load_baseline(args.baseline) if args.baseline else None
    keyring = Keyring.generate("bench")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db", keyring)
        migrate(db)
        run(db, "sqlite", baseline)
        db.dispose()
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            db = Database(app_login_url(args.postgres), keyring, admin_url=args.postgres, schema=schema)
            migrate(db)
            run(db, "postgres", baseline)
            db.dispose()
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    bench_vectors()


if __name__ == "__main__":
    main()
