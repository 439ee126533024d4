"""Leak and over-redaction scoring of a redactor on a corpus with gold spans (tests, bench).

A gold span *leaks* when some of its letters or digits are not covered by any redacted span
(of any type). A PII-free message *loses* a date, time, price or service when a redacted span
overlaps one of its ``keep`` spans.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Span = tuple[int, int]


@dataclass(slots=True)
class Score:
    """Counts per gold type; ``leak_rate(type)`` and ``over_redaction`` derive from them."""

    gold: Counter[str] = field(default_factory=Counter[str])
    leaked: Counter[str] = field(default_factory=Counter[str])
    pii_free: int = 0
    pii_free_damaged: int = 0
    pii_free_any_redaction: int = 0
    leaked_ids: dict[str, list[int]] = field(default_factory=dict[str, list[int]])

    def leak_rate(self, entity_type: str) -> float:
        return self.leaked[entity_type] / self.gold[entity_type] if self.gold[entity_type] else 0.0

    def group_leak_rate(self, types: Iterable[str]) -> float:
        types = list(types)
        total = sum(self.gold[t] for t in types)
        return sum(self.leaked[t] for t in types) / total if total else 0.0

    @property
    def over_redaction(self) -> float:
        return self.pii_free_damaged / self.pii_free if self.pii_free else 0.0

    def table(self) -> dict[str, Any]:
        return {
            "leak": {
                t: {"n": n, "leaked": self.leaked[t], "rate": round(self.leak_rate(t), 4)}
                for t, n in sorted(self.gold.items())
            },
            "pii_free": self.pii_free,
            "pii_free_lost_keep_word": self.pii_free_damaged,
            "over_redaction": round(self.over_redaction, 4),
            "pii_free_any_redaction": self.pii_free_any_redaction,
        }


def load_corpus(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def leaks(text: str, gold: Span, predicted: Sequence[Span]) -> bool:
    start, end = gold
    return any(text[i].isalnum() and not any(s <= i < e for s, e in predicted) for i in range(start, end))


def score(corpus: Iterable[dict[str, Any]], predict: Callable[[dict[str, Any]], Sequence[Span]]) -> Score:
    """Run ``predict(record) -> redacted spans`` over the corpus and count leaks and damage."""
    result = Score()
    for record in corpus:
        text: str = record["text"]
        predicted = predict(record)
        for gold in record["spans"]:
            kind = gold["type"]
            result.gold[kind] += 1
            if leaks(text, (gold["start"], gold["end"]), predicted):
                result.leaked[kind] += 1
                result.leaked_ids.setdefault(kind, []).append(record["id"])
        if record["pii_free"]:
            result.pii_free += 1
            result.pii_free_any_redaction += bool(predicted)
            if any(s < k["end"] and k["start"] < e for k in record["keep"] for s, e in predicted):
                result.pii_free_damaged += 1
    return result
