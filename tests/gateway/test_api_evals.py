"""``GET /api/evals``: a tenant's recorded eval runs, tenant-scoped, metadata only, paginated."""

from __future__ import annotations

from typing import Any

from evals.runner import RunOptions, run_suite
from evals.scenarios import Suite, _SuiteFile, load_suite
from evals.tenant import record_run
from tests.gateway.conftest import Gateway

STUDIO = load_suite("smoke").fixtures["studio"]
PLANTED = "Carla Mendes"


def recorded_doc() -> dict[str, Any]:
    """A real run's results document (two scenarios on the extractive provider)."""
    parsed = _SuiteFile.model_validate(
        {
            "scenarios": [
                {
                    "id": "price",
                    "family": "faq",
                    "tenant": "studio",
                    "provider": "extractive",
                    "customer": {"name": PLANTED, "wa_id": "34699887766"},
                    "turns": [{"text": "How much is a drop-in class?", "expect": {"contains": ["£15"]}}],
                },
                {
                    "id": "wrong",
                    "family": "faq",
                    "tenant": "studio",
                    "provider": "extractive",
                    "turns": [{"text": "How much is a drop-in class?", "expect": {"contains": ["£99"]}}],
                },
            ]
        }
    )
    doc = run_suite(Suite(name="mini", fixtures={"studio": STUDIO}, scenarios=parsed.scenarios), RunOptions())
    doc["scenarios"][0]["trials"][0]["turns"][0] |= {
        "trace_id": "a" * 32,
        "trace_url": "https://lf.example/t",
    }
    return doc | {"run_id": "mini-1", "tenant": "acme"}


def test_api_evals_lists_a_tenants_runs_only_to_that_tenant(gw: Gateway) -> None:
    doc = recorded_doc()
    assert record_run(gw.db, gw.a.id, doc) == 6
    response = gw.client.get("/api/evals", headers=gw.a.auth("analyst"))
    assert response.status_code == 200, response.text
    rows = response.json()
    assert len(rows) == 6 and {r["run_name"] for r in rows} == {"mini-1"}
    passed = {r["scenario"]: r for r in rows if r["metric"] == "passed"}
    assert passed["price"]["passed"] is True and passed["price"]["score"] == 1.0
    assert passed["price"]["trace_id"] == "a" * 32 and passed["price"]["trace_url"] == "https://lf.example/t"
    assert passed["wrong"]["passed"] is False and passed["wrong"]["status"] == "failed"
    assert passed["wrong"]["failing_checks"] == ["turn 1: contains '£99'"]
    assert {r["suite"] for r in rows} == {"mini"} and {r["family"] for r in rows} == {"faq"}
    assert PLANTED not in response.text and "34699887766" not in response.text  # no customer data
    assert "drop-in" not in response.text  # no customer message or reply either

    other = gw.client.get("/api/evals", headers=gw.b.auth("analyst"))
    assert other.status_code == 200 and other.json() == []  # the other tenant sees none of it

    page = gw.client.get("/api/evals", params={"limit": 4, "offset": 0}, headers=gw.a.auth("analyst")).json()
    rest = gw.client.get("/api/evals", params={"limit": 4, "offset": 4}, headers=gw.a.auth("analyst")).json()
    assert len(page) == 4 and len(rest) == 2 and not {r["id"] for r in page} & {r["id"] for r in rest}
    named = gw.client.get("/api/evals", params={"run_name": "nope"}, headers=gw.a.auth("analyst"))
    assert named.json() == []
    assert gw.client.get("/api/evals", params={"limit": 501}, headers=gw.a.auth("analyst")).status_code == 422
