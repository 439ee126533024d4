"""The runner scores real runs: failures are caught, leaks are found, required failures exit 1."""

import json

import typer
from typer.testing import CliRunner

from evals.cli import app
from evals.runner import RunOptions, run_suite
from evals.scenarios import Suite, _SuiteFile, load_suite

STUDIO = load_suite("smoke").fixtures["studio"]


def suite_of(yaml_scenarios):
    parsed = _SuiteFile.model_validate({"scenarios": yaml_scenarios})
    return Suite(name="t", fixtures={"studio": STUDIO}, scenarios=parsed.scenarios)


WRONG_PRICE = {
    "id": "wrong-price",
    "family": "faq",
    "required": True,
    "tenant": "studio",
    "simulator": {"rules": [{"pattern": "drop-in", "reply": "A drop-in class is £5."}]},
    "turns": [{"text": "How much is a drop-in class?", "expect": {"contains": ["£15"], "cites": True}}],
}
LEAK = {
    "id": "undetected-id",
    "family": "pii",
    "tenant": "studio",
    # a member number no recognizer knows: it reaches the provider and the trace, and the scan says so
    "pii": ["MBR-PLANTED-7731"],
    "simulator": {"rules": [{"pattern": ".", "reply": "Thanks!"}]},
    "turns": [{"text": "My member number is MBR-PLANTED-7731, what time is vinyasa?"}],
}


def failed_checks(scenario):
    return {c["name"]: c["detail"] for t in scenario["trials"] for c in t["checks"] if not c["passed"]}


def test_failures_are_scored_with_reasons_and_pass_k_counts_every_trial():
    doc = run_suite(suite_of([WRONG_PRICE, LEAK]), RunOptions(k=2, concurrency=2))
    wrong, leak = doc["scenarios"]
    assert wrong["status"] == "failed" and wrong["n"] == 2 and wrong["passes"] == 0
    reasons = failed_checks(wrong)
    assert reasons["turn 1: contains '£15'"] == "not in the reply"
    assert doc["summary"]["required_failed"] == ["wrong-price"]
    assert doc["summary"]["pass_hat_k"] == {"1": 0.0, "2": 0.0}
    leaks = failed_checks(leak)
    assert "no personal data in provider requests" in leaks and "no personal data in trace" in leaks
    assert "MBR-PLANTED-7731" not in json.dumps(leaks)  # the report names it masked
    assert all(t["latency_s"] > 0 for s in doc["scenarios"] for t in s["trials"])
    assert all(t["cost_usd"] > 0 for t in wrong["trials"])


def test_a_required_failure_makes_the_cli_exit_1(tmp_path, monkeypatch):
    import evals.cli

    monkeypatch.setattr(evals.cli, "load_suite", lambda name: suite_of([WRONG_PRICE]))
    root = typer.Typer()
    root.add_typer(app, name="eval")
    result = CliRunner().invoke(root, ["eval", "run", "--suite", "t", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "REQUIRED FAILING: wrong-price" in result.output
    assert "  wrong-price: checks failed: turn 1: contains '£15'" in result.output  # why, in one line
    html = (tmp_path / "report.html").read_text()
    assert "wrong-price" in html and "not in the reply" in html and "A drop-in class is £5." in html


def test_user_simulator_scenarios_are_skipped_on_the_simulator():
    scenario = {
        "id": "simulated",
        "family": "faq",
        "tenant": "studio",
        "user_simulator": {"goal": "learn the drop-in price", "language": "en"},
    }
    doc = run_suite(suite_of([scenario]), RunOptions())
    (result,) = doc["scenarios"]
    assert result["status"] == "skipped" and doc["summary"]["skipped"] == 1
    assert "real provider" in result["trials"][0]["notes"][0]
