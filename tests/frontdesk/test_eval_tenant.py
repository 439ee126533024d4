"""``frontdesk eval run --tenant``: a tenant's own settings and knowledge base, in sandboxes;
results recorded in ``eval_results``, compared with the previous run, linked to traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import evals.cli
from agent.tracing.capture import running_capture
from evals.scenarios import Suite, _SuiteFile
from frontdesk import cli
from frontdesk.cli import app
from store.models import Contact, Conversation, EvalResult, Message, OutboxItem, VaultEntry

KB = Path(__file__).parents[1] / "data" / "kb_clinica_es"
SCENARIOS: list[dict[str, Any]] = [
    {
        "id": "price-whitening",
        "family": "faq",
        "required": True,
        "tenant": "any",
        "provider": "extractive",
        "customer": {"name": "Ana Pérez", "wa_id": "34611222333"},
        "turns": [
            {"text": "¿Cuánto cuesta un blanqueamiento?", "expect": {"contains": ["250 €"], "cites": True}}
        ],
    },
    {
        "id": "handoff-person",
        "family": "handoff",
        "tenant": "any",
        "turns": [{"text": "Quiero hablar con una persona", "expect": {"handoff": True, "language": "es"}}],
    },
    {
        "id": "other-tenant-canary",
        "family": "cross_tenant",
        "tenant": "any",
        "other_tenants": [{"slug": "other"}],
        "canaries": ["CANARY-1"],
        "turns": [{"text": "hola"}],
    },
]


def tenant_suite(name: str = "t") -> Suite:
    parsed = _SuiteFile.model_validate({"scenarios": SCENARIOS})
    return Suite(name="tenant-checks", fixtures={"any": {"slug": "any"}}, scenarios=parsed.scenarios)  # type: ignore[arg-type]


@pytest.fixture
def env(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    runner = CliRunner()
    for slug, name in (("clinic", "Clínica Sonrisa"), ("bakery", "Padaria")):
        created = runner.invoke(app, ["tenants", "create", slug, "--name", name])
        assert created.exit_code == 0, created.output
    assert runner.invoke(app, ["tenants", "configure", "clinic", "--language", "es"]).exit_code == 0
    import knowledge.cli

    knowledge.cli.database_factory = cli.ready_database
    monkeypatch.setattr(evals.cli, "tenant_wiring", cli.eval_wiring)
    monkeypatch.setattr(evals.cli, "load_suite", tenant_suite)
    added = runner.invoke(app, ["kb", "add", "--tenant", "clinic", *map(str, sorted(KB.iterdir()))])
    assert added.exit_code == 0, added.output
    return runner


def run_eval(runner: CliRunner, out: Path, *extra: str) -> tuple[Any, dict[str, Any]]:
    result = runner.invoke(app, ["eval", "run", "--tenant", "clinic", "--out", str(out), *extra])
    doc = json.loads((out / "results.json").read_text()) if (out / "results.json").exists() else {}
    return result, doc


def test_a_tenant_run_records_results_in_sandboxes_and_compares_with_the_previous_run(
    env: CliRunner, tmp_path: Path
) -> None:
    first, doc = run_eval(env, tmp_path / "one", "--provider", "simulator")
    assert first.exit_code == 0, first.output
    assert doc["tenant"] == "clinic" and doc["summary"]["required_failed"] == []
    statuses = {s["id"]: s["status"] for s in doc["scenarios"]}
    assert statuses == {
        "price-whitening": "passed",
        "handoff-person": "passed",
        "other-tenant-canary": "skipped",
    }
    assert "no previous run of this suite" in first.output
    assert f"run {doc['run_id']}: 6 results recorded for tenant clinic" in first.output
    assert "2 sandbox(es) erased" in first.output

    db = cli.ready_database()
    with db.admin_session() as session:
        rows = session.scalars(select(EvalResult).where(EvalResult.run_name == doc["run_id"])).all()
        assert {(r.scenario, r.metric) for r in rows} == {
            (s, m) for s in ("price-whitening", "handoff-person") for m in ("passed", "checks", "latency_s")
        }
        passed = {r.scenario: (r.passed, r.score) for r in rows if r.metric == "passed"}
        assert passed == {"price-whitening": (True, 1.0), "handoff-person": (True, 1.0)}
        assert {r.tenant_id for r in rows} == {doc_tenant_id(session, "clinic")}
        assert "Ana" not in json.dumps([r.details for r in rows])  # metadata only
        # the sandboxes are gone after the run; nothing was ever queued to send
        for model in (Conversation, Contact, OutboxItem, Message, VaultEntry):
            assert session.scalar(select(func.count()).select_from(model)) == 0, model

    # the knowledge base changes: the price document goes, the run regresses
    removed = env.invoke(app, ["kb", "remove", "--tenant", "clinic", "servicios.md"])
    assert removed.exit_code == 0, removed.output
    second, doc2 = run_eval(env, tmp_path / "two", "--provider", "simulator")
    assert second.exit_code == 1  # a required scenario fails
    comparison = doc2["comparison"]
    assert comparison["previous_run"] == doc["run_id"] and comparison["regressions"] == ["price-whitening"]
    assert {"scenario": "price-whitening", "before": "passed", "after": "failed"} in comparison["changed"]
    deltas = {(d["scenario"], d["metric"]): d["delta"] for d in comparison["deltas"]}
    assert deltas[("price-whitening", "passed")] == -1.0 and deltas[("price-whitening", "checks")] < 0
    assert f"compared with run {doc['run_id']}" in second.output
    assert "REGRESSION: price-whitening passed -> failed" in second.output
    html = (tmp_path / "two" / "report.html").read_text()
    assert "Compared with the previous run" in html and "1 regression(s)" in html


def doc_tenant_id(session: Any, slug: str) -> int:
    from store.repo import tenants

    return tenants.get_by_slug(session, slug).id


def test_traced_runs_link_each_result_to_its_langfuse_trace(
    env: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_capture() as capture:
        monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-eval-tenant")
        monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-eval-tenant")
        monkeypatch.setenv("LANGFUSE_BASE_URL", capture.base_url)
        result, doc = run_eval(env, tmp_path / "traced")  # the tenant's own provider (extractive)
        assert result.exit_code == 0, result.output
        assert doc["provider"] == "tenant" and "2 turn(s) traced" in result.output
        turns = [t for s in doc["scenarios"] for trial in s["trials"] for t in trial["turns"]]
        assert turns and all(t["trace_id"] in capture.traces("pk-eval-tenant") for t in turns)
        roots = [s for s in capture.spans if s.attributes.get("langfuse.trace.name")]
        assert roots and all("eval" in s.attributes["langfuse.trace.tags"] for s in roots)  # sandbox turns
        assert [t["trace_url"] for t in turns] == [
            f"{capture.base_url}/project/p/traces/{t['trace_id']}" for t in turns
        ]
    db = cli.ready_database()
    with db.admin_session() as session:
        rows = session.scalars(select(EvalResult).where(EvalResult.run_name == doc["run_id"])).all()
    assert rows and all(r.trace_id in {t["trace_id"] for t in turns} for r in rows)
    assert all(r.details["trace_url"].endswith(f"/traces/{r.trace_id}") for r in rows)
    assert "/project/p/traces/" in (tmp_path / "traced" / "report.html").read_text()


def test_tenant_run_usage_errors(env: CliRunner, tmp_path: Path) -> None:
    cases = [
        (["--tenant", "nope"], "no tenant 'nope'"),
        (["--tenant", "clinic", "--provider", "openai"], "--provider is tenant"),
    ]
    for args, message in cases:
        result = env.invoke(app, ["eval", "run", *args, "--out", str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_simulator_run_leaves_the_tenants_provider_error_alone(
    env: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store.models import ProviderSetting
    from store.repo import providers

    db = cli.ready_database()
    with db.admin_session() as session:
        tenant_id = doc_tenant_id(session, "clinic")
        providers.set_provider(
            session, db.keyring, tenant_id, "openai", model="gpt-4o-mini", api_key="sk-wrong-key"
        )
        providers.note_error(session, tenant_id, "invalid_key")
    answered = {
        "id": "model-answers",
        "family": "faq",
        "tenant": "any",
        "simulator": {"rules": [{"pattern": ".", "reply": "Abrimos a las 9."}]},
        "turns": [{"text": "¿A qué hora abrís?", "expect": {"contains": ["9"]}}],
    }
    parsed = _SuiteFile.model_validate({"scenarios": [answered]})
    suite = Suite(name="sim", fixtures={}, scenarios=parsed.scenarios)
    monkeypatch.setattr(evals.cli, "load_suite", lambda _name: suite)
    result, doc = run_eval(env, tmp_path / "sim", "--provider", "simulator")
    assert result.exit_code == 0, result.output
    assert doc["scenarios"][0]["trials"][0]["turns"][0]["model_calls"] == 1  # the simulator answered
    with db.admin_session() as session:
        row = session.scalar(select(ProviderSetting).where(ProviderSetting.tenant_id == tenant_id))
        assert row is not None and row.last_error == "invalid_key"  # not the tenant's provider: untouched


def test_a_tenants_own_scenario_file(env: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evals.scenarios import load_suite

    monkeypatch.setattr(evals.cli, "load_suite", load_suite)  # the real loader, by path
    own = tmp_path / "clinic-checks.yaml"
    own.write_text(
        "scenarios:\n"
        "  - id: whitening\n    family: faq\n    required: true\n    tenant: {slug: self}\n"
        "    provider: extractive\n"
        "    turns: [{text: '¿Cuánto cuesta un blanqueamiento?', expect: {contains: ['250 €']}}]\n"
    )
    monkeypatch.chdir(tmp_path)
    result = env.invoke(app, ["eval", "run", "--tenant", "clinic", "--suite", str(own)])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out" / "evals" / "clinic-clinic-checks" / "results.json").read_text())
    assert [s["status"] for s in doc["scenarios"]] == ["passed"] and doc["suite"] == str(own)
