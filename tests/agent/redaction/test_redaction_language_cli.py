"""The ``frontdesk redact`` stream function (language detection: tests/textnorm)."""

from __future__ import annotations

import io
import json

from agent.redaction.cli import run_redact_stream


class _Stdin(io.TextIOWrapper):
    pass


def _run(data: bytes, lang: str = "auto") -> tuple[int, list[dict[str, object]], str]:
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_redact_stream(lang, stdin, stdout, stderr)
    return code, [json.loads(line) for line in stdout.getvalue().splitlines()], stderr.getvalue()


def test_stream_one_json_object_per_line_with_stable_placeholders() -> None:
    data = "Hola, soy Lucía Pérez, 612 345 678\nel martes a las 10:00, Lucía\n\n".encode()
    code, out, err = _run(data)
    assert code == 0 and err == ""
    assert out[0]["text"] == "Hola, soy <PERSON_1>, <PHONE_NUMBER_1>"
    assert out[0]["entities"][0] == {"type": "PERSON", "start": 10, "end": 21, "placeholder": "<PERSON_1>"}
    assert out[1]["text"] == "el martes a las 10:00, <PERSON_1>"
    assert out[2] == {"text": "", "entities": []}


def test_bad_utf8_line_is_reported_without_content_and_others_go_on() -> None:
    data = b"soy Ana Torres\n\xff\xfe Ana Torres \xc3\n my email ana@example.com\n"
    code, out, err = _run(data)
    assert code == 1
    assert out[1] == {"error": "invalid UTF-8", "line": 2}
    assert out[2]["text"] == " my email <EMAIL_ADDRESS_1>"
    assert "line 2" in err and "Ana" not in err


def test_unknown_language_is_rejected() -> None:
    code, out, err = _run(b"hola\n", lang="fr")
    assert code == 2 and out == [] and "--lang" in err


def test_stream_flushes_each_line() -> None:
    class Recording(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            Recording.flushes += 1
            super().flush()

    stdin = io.TextIOWrapper(io.BytesIO(b"a\nb\nc\n"), encoding="utf-8")
    run_redact_stream("es", stdin, Recording(), io.StringIO())
    assert Recording.flushes >= 3
