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
