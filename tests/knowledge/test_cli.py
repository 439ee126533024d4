"""The ``kb`` sub-app: add (with progress), list, search --json, remove; clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from knowledge import cli

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def run(sqlite_db: Any, make_tenant: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    make_tenant(sqlite_db, "garage")
    monkeypatch.setattr(cli, "database_factory", lambda: sqlite_db)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli.app, list(args))


def test_add_list_search_remove(run: Any, tmp_path: Path) -> None:
    files = [str(p) for p in sorted((DATA / "kb_werkstatt_de").iterdir())]
    result = run("add", "--tenant", "garage", *files)
    assert result.exit_code == 0, result.output
    assert "added" in result.stdout and "leistungen.md" in result.stdout
    listed = run("list", "--tenant", "garage")
    assert "kontakt.txt" in listed.stdout and "leistungen.md" in listed.stdout
    found = run("search", "--tenant", "garage", "--k", "2", "--json", "Was kostet ein Ölwechsel?")
    assert found.exit_code == 0, found.output
    passages = json.loads(found.stdout)
    assert len(passages) == 2 and set(passages[0]) == {"text", "source", "heading", "score"}
    assert "Ölwechsel" in passages[0]["text"] and passages[0]["source"] == "Autowerkstatt Becker"
    assert run("remove", "--tenant", "garage", "leistungen.md").exit_code == 0
    assert json.loads(run("search", "--tenant", "garage", "--json", "Ölwechsel").stdout) == []


def test_errors_are_one_line_and_exit_2(run: Any, tmp_path: Path) -> None:
    bad = tmp_path / "photo.md"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    result = run("add", "--tenant", "garage", str(bad))
    assert result.exit_code == 2
    assert "photo.md: unsupported format" in result.stderr
    unknown = run("list", "--tenant", "nobody")
    assert unknown.exit_code == 2 and unknown.stderr.strip().count("\n") == 0
    assert run("remove", "--tenant", "garage", "missing.md").exit_code == 2


def test_add_writes_nothing_when_one_file_is_bad(run: Any, tmp_path: Path) -> None:
    good = tmp_path / "a.md"
    good.write_text("# Horario\n\nAbrimos a las 9:00.\n", encoding="utf-8")
    empty = tmp_path / "bad.md"
    empty.write_text("", encoding="utf-8")
    result = run("add", "--tenant", "garage", str(good), str(empty))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"frontdesk: error: {empty}: the file is empty"
    assert run("list", "--tenant", "garage", "--json").stdout.strip() == "[]"
    assert run("add", "--tenant", "garage", str(good)).exit_code == 0
    assert "a.md" in run("list", "--tenant", "garage").stdout


def test_a_corrupt_pdf_is_one_line(run: Any, tmp_path: Path) -> None:
    bad = tmp_path / "prices.pdf"
    bad.write_bytes(b"%PDF-1.4\n1 0 obj garbage\n")
    result = run("add", "--tenant", "garage", str(bad))
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"frontdesk: error: {bad}: corrupt PDF")


def test_a_script_only_html_page_has_no_readable_text(run: Any, tmp_path: Path) -> None:
    page = tmp_path / "app.html"
    page.write_text("<html><head><script>var a = 1;</script></head><body><script>go()</script></body></html>")
    result = run("add", "--tenant", "garage", str(page))
    assert result.exit_code == 2
    assert "has no readable text" in result.stderr and "OCR" not in result.stderr
