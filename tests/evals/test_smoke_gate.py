"""The gate in `make test`: the smoke suite passes on the simulator, through the CLI."""

import json

import typer
from typer.testing import CliRunner

from evals.cli import app

root = typer.Typer()
root.add_typer(app, name="eval")
runner = CliRunner()


def test_smoke_suite_passes_on_the_simulator(tmp_path):
    result = runner.invoke(
        root, ["eval", "run", "--suite", "smoke", "--provider", "simulator", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["summary"]["required_failed"] == [] and doc["summary"]["errors"] == 0
    failing = {s["id"]: s["trials"][0]["checks"] for s in doc["scenarios"] if s["status"] != "passed"}
    assert not failing
    assert {s["family"] for s in doc["scenarios"]} == set(doc["families"])
    assert all(s["trials"][0]["checks"] for s in doc["scenarios"])  # every scenario scored something
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html and "smoke" in html
    assert "report:" in result.output and "handoff" in result.output


def test_usage_errors_are_one_line_and_exit_2(tmp_path, monkeypatch):
    for name in ("FRONTDESK_EVAL_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    cases = [
        (["eval", "run", "--suite", "nope"], "unknown suite 'nope'"),
        (
            ["eval", "run", "--suite", "smoke", "--provider", "openai"],
            "needs a key: set FRONTDESK_EVAL_API_KEY or OPENAI_API_KEY",
        ),
        (["eval", "run", "--suite", "smoke", "--provider", "mistral"], "unknown provider 'mistral'"),
        (["eval", "run", "--suite", "smoke", "--scenario", "zzz"], "no scenario"),
        (["eval", "list", "--suite", "nope"], "unknown suite"),
    ]
    for args, message in cases:
        result = runner.invoke(root, [*args, "--out", str(tmp_path)] if args[1] == "run" else args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_key_comes_from_the_environment_and_never_prints(monkeypatch):
    from evals.cli import operator_key

    key = operator_key("anthropic", {"ANTHROPIC_API_KEY": "sk-ant-secret"})
    assert key.reveal() == "sk-ant-secret" and "secret" not in repr(key)
    assert operator_key("gemini", {"GEMINI_API_KEY": "g", "FRONTDESK_EVAL_API_KEY": "f"}).reveal() == "f"


def test_list_shows_suites_and_scenarios():
    result = runner.invoke(root, ["eval", "list"])
    assert result.exit_code == 0
    assert "smoke (" in result.output and "full (" in result.output
    assert "pii-ids-es" in result.output and "required" in result.output
