"""Publish a run to Langfuse: the suite as a dataset, the run as an experiment with scores.

Only when ``LANGFUSE_PUBLIC_KEY``, ``LANGFUSE_SECRET_KEY`` and ``LANGFUSE_BASE_URL`` (or
``LANGFUSE_HOST``) are set. Scenario values the suite plants as personal data are replaced by
``<PLANTED>`` before anything is sent, and provider keys never are.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langfuse import Evaluation, Langfuse
from opentelemetry.sdk.trace import TracerProvider

from agent.tracing.langfuse_tracer import LangfuseProject
from evals.scenarios import Scenario, Suite


@dataclass(frozen=True)
class ExportResult:
    """What was published."""

    dataset: str
    run_name: str
    items: int
    url: str | None


def project_from_env(env: Mapping[str, str] | None = None) -> LangfuseProject | None:
    """The Langfuse project of the environment, or ``None`` when it is not configured."""
    env = os.environ if env is None else env
    public, secret = env.get("LANGFUSE_PUBLIC_KEY"), env.get("LANGFUSE_SECRET_KEY")
    base = env.get("LANGFUSE_BASE_URL") or env.get("LANGFUSE_HOST")
    if not (public and secret and base):
        return None
    return LangfuseProject(public, secret, base)


def _mask(data: Any, planted: list[str]) -> Any:
    if isinstance(data, str):
        for value in planted:
            data = data.replace(value, "<PLANTED>")
        return data
    if isinstance(data, dict):
        return {k: _mask(v, planted) for k, v in data.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(data, list):
        return [_mask(v, planted) for v in data]  # pyright: ignore[reportUnknownVariableType]
    return data


def _planted(scenario: Scenario) -> list[str]:
    values = [
        *scenario.pii,
        scenario.customer.wa_id,
        *([scenario.customer.name] if scenario.customer.name else []),
    ]
    return sorted(set(values), key=len, reverse=True)


def dataset_name(suite: str) -> str:
    return f"frontdesk-eval-{suite}"


def export(doc: dict[str, Any], suite: Suite, project: LangfuseProject) -> ExportResult:
    """Create (or update) the suite's dataset and record this run as an experiment with scores."""
    client = Langfuse(
        public_key=project.public_key,
        secret_key=project.secret_key,
        base_url=project.base_url,
        tracer_provider=TracerProvider(),
        environment="eval",
    )
    name = dataset_name(suite.name)
    try:
        with contextlib.suppress(Exception):  # it may exist already; items are upserted below
            client.create_dataset(
                name=name, description=f"Frontdesk eval suite {suite.name}", metadata={"suite": suite.name}
            )
        results = {s["id"]: s for s in doc["scenarios"]}
        by_item: dict[str, dict[str, Any]] = {}
        items: list[Any] = []
        for scenario in suite.scenarios:
            if scenario.id not in results:
                continue
            planted = _planted(scenario)
            item = client.create_dataset_item(
                dataset_name=name,
                id=f"{name}-{scenario.id}",
                input=_mask(
                    {
                        "tenant": suite.tenant(scenario.tenant).slug,
                        "turns": [t.messages for t in scenario.turns],
                    },
                    planted,
                ),
                expected_output=_mask(
                    {
                        "turns": [t.expect.model_dump(exclude_defaults=True) for t in scenario.turns],
                        "conversation": scenario.expect.model_dump(exclude_defaults=True),
                    },
                    planted,
                ),
                metadata={"family": scenario.family, "required": scenario.required, "scenario": scenario.id},
            )
            items.append(item)
            by_item[item.id] = _mask(results[scenario.id], planted)

        def task(*, item: Any, **_: Any) -> dict[str, Any]:
            result = by_item[item.id]
            first = result["trials"][0] if result["trials"] else {"turns": []}
            return {"status": result["status"], "replies": [t["reply"] for t in first["turns"]]}

        def scores(*, input: Any, output: Any, metadata: Any = None, **_: Any) -> list[Evaluation]:
            result = by_item[f"{name}-{metadata['scenario']}"]
            k = str(result["n"])
            trials = [t for t in result["trials"] if t["status"] != "skipped"]
            failed = [c["name"] for t in trials for c in t["checks"] if not c["passed"]]
            evaluations = [
                Evaluation(
                    name="passed",
                    value=1.0 if result["status"] == "passed" else 0.0,
                    comment="; ".join(failed[:5]) or None,
                ),
                Evaluation(name="trials_passed", value=float(result["passes"])),
            ]
            if result["pass_hat"]:
                evaluations.append(Evaluation(name=f"pass^{k}", value=result["pass_hat"][k]))
            if trials:
                evaluations.append(
                    Evaluation(name="latency_s", value=sum(t["latency_s"] for t in trials) / len(trials))
                )
                evaluations.append(
                    Evaluation(name="cost_usd", value=sum(t["cost_usd"] for t in trials) / len(trials))
                )
            return evaluations

        def run_scores(**_: Any) -> list[Evaluation]:
            s = doc["summary"]
            return [Evaluation(name=f"run pass^{k}", value=v) for k, v in s["pass_hat_k"].items()] + [
                Evaluation(name="run required_failed", value=float(len(s["required_failed"])))
            ]

        run_name = f"{doc['suite']} {doc['provider']}:{doc['model']} k={doc['k']} {doc['started_at']}"
        result = client.run_experiment(
            name=f"frontdesk {doc['suite']}",
            run_name=run_name,
            data=items,
            task=task,
            evaluators=[scores],
            run_evaluators=[run_scores],
            max_concurrency=4,
            metadata={"provider": doc["provider"], "model": doc["model"], "k": str(doc["k"])},
        )
        client.flush()
        return ExportResult(name, run_name, len(items), result.experiment_url)
    finally:
        client.shutdown()
