"""``frontdesk chat --json``: the operator's view of the receptionist, on the extractive provider."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontdesk.cli import app, main  # noqa: F401  (main wires the kb sub-app's database)

KB = Path(__file__).parents[1] / "data" / "kb_clinica_es"


@pytest.fixture
def env(cli_env):
    runner = CliRunner()
    assert runner.invoke(app, ["tenants", "create", "clinic", "--name", "Clínica Sonrisa"]).exit_code == 0
    import knowledge.cli
    from frontdesk import cli

    knowledge.cli.database_factory = cli.ready_database
    result = runner.invoke(app, ["kb", "add", "--tenant", "clinic", *map(str, sorted(KB.iterdir()))])
    assert result.exit_code == 0, result.output
    return runner


def test_chat_json_answers_hands_off_and_stays_quiet_while_human(env):
    lines = [
        "Hola, ¿cuánto cuesta un blanqueamiento?",
        "quiero hablar con una persona",
        "¿sigue ahí alguien?",
        "/human Hola, soy Marta de recepción.",
        "/handback",
        "¿Y cuánto cuesta una endodoncia?",
    ]
    result = env.invoke(
        app, ["chat", "--tenant", "clinic", "--name", "Ana Pérez", "--json"], input="\n".join(lines) + "\n"
    )
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines)
    assert "250 €" in out[0]["reply"] and out[0]["citations"] and out[0]["mode"] == "bot"
    assert "asistente de IA" in out[0]["reply"]
    assert out[1]["handoff"] is True and out[1]["mode"] == "human" and "persona" in out[1]["reply"]
    assert out[2] == {"reply": None, "handoff": False, "mode": "human", "citations": []}
    assert out[4]["mode"] == "bot"
    assert "180 €" in out[5]["reply"] and out[5]["mode"] == "bot"
    assert "equipo" not in out[5]["reply"]  # the handoff message is not repeated


def test_chat_unknown_tenant(env):
    result = env.invoke(app, ["chat", "--tenant", "nope", "--json"], input="hola\n")
    assert result.exit_code == 2 and "no tenant" in result.stderr
