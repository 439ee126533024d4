"""`frontdesk redaction …` edits a tenant's redaction rules, validated, and `test` applies them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from frontdesk.cli import app


@pytest.fixture
def env(cli_env):
    assert CliRunner().invoke(app, ["tenants", "create", "clinica"]).exit_code == 0
    return cli_env


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_patterns_deny_allow_enable_round_trip(env) -> None:
    assert (
        run("redaction", "add-pattern", "clinica", "hc", r"HC-\d{5}", "--entity", "PATIENT_ID").exit_code == 0
    )
    assert run("redaction", "deny", "clinica", "Quetzalli").exit_code == 0
    assert run("redaction", "allow", "clinica", "Rosa Mosqueta").exit_code == 0
    assert run("redaction", "enable", "clinica", "UrlRecognizer").exit_code == 0
    shown = json.loads(run("redaction", "show", "clinica").stdout)
    assert shown["patterns"][0]["entity"] == "PATIENT_ID" and shown["deny"] == ["Quetzalli"]
    assert shown["allow"] == ["Rosa Mosqueta"] and shown["enabled"] == ["UrlRecognizer"]
    out = run("redaction", "test", "clinica", "paciente HC-12345, la atiende Quetzalli con Rosa Mosqueta")
    assert out.exit_code == 0
    assert "HC-12345" not in out.stdout and "Quetzalli" not in out.stdout and "Rosa Mosqueta" in out.stdout
    assert run("redaction", "deny", "clinica", "quetzalli", "--remove").exit_code == 0
    assert json.loads(run("redaction", "show", "clinica").stdout)["deny"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add-pattern", "clinica", "bad", "(a+)+"), "catastrophic"),
        (("add-pattern", "clinica", "bad", "x*"), "empty"),
        (("add-pattern", "clinica", "bad", "("), "does not compile"),
        (("enable", "clinica", "NopeRecognizer"), "unknown Presidio recognizer"),
        (("show", "nobody"), "no tenant"),
    ],
)
def test_bad_input_is_one_line_and_nothing_is_stored(env, args, message) -> None:
    result = run("redaction", *args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert json.loads(run("redaction", "show", "clinica").stdout)["patterns"] == []
