"""Recall@k of tenant search against a plain-BM25-over-paragraphs baseline (tests and bench)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from knowledge.bm25 import BM25, plain_tokens
from knowledge.search import search
from knowledge.service import ingest
from store.db import Database

_TAG = re.compile(r"<(script|style|title)\b.*?</\1>|<[^>]+>", re.S | re.I)
_BLANK = re.compile(r"\n\s*\n")


@dataclass(frozen=True, slots=True)
class Question:
    """A customer question for one knowledge base, and a string the right passage contains."""

    kb: str
    q: str
    expect: str


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSON array of {"kb", "q", "expect"}."""
    return [Question(item["kb"], item["q"], item["expect"]) for item in json.loads(path.read_text("utf-8"))]


def kb_files(data_dir: Path, kb: str) -> list[Path]:
    """The files of one test knowledge base, in name order."""
    return sorted(p for p in (data_dir / kb).iterdir() if p.is_file())


def ingest_kb(db: Database, tenant_id: int, data_dir: Path, kb: str) -> int:
    """Ingest every file of a knowledge base folder; returns the number of chunks."""
    return sum(ingest(db, tenant_id, path.name, path.read_bytes()).chunks for path in kb_files(data_dir, kb))


def paragraphs(data: bytes) -> list[str]:
    """Plain paragraphs: the raw text (HTML tags stripped) split at blank lines."""
    text = data.decode("utf-8", errors="replace")
    if "<html" in text.lower():
        text = html.unescape(_TAG.sub("\n\n", text))
    return [p.strip() for p in _BLANK.split(text) if p.strip()]


def recall(
    questions: Iterable[Question], answer: Callable[[Question], list[str]]
) -> tuple[float, list[Question]]:
    """Share of questions whose expected string is in one of the returned texts, and the misses."""
    asked = list(questions)
    misses = [q for q in asked if not any(q.expect in text for text in answer(q))]
    return (1 - len(misses) / len(asked)) if asked else 0.0, misses


def search_recall(
    db: Database, tenants: dict[str, int], questions: Iterable[Question], k: int = 3
) -> tuple[float, list[Question]]:
    """Recall@k of :func:`knowledge.search` (lexical default)."""
    return recall(questions, lambda q: [p.text for p in search(db, tenants[q.kb], q.q, k=k)])


def baseline_recall(
    data_dir: Path, questions: Iterable[Question], k: int = 3
) -> tuple[float, list[Question]]:
    """Recall@k of plain BM25 (lower-cased words, no stemming) over each knowledge base's paragraphs."""
    asked = list(questions)
    indexes: dict[str, tuple[list[str], BM25]] = {}
    for kb in {q.kb for q in asked}:
        paras = [p for path in kb_files(data_dir, kb) for p in paragraphs(path.read_bytes())]
        indexes[kb] = (paras, BM25([plain_tokens(p) for p in paras]))

    def answer(q: Question) -> list[str]:
        paras, index = indexes[q.kb]
        return [paras[i] for i, _ in index.top(plain_tokens(q.q), k)]

    return recall(asked, answer)
