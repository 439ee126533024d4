"""Run a suite: each scenario k times, each trial in a fresh environment, through the workers' graph.

Trials run concurrently on threads; each one plays the customer's turns through
``Receptionist.run``, then scores the outcome (see ``evals.scorers``). The result is a plain
JSON-ready structure that the report and the Langfuse export read.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from agent.llm.factory import build_provider
from agent.llm.types import ProviderSettings
from agent.receptionist import TurnRequest
from agent.tenant_runtime import DEFAULT_MODELS
from evals.environment import Environment, environment
from evals.judge import judge, next_customer_message
from evals.keys import REAL_PROVIDERS, OperatorKey, ProviderChoice
from evals.passk import curve, pass_hat_k
from evals.scenarios import FAMILIES, Scenario, Suite
from evals.scorers import Check, TurnRecord, check_canaries, check_pii, check_turns
from evals.tenant import TenantTarget, tenant_environment
from evals.window import check_window

Status = Literal["passed", "failed", "error", "skipped"]
Progress = Callable[[str, "TrialResult"], None]


@dataclass(frozen=True)
class RunOptions:
    """How to run a suite; the key is only in memory and prints as ``***``."""

    provider: ProviderChoice | Literal["tenant"] = "simulator"
    """``tenant``: a tenant's own provider (only with ``target``)."""
    k: int = 1
    concurrency: int = 2
    key: OperatorKey | None = None
    model: str | None = None
    judge: bool = False
    target: TenantTarget | None = None
    """Run against this real tenant (its settings, knowledge and provider) in sandboxes."""


@dataclass
class TrialResult:
    """One run of one scenario."""

    trial: int
    status: Status
    checks: list[Check] = field(default_factory=list[Check])
    turns: list[TurnRecord] = field(default_factory=list[TurnRecord])
    latency_s: float = 0.0
    """Time spent in the receptionist's turns."""
    setup_s: float = 0.0
    cost_usd: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list[str])

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial,
            "status": self.status,
            "latency_s": round(self.latency_s, 4),
            "setup_s": round(self.setup_s, 4),
            "cost_usd": self.cost_usd,
            "error": self.error,
            "notes": self.notes,
            "checks": [c.to_dict() for c in self.checks],
            "turns": [t.to_dict() for t in self.turns],
        }


def _redact_key(text: str, key: OperatorKey | None) -> str:
    return text.replace(key.reveal(), "***") if key is not None and key.reveal() else text


# --- one trial -----------------------------------------------------------------------------


def _turn(
    env: Environment, scenario: Scenario, trial: int, index: int, texts: list[str], human: list[str]
) -> TurnRecord:
    mark = len(env.calls)
    turn_id = f"{scenario.id}-{trial}-{index}"
    if env.conversation_id != 1:  # a sandbox of a real tenant: turn ids unique in its store
        turn_id = f"eval-{env.conversation_id}-{turn_id}"
    request = TurnRequest(
        env.main_tenant,
        env.conversation_id,
        turn_id,
        texts,
        customer_id=scenario.customer.wa_id,
        profile_name=scenario.customer.name,
        human_messages=tuple(human),
    )
    started = time.perf_counter()
    out = env.receptionist.run(request)
    latency = time.perf_counter() - started
    calls = env.calls[mark:]
    return TurnRecord(
        customer=texts,
        reply=out.reply or "",
        handoff=out.handoff,
        handoff_reason=out.handoff_reason,
        citations=list(out.citations),
        blocked=list(out.blocked),
        language=out.language,
        tools=[name for call in calls for name in call.tool_calls],
        model_calls=len(calls),
        latency_s=latency,
        cost_usd=out.cost_usd,
        input_tokens=out.input_tokens,
        output_tokens=out.output_tokens,
        trace_id=env.trace_of(turn_id),
    )


def _simulated_turns(
    env: Environment, scenario: Scenario, trial: int, options: RunOptions
) -> list[TurnRecord]:
    spec = scenario.user_simulator
    assert spec is not None and options.key is not None and options.provider in REAL_PROVIDERS
    settings = ProviderSettings.model_validate(
        {"provider": options.provider, "model": options.model or DEFAULT_MODELS[options.provider]}
    )
    records: list[TurnRecord] = []
    message = spec.first_message
    for index in range(spec.max_turns):
        if message is None:
            provider = build_provider(settings, options.key.reveal())
            transcript = [(" ".join(r.customer), r.reply) for r in records]
            message = asyncio.run(_close_after(provider, next_customer_message(provider, spec, transcript)))
        if message is None:
            break
        record = _turn(env, scenario, trial, index, [message], [])
        records.append(record)
        if record.handoff:
            break
        message = None
    return records


async def _close_after(provider: Any, work: Any) -> Any:
    try:
        return await work
    finally:
        await provider.aclose()


def _score(
    env: Environment, suite: Suite, scenario: Scenario, turns: list[TurnRecord], options: RunOptions
) -> tuple[list[Check], list[str]]:
    checks: list[Check] = []
    notes: list[str] = []
    if scenario.user_simulator is None:
        for index, (turn, record) in enumerate(zip(scenario.turns, turns, strict=True), 1):
            checks += check_turns(turn.expect, [record], f"turn {index}")
    checks += check_turns(scenario.expect, turns, "conversation")
    requests = "\n".join(env.provider_texts())
    trace = env.trace_text()
    stored = env.checkpoint_bytes()
    planted = [
        *scenario.pii,
        scenario.customer.wa_id,
        *([scenario.customer.name] if scenario.customer.name else []),
    ]
    surfaces = {"provider requests": requests}
    if trace is not None:
        surfaces["trace"] = trace
    if stored is not None:
        surfaces["checkpoints"] = stored.decode("utf-8", errors="replace")
    else:
        notes.append("the tenant's own trace and checkpoints: only provider requests scanned here")
    checks += check_pii(planted, surfaces)
    if scenario.canaries:
        replies = "\n".join(t.reply for t in turns)
        seen = {"replies": replies, "provider requests": requests, **({"trace": trace} if trace else {})}
        checks += check_canaries(scenario.canaries, seen)
    if scenario.window is not None:
        last = turns[-1] if turns else None
        checks += check_window(scenario.window, last, env.default_language, scenario.customer.wa_id)
    if scenario.judge and options.judge:
        drafts = [c for c in env.calls if c.text]
        if options.provider in REAL_PROVIDERS and options.key is not None and drafts:
            settings = ProviderSettings.model_validate(
                {"provider": options.provider, "model": options.model or DEFAULT_MODELS[options.provider]}
            )
            checks.append(
                judge(build_provider(settings, options.key.reveal()), drafts[-1].text, drafts[-1].passages)
            )
        else:
            notes.append("judge skipped: needs a real provider's key and a model reply")
    return checks, notes


def _open(suite: Suite, scenario: Scenario, options: RunOptions) -> AbstractContextManager[Environment]:
    """The trial's environment: a scratch folder, or a sandbox of the target tenant."""
    if options.target is not None:
        provider = "simulator" if options.provider == "simulator" else "tenant"
        return tenant_environment(options.target, scenario, provider)
    if options.provider == "tenant":
        raise ValueError("the tenant's own provider needs a tenant")
    return environment(suite, scenario, provider=options.provider, key=options.key, model=options.model)


def run_trial(suite: Suite, scenario: Scenario, trial: int, options: RunOptions) -> TrialResult:
    """Set up a fresh environment, play the scenario, score it."""
    if not scenario.turns and options.provider not in REAL_PROVIDERS:
        return TrialResult(trial, "skipped", notes=["simulated user needs a real provider"])
    if options.target is not None and scenario.other_tenants:
        return TrialResult(
            trial, "skipped", notes=["needs the suite's other tenants: not against a real tenant"]
        )
    started = time.perf_counter()
    try:
        with _open(suite, scenario, options) as env:
            setup = time.perf_counter() - started
            notes: list[str] = []
            if scenario.user_simulator is not None and options.provider in REAL_PROVIDERS:
                turns = _simulated_turns(env, scenario, trial, options)
            else:
                if scenario.user_simulator is not None:
                    notes.append("simulated user skipped on the simulator: scripted turns used")
                turns = [
                    _turn(env, scenario, trial, i, t.messages, t.human) for i, t in enumerate(scenario.turns)
                ]
            checks, more = _score(env, suite, scenario, turns, options)
    except Exception as exc:
        detail = _redact_key(f"{type(exc).__name__}: {exc}", options.key)[:500]
        return TrialResult(trial, "error", error=detail, setup_s=time.perf_counter() - started)
    status: Status = "passed" if all(c.passed for c in checks) else "failed"
    return TrialResult(
        trial,
        status,
        checks=checks,
        turns=turns,
        latency_s=sum(t.latency_s for t in turns),
        setup_s=setup,
        cost_usd=sum(t.cost_usd for t in turns),
        notes=notes + more,
    )


# --- a suite -------------------------------------------------------------------------------


def run_suite(suite: Suite, options: RunOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Run every scenario ``options.k`` times; returns the results document (see ``summarize``)."""
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    trials: dict[str, list[TrialResult]] = {s.id: [] for s in suite.scenarios}
    jobs = [(s, t) for t in range(1, options.k + 1) for s in suite.scenarios]
    with ThreadPoolExecutor(max_workers=max(1, options.concurrency), thread_name_prefix="eval") as pool:
        futures = {pool.submit(run_trial, suite, s, t, options): s for s, t in jobs}
        for future in as_completed(futures):
            scenario = futures[future]
            result = future.result()
            trials[scenario.id].append(result)
            if progress is not None:
                progress(scenario.id, result)
    scenarios = [
        scenario_result(s, sorted(trials[s.id], key=lambda r: r.trial), options.k) for s in suite.scenarios
    ]
    if options.target is not None and options.provider == "tenant":
        model = options.target.model
    elif options.provider in REAL_PROVIDERS:
        model = options.model or DEFAULT_MODELS[options.provider]
    else:
        model = "simulator"
    return summarize(
        suite=suite.name,
        provider=options.provider,
        model=model,
        k=options.k,
        started_at=started_at.isoformat(timespec="seconds"),
        duration_s=time.perf_counter() - clock,
        scenarios=scenarios,
    )


def scenario_result(scenario: Scenario, trials: list[TrialResult], k: int) -> dict[str, Any]:
    """One scenario's trials and its pass^1..pass^k."""
    scored = [t for t in trials if t.status != "skipped"]
    n, c = len(scored), sum(t.status == "passed" for t in scored)
    if n == 0:
        status: Status = "skipped"
    else:
        status = "passed" if c == n else "failed"
    return {
        "id": scenario.id,
        "family": scenario.family,
        "description": scenario.description,
        "required": scenario.required,
        "known_issue": scenario.known_issue,
        "status": status,
        "n": n,
        "passes": c,
        "pass_hat": {str(i): pass_hat_k(n, c, i) for i in range(1, n + 1)} if n else {},
        "trials": [t.to_dict() for t in trials],
    }


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def summarize(
    *,
    suite: str,
    provider: str,
    model: str,
    k: int,
    started_at: str,
    duration_s: float,
    scenarios: list[dict[str, Any]],
) -> dict[str, Any]:
    """The results document: run metadata, a summary per family, and every scenario's trials."""
    families: dict[str, Any] = {}
    for family in FAMILIES:
        members = [s for s in scenarios if s["family"] == family]
        if not members:
            continue
        families[family] = _aggregate(members, k)
    trials = [t for s in scenarios for t in s["trials"] if t["status"] != "skipped"]
    latencies = [t["latency_s"] for t in trials]
    summary = _aggregate(scenarios, k) | {
        "required_failed": [s["id"] for s in scenarios if s["required"] and s["status"] == "failed"],
        "errors": sum(t["status"] == "error" for t in trials),
        "cost_usd": sum(t["cost_usd"] for t in trials),
        "latency_p50_s": _quantile(latencies, 0.5),
        "latency_p95_s": _quantile(latencies, 0.95),
    }
    return {
        "suite": suite,
        "provider": provider,
        "model": model,
        "k": k,
        "started_at": started_at,
        "duration_s": round(duration_s, 3),
        "summary": summary,
        "families": families,
        "scenarios": scenarios,
    }


def _aggregate(members: list[dict[str, Any]], k: int) -> dict[str, Any]:
    scored = [s for s in members if s["status"] != "skipped"]
    passed = sum(s["status"] == "passed" for s in scored)
    trials = [t for s in scored for t in s["trials"] if t["status"] != "skipped"]
    return {
        "scenarios": len(members),
        "passed": passed,
        "failed": len(scored) - passed,
        "skipped": len(members) - len(scored),
        "pass_rate": passed / len(scored) if scored else None,
        "trial_pass_rate": sum(t["status"] == "passed" for t in trials) / len(trials) if trials else None,
        "pass_hat_k": {str(i): v for i, v in curve([(s["n"], s["passes"]) for s in scored], k).items()},
    }
