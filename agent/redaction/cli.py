"""``frontdesk redact``: redact messages from standard input, one JSON object per line.

The whole stream is one conversation: a name or number seen on one line gets the same
placeholder on every later line. A line that is not UTF-8 yields an ``error`` object (and a
message on standard error that names the line, never its content); the other lines go on.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import TextIO

from agent.redaction.redactor import LanguageChoice, RedactionContext, Redactor
from agent.redaction.vault import ConversationKey, InMemoryVault
from textnorm import LANGUAGES

LANGS: dict[str, LanguageChoice] = {"auto": "auto", **{lang: lang for lang in LANGUAGES}}


def _raw_lines(stdin: TextIO) -> Iterator[bytes | str]:
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        yield from buffer
    else:
        yield from stdin


def run_redact_stream(lang: str, stdin: TextIO, stdout: TextIO, stderr: TextIO | None = None) -> int:
    """Load once, then redact each input line as it arrives. Returns 0, 1 if a line was bad,
    2 for an unknown ``lang``."""
    err = stderr if stderr is not None else sys.stderr
    choice = LANGS.get(lang)
    if choice is None:
        err.write(f"frontdesk redact: --lang must be one of {', '.join(LANGS)}\n")
        return 2
    redactor = Redactor(InMemoryVault())
    context = RedactionContext(ConversationKey(0, 0), language=choice)
    status = 0
    for number, raw in enumerate(_raw_lines(stdin), start=1):
        if isinstance(raw, bytes):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                err.write(f"frontdesk redact: line {number}: not valid UTF-8 (byte {exc.start}); skipped\n")
                err.flush()
                stdout.write(json.dumps({"error": "invalid UTF-8", "line": number}) + "\n")
                stdout.flush()
                status = 1
                continue
        else:
            line = raw
        text = line.removesuffix("\n").removesuffix("\r")
        redacted = redactor.redact(text, context)
        record = {
            "text": redacted.text,
            "entities": [
                {"type": e.type, "start": e.start, "end": e.end, "placeholder": e.placeholder}
                for e in redacted.entities
            ],
        }
        stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        stdout.flush()
    return status
