"""Address leaks per part and per locale on the address DEVELOPMENT set (never the test set).

    uv run python bench/redaction_addresses.py [--ids] [--presidio] [--show N]

``--ids`` reads the identity-document dev set instead (``tests/data/pii_ids_dev.jsonl``) and
splits its leaks by id kind.

Reads ``tests/data/pii_addresses_dev.jsonl`` (``tests/data/pii_make_addresses_dev.py``): each
address carries its parts (street, number, unit, postcode, city, state, pobox). A part leaks
when any of its letters or digits is left unredacted. ``--show N`` prints N leaking messages
(development data only) to see what to fix.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.redaction.evaluation import leaks, load_corpus
from agent.redaction.redactor import RedactionContext, Redactor
from agent.redaction.vault import ConversationKey, InMemoryVault

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
DEV = DATA / "pii_addresses_dev.jsonl"
IDS = DATA / "pii_ids_dev.jsonl"
Spans = list[tuple[int, int]]


def per_part(records: list[dict[str, Any]], predict: Callable[[dict[str, Any]], Spans], show: int) -> None:
    gold: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    shown = 0
    damaged = free = 0
    for record in records:
        text = record["text"]
        spans = predict(record)
        if record["pii_free"]:
            free += 1
            hit = any(s < k["end"] and k["start"] < e for k in record["keep"] for s, e in spans)
            damaged += hit
            if hit and shown < show:
                shown += 1
                print(f"  over  {text!r} -> {[text[s:e] for s, e in spans]}")
        for span in record["spans"]:
            whole = leaks(text, (span["start"], span["end"]), spans)
            for key in ("all", f"all {record['locale']}", f"kind {span.get('id_kind')}"):
                gold[key] += 1
                leaked[key] += whole
            for part in span.get("parts", [{"part": "value", "start": span["start"], "end": span["end"]}]):
                gold[part["part"]] += 1
                leaked[part["part"]] += leaks(text, (part["start"], part["end"]), spans)
            if whole and shown < show:
                shown += 1
                missing = [
                    text[p["start"] : p["end"]]
                    for p in span.get("parts", [span])
                    if leaks(text, (p["start"], p["end"]), spans)
                ]
                print(f"  leak  {text!r} -> {[text[s:e] for s, e in spans]}  missing {missing}")
    for key in sorted(gold, key=lambda k: (k.startswith(("all ", "kind ")), k)):
        if key == "kind None":
            continue
        print(f"{key:16} n={gold[key]:5}  leaked {leaked[key] / gold[key]:6.1%}")
    print(f"{'over-redaction':16} n={free:5}  damaged {damaged / max(free, 1):6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presidio", action="store_true", help="score Presidio out of the box too")
    parser.add_argument("--show", type=int, default=0)
    parser.add_argument("--ids", action="store_true", help="the identity-document dev set")
    args = parser.parse_args()
    records = load_corpus(IDS if args.ids else DEV)
    redactor = Redactor(InMemoryVault())

    def ours(record: dict[str, Any]) -> Spans:
        ctx = RedactionContext(ConversationKey(1, record["id"]))
        return [(e.start, e.end) for e in redactor.redact(record["text"], ctx).entities]

    print("frontdesk")
    per_part(records, ours, args.show)
    if args.presidio:
        from bench.redaction import presidio_default

        presidio = presidio_default()
        print("presidio")
        per_part(records, lambda r: [(x.start, x.end) for x in presidio.analyze(r["text"], language="en")], 0)


if __name__ == "__main__":
    main()
