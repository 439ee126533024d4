"""``frontdesk tenants configure``, ``frontdesk hours`` and ``frontdesk handoff``: checked like the
API, one line and exit 2 on bad input, and what they set changes the receptionist's next turn."""

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from frontdesk.cli import app

BAKERY = "# Panadería Lola\n\n## Precios\n\n- Pan sin gluten: 3,50 €\n- Croissant: 1,20 €\n"


@pytest.fixture
def env(cli_env):
    assert run("tenants", "create", "lola", "--name", "Panadería Lola").exit_code == 0
    return cli_env


def run(*args, stdin=None):
    return CliRunner().invoke(app, list(args), input=stdin)


def settings(env):
    (raw,) = sqlite3.connect(env / "fd.db").execute("SELECT settings FROM tenants").fetchone()
    return json.loads(raw)


def test_configure_persona_tone_language_rules_and_wording(env):
    result = run(
        "tenants", "configure", "lola", "--persona", "una panadera simpática", "--tone", "cercano",
        "--language", "pt", "--rule", "No prometas encargos para hoy", "--rule", "Sin precios de tartas",
        "--disclosure", "es=¡Hola! Soy la asistente de IA de {business}.",
        "--closed-message", "es=Ahora no hay nadie; te escribimos {when}.",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["persona"] == "una panadera simpática" and shown["default_language"] == "pt"
    assert shown["rules"] == ["No prometas encargos para hoy", "Sin precios de tartas"]
    assert shown["messages"]["disclosure"] == {"es": "¡Hola! Soy la asistente de IA de {business}."}
    again = json.loads(run("tenants", "configure", "lola", "--disclosure", "es=", "--clear-rules").stdout)
    assert "disclosure" not in again["messages"] and again["rules"] == [] and again["tone"] == "cercano"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tenants", "configure", "lola", "--language", "fr"], "(--language)"),
        (["tenants", "configure", "lola", "--disclosure", "xx=hola"], "LANG=TEXT"),
        (["tenants", "configure", "lola", "--closed-message", "es=Volvemos pronto"], "{when}"),
        (["tenants", "configure", "nobody", "--tone", "x"], "no tenant"),
        (["hours", "set", "lola", "mon-fry 09:00-19:00"], "unknown day"),
        (["hours", "set", "lola", "mon 19:00-09:00"], "opening before the closing"),
        (["hours", "set", "lola", "mon 9-19"], "expected"),
        (["hours", "set", "lola", "mon 09:00-19:00", "--timezone", "Mars/Base"], "unknown time zone"),
        (["hours", "set", "lola", "mon 09:00-19:00", "--holiday", "25/12"], "YYYY-MM-DD"),
        (["handoff", "set", "lola", " "], "1-100 characters"),
    ],
)
def test_bad_settings_are_one_line_exit_2_and_write_nothing(env, args, message):
    before = settings(env)
    result = run(*args)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("frontdesk: error: ") and message in line
    assert settings(env) == before


def test_hours_set_show_clear(env):
    result = run(
        "hours", "set", "lola", "mon-fri 09:00-14:00,17:00-20:00", "sat 10:00-14:00", "sun closed",
        "--timezone", "Europe/Madrid", "--holiday", "2026-12-25", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    hours = json.loads(result.stdout)
    assert hours["timezone"] == "Europe/Madrid" and hours["holidays"] == ["2026-12-25"]
    assert hours["opening_hours"]["wed"] == [["09:00", "14:00"], ["17:00", "20:00"]]
    assert hours["opening_hours"]["sat"] == [["10:00", "14:00"]] and hours["opening_hours"]["sun"] == []
    shown = run("hours", "show", "lola").stdout
    assert "Saturday: 10:00-14:00" in shown and "Sunday: closed" in shown
    assert (
        "fri 09:00-15:00"
        and run("hours", "set", "lola", "mon-fri 09:00-19:00", "fri 09:00-15:00").exit_code == 0
    )
    assert settings(env)["opening_hours"]["fri"] == [["09:00", "15:00"]]
    assert settings(env)["timezone"] == "Europe/Madrid"  # kept
    cleared = run("hours", "clear", "lola")
    assert cleared.exit_code == 0 and "not configured" in cleared.stdout
    assert "opening_hours" not in settings(env)


def test_handoff_keywords_add_to_the_defaults_unless_replaced(env):
    added = json.loads(run("handoff", "set", "lola", "tarta de boda").stdout)
    assert "tarta de boda" in added["handoff_keywords"] and "abogado" in added["handoff_keywords"]
    replaced = json.loads(run("handoff", "set", "lola", "encargo", "--replace", "--max-misses", "1").stdout)
    assert replaced == {"handoff_keywords": ["encargo"], "max_misses": 1}
    assert json.loads(run("handoff", "show", "lola").stdout) == replaced


def test_what_the_cli_sets_changes_the_next_turn(env):
    import knowledge.cli
    from frontdesk import cli

    knowledge.cli.database_factory = cli.ready_database
    (env / "precios.md").write_text(BAKERY, encoding="utf-8")
    assert run("kb", "add", "--tenant", "lola", str(env / "precios.md")).exit_code == 0
    assert (
        run("tenants", "configure", "lola", "--disclosure", "es=Soy la IA de {business}, ¡hola!").exit_code
        == 0
    )
    assert run("handoff", "set", "lola", "tarta de boda").exit_code == 0
    lines = "¿Cuánto cuesta el pan sin gluten?\nQuiero encargar una tarta de boda\n"
    result = run("chat", "--tenant", "lola", "--json", stdin=lines)
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["reply"].startswith("Soy la IA de Panadería Lola, ¡hola!") and "3,50 €" in first["reply"]
    assert second["handoff"] is True
