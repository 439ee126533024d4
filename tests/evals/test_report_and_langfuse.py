"""The HTML report stands alone; the Langfuse export creates a dataset and an experiment with scores."""

import copy
import json
import re

from agent.llm.factory import build_provider
from agent.llm.testing import running_simulator, sim_settings
from agent.tracing.capture import running_capture
from agent.tracing.langfuse_tracer import LangfuseProject
from evals.judge import judge, parse_verdict
from evals.langfuse_export import export, project_from_env
from evals.report import histogram, line_chart, render
from evals.runner import TrialResult, scenario_result, summarize
from evals.scenarios import load_suite
from evals.scorers import Check, TurnRecord


def sample_doc(k=3):
    suite = load_suite("smoke")
    by_id = {s.id: s for s in suite.scenarios}
    ok = TurnRecord(
        customer=["¿Cuánto cuesta una limpieza?"],
        reply="Cuesta 45 €.",
        language="es",
        latency_s=0.4,
        cost_usd=0.0001,
    )
    bad = TurnRecord(
        customer=["Soy Lucía Fernández, DNI 12345678Z"],
        reply="<script>alert(1)</script>",
        language="es",
        latency_s=1.2,
    )
    passing = [
        TrialResult(i, "passed", [Check("turn 1: contains '45 €'", True)], [ok], 0.4, 0.1, 0.0001)
        for i in range(1, k + 1)
    ]
    mixed = [
        TrialResult(1, "passed", [Check("x", True)], [bad], 1.2),
        TrialResult(
            2,
            "failed",
            [Check("no personal data in trace", False, "leaked 1 value(s): 1*******Z")],
            [bad],
            1.3,
        ),
        TrialResult(3, "error", error="ProviderHTTPError: boom"),
    ][:k]
    scenarios = [
        scenario_result(by_id["faq-price-es"], passing, k),
        scenario_result(by_id["pii-ids-es"], mixed, k),
    ]
    return suite, summarize(
        suite="smoke",
        provider="simulator",
        model="simulator",
        k=k,
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=3.2,
        scenarios=scenarios,
    )


def test_report_shows_families_curve_distributions_and_failures_without_scripts_or_network():
    _, doc = sample_doc()
    html = render(doc)
    assert html.count("<svg") == 4
    assert (
        "Pass rate per family" in html
        and "pass^k" in html
        and "Latency per trial" in html
        and "Cost per trial" in html
    )
    assert "Required scenarios failing: pii-ids-es" in html
    assert "no personal data in trace" in html and "leaked 1 value(s): 1*******Z" in html
    assert "ProviderHTTPError: boom" in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # replies are escaped
    assert not re.search(r"(src|href)=['\"]https?:", html)
    assert doc["summary"]["pass_hat_k"]["1"] == (1 + 1 / 3) / 2
    assert doc["summary"]["pass_hat_k"]["3"] == 0.5


def test_charts_cope_with_edge_cases():
    assert "no data" in histogram([], "s")
    assert "<rect" in histogram([0.5], "s") and "<rect" in histogram([1.0, 1.0, 1.0], "$")
    assert "<circle" in line_chart({"all": {1: 1.0}})


def test_langfuse_project_only_when_configured():
    assert project_from_env({}) is None
    assert project_from_env({"LANGFUSE_PUBLIC_KEY": "pk", "LANGFUSE_SECRET_KEY": "sk"}) is None
    project = project_from_env(
        {"LANGFUSE_PUBLIC_KEY": "pk", "LANGFUSE_SECRET_KEY": "sk", "LANGFUSE_HOST": "http://h"}
    )
    assert project is not None and project.base_url == "http://h" and "sk" not in repr(project)


def test_langfuse_dataset_and_experiment_with_scores_and_no_planted_values():
    suite, doc = sample_doc()
    doc = copy.deepcopy(doc)
    with running_capture() as capture:
        project = LangfuseProject("pk-eval-export", "sk", capture.base_url)
        published = export(doc, suite, project)
        datasets, items, scores = capture.datasets, capture.dataset_items, capture.scores
        everything = capture.all_text()
        spans = capture.spans
    assert published.items == 2 and published.dataset == "frontdesk-eval-smoke"
    assert [d["name"] for d in datasets] == ["frontdesk-eval-smoke"]
    assert {i["id"] for i in items} == {
        "frontdesk-eval-smoke-faq-price-es",
        "frontdesk-eval-smoke-pii-ids-es",
    }
    assert {i["metadata"]["family"] for i in items} == {"faq", "pii"}
    names = {s["name"] for s in scores}
    assert {
        "passed",
        "trials_passed",
        "pass^3",
        "latency_s",
        "cost_usd",
        "run pass^1",
        "run required_failed",
    } <= names
    passed = {s["value"] for s in scores if s["name"] == "passed"}
    assert passed == {0.0, 1.0}
    assert any("experiment" in k for s in spans for k in s.attributes)  # experiment traces were exported
    for value in ("Lucía", "Fernández", "12345678Z", "34611222333"):
        assert value not in everything and json.dumps(value)[1:-1] not in everything


def test_judge_verdicts_through_a_provider():
    assert parse_verdict('ok {"grounded": true, "reason": "all in [1]"}') == (True, "all in [1]")
    assert parse_verdict("yes")[0] is None and parse_verdict('{"grounded": "maybe"}')[0] is None
    with running_simulator() as sim:
        sim.add_rule(
            "Reply:", reply='{"grounded": false, "unsupported": ["price 30 €"], "reason": "not in passages"}'
        )
        check = judge(build_provider(sim_settings(sim, "openai"), "k"), "Cuesta 30 €.", ["Limpieza: 45 €"])
        body = sim.requests[0].body_text
    assert not check.passed and "price 30 €" in check.detail
    assert "Limpieza: 45 €" in body and "Cuesta 30 €." in body
