"""Evals against a real tenant (``frontdesk eval run --tenant T``): its settings, its knowledge
base, its provider (or the wire simulator), in sandbox conversations.

Each trial opens a sandbox (``store.repo.conversations.open_sandbox``, as ``frontdesk chat``
does): a test contact and a test conversation that no worker, sweeper or sender picks up, so
nothing reaches a customer; the run erases its sandboxes at the end (results and traces stay). The turns run through the deployment's receptionist; its tracer is
wrapped to note each turn's trace id, and a trace's link comes from the tenant's Langfuse
project. A run's results go to ``eval_results`` (tenant-scoped, metadata only), and each run
is compared with the tenant's previous run of the same suite.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sqlalchemy import select

from agent.graphs.receptionist.graph import thread_id
from agent.llm.base import Provider
from agent.llm.factory import build_provider
from agent.llm.testing import SIM_MODELS, fast_retry, running_simulator, simulator_base_url
from agent.llm.types import ProviderName, ProviderSettings
from agent.loops import run_in_thread_loop
from agent.receptionist import ProviderFactory, Receptionist
from agent.tracing.base import Tracer, TurnInfo
from agent.tracing.langfuse_tracer import LangfuseTracer
from errors import NotFound, UserError
from evals.environment import Environment, RecordingProvider
from evals.scenarios import Scenario
from store.db import Database
from store.models import EvalResult
from store.privacy import erase_contact
from store.repo import conversations, tenants

TenantProvider = Literal["tenant", "simulator"]
METRICS = ("passed", "checks", "latency_s")
"""The rows a scenario writes: its pass rate over trials, the share of its checks that held,
its mean latency."""

_TRIAL: ContextVar[ProviderFactory | None] = ContextVar("eval_trial_provider", default=None)


class TraceRecorder:
    """A tracer that notes each turn's trace id (by turn id) and otherwise defers to ``inner``."""

    def __init__(self, inner: Tracer) -> None:
        self.inner = inner
        self.ids: dict[str, str] = {}

    @contextmanager
    def turn(self, info: TurnInfo) -> Generator[Any]:
        """The turn's trace, tagged ``eval`` so analysts can tell sandbox turns from customers'."""
        info = replace(info, tags=(*info.tags, "eval"), metadata={**info.metadata, "sandbox": "eval"})
        with self.inner.turn(info) as trace:
            if trace.trace_id:
                self.ids[info.turn_id] = trace.trace_id
            yield trace

    def flush(self) -> None:
        self.inner.flush()


@dataclass(frozen=True)
class TenantWiring:
    """What the composition root hands the evals: the database, the deployment's tracer, and
    a way to build its receptionist with a provider factory, a tracer, and whether the
    provider is the tenant's own (only then do its errors reach the tenant's ``last_error``)."""

    db: Database
    tracer: Tracer
    receptionist: Callable[[ProviderFactory, Tracer, bool], Receptionist]


def _dispatch(settings: ProviderSettings, key: str | None, fallback: str | None) -> Provider:
    factory = _TRIAL.get()
    if factory is None:  # pragma: no cover - a turn outside a trial
        raise RuntimeError("no eval trial is running")
    return factory(settings, key, fallback)


@dataclass
class TenantTarget:
    """A run against one tenant: one receptionist for every trial (each trial's provider is
    chosen per turn)."""

    db: Database
    tenant_id: int
    slug: str
    default_language: str
    model: str
    receptionist: Receptionist
    traces: TraceRecorder
    tracer: Tracer
    sandboxes: list[tuple[int, int]] = field(default_factory=list[tuple[int, int]])
    """(contact, conversation) of each trial's sandbox, erased by :meth:`close`."""

    @classmethod
    def open(cls, wiring: TenantWiring, slug: str, provider: TenantProvider = "tenant") -> TenantTarget:
        try:
            with wiring.db.admin_session() as session:
                tenant_id = tenants.get_by_slug(session, slug).id
        except NotFound:
            raise UserError(f"no tenant {slug!r}") from None
        traces = TraceRecorder(wiring.tracer)
        receptionist = wiring.receptionist(_dispatch, traces, provider == "tenant")
        runtime = receptionist.runtimes.get(tenant_id)
        return cls(
            db=wiring.db,
            tenant_id=tenant_id,
            slug=slug,
            default_language=runtime.profile.default_language,
            model=f"{runtime.provider.provider}:{runtime.provider.model}",
            receptionist=receptionist,
            traces=traces,
            tracer=wiring.tracer,
        )

    def close(self) -> int:
        """Erase the run's sandboxes (contacts, conversations, vault entries, checkpoint
        threads); the results and the traces stay. Returns how many were erased."""
        sandboxes, self.sandboxes = self.sandboxes, []
        for contact_id, _ in sandboxes:
            erase_contact(self.db, self.tenant_id, contact_id)
        threads = [thread_id(self.tenant_id, conversation_id) for _, conversation_id in sandboxes]
        run_in_thread_loop(self.receptionist.checkpoints.delete_threads(threads))
        return len(sandboxes)

    def trace_url(self, trace_id: str) -> str | None:
        """The trace's page in Langfuse, when the deployment traces to Langfuse."""
        if isinstance(self.tracer, LangfuseTracer):
            return self.tracer.trace_url(self.tenant_id, trace_id)
        return None


def _simulated(scenario: Scenario) -> ProviderName:
    return scenario.provider or "openai"


@contextmanager
def tenant_environment(
    target: TenantTarget, scenario: Scenario, provider: TenantProvider
) -> Generator[Environment]:
    """A sandbox conversation of the tenant, and the trial's provider: the tenant's own, or the
    simulator speaking the scenario's script (``extractive`` scenarios use no model)."""
    with ExitStack() as stack:
        simulator = None
        vendor: ProviderName | None = None
        if provider == "simulator":
            vendor = "extractive" if scenario.provider == "extractive" else _simulated(scenario)
            if vendor != "extractive":
                simulator = stack.enter_context(running_simulator(scenario.simulator))
        recorders: list[RecordingProvider] = []

        def factory(settings: ProviderSettings, key: str | None, fallback: str | None) -> Provider:
            if vendor is None:  # the tenant's own provider and key
                inner = build_provider(settings, key, fallback_api_key=fallback)
            elif simulator is None:
                inner = build_provider(ProviderSettings(provider="extractive"), None)
            else:
                simulated = ProviderSettings(
                    provider=vendor, model=SIM_MODELS[vendor], base_url=simulator_base_url(simulator, vendor)
                )
                inner = build_provider(simulated, "sim-key", retry=fast_retry(3))
            recorder = RecordingProvider(inner)
            recorders.append(recorder)
            return recorder

        with target.db.tenant_session(target.tenant_id) as session:
            sandbox = conversations.open_sandbox(
                session, target.db.keyring, target.tenant_id, scenario.customer.name
            )
            conversation_id = sandbox.id
            target.sandboxes.append((sandbox.contact_id, conversation_id))
        token = _TRIAL.set(factory)
        stack.callback(_TRIAL.reset, token)
        model = (
            target.model if vendor is None else ("extractive" if simulator is None else SIM_MODELS[vendor])
        )
        yield Environment(
            db=target.db,
            receptionist=target.receptionist,
            simulator=simulator,
            tenant_ids={target.slug: target.tenant_id},
            main_tenant=target.tenant_id,
            recorders=recorders,
            model=model,
            default_language=target.default_language,
            conversation_id=conversation_id,
            trace_of=target.traces.ids.get,
        )


# --- results in the store -------------------------------------------------------------------


def scenario_scores(scenario: dict[str, Any]) -> dict[str, float | None]:
    """A scenario's scores (``METRICS``) from its result in the results document."""
    trials = [t for t in scenario["trials"] if t["status"] != "skipped"]
    checks = [c for t in trials for c in t["checks"]]
    return {
        "passed": scenario["passes"] / scenario["n"] if scenario["n"] else None,
        "checks": sum(c["passed"] for c in checks) / len(checks) if checks else None,
        "latency_s": round(sum(t["latency_s"] for t in trials) / len(trials), 4) if trials else None,
    }


def first_trace(scenario: dict[str, Any]) -> tuple[str | None, str | None]:
    """The trace id and link of the scenario's first traced turn."""
    for trial in scenario["trials"]:
        for turn in trial["turns"]:
            if turn.get("trace_id"):
                return turn["trace_id"], turn.get("trace_url")
    return None, None


def link_traces(doc: dict[str, Any], target: TenantTarget) -> int:
    """Add each traced turn's Langfuse link to the document; returns how many turns are traced."""
    target.tracer.flush()
    urls: dict[str, str | None] = {}
    count = 0
    for scenario in doc["scenarios"]:
        for trial in scenario["trials"]:
            for turn in trial["turns"]:
                trace_id = turn.get("trace_id")
                if trace_id:
                    count += 1
                    if trace_id not in urls:
                        urls[trace_id] = target.trace_url(trace_id)
                    turn["trace_url"] = urls[trace_id]
    return count


def record_run(db: Database, tenant_id: int, doc: dict[str, Any]) -> int:
    """Write the run's results to ``eval_results``: one row per scenario and metric. Scenario
    ids, metric names, check names and trace ids only: never a reply or a customer's words."""
    rows: list[EvalResult] = []
    for scenario in doc["scenarios"]:
        if scenario["status"] == "skipped":
            continue
        trace_id, trace_url = first_trace(scenario)
        failing = sorted({c["name"] for t in scenario["trials"] for c in t["checks"] if not c["passed"]})
        details = {
            "suite": doc["suite"],
            "provider": doc["provider"],
            "model": doc["model"],
            "family": scenario["family"],
            "status": scenario["status"],
            "required": scenario["required"],
            "trace_url": trace_url,
            "failing_checks": failing[:20],
        }
        for metric, score in scenario_scores(scenario).items():
            rows.append(
                EvalResult(
                    tenant_id=tenant_id,
                    run_name=doc["run_id"],
                    scenario=scenario["id"],
                    metric=metric,
                    score=score,
                    passed=scenario["status"] == "passed" if metric == "passed" else None,
                    trace_id=trace_id,
                    details=details,
                )
            )
    with db.tenant_session(tenant_id) as session:
        session.add_all(rows)
    return len(rows)


@dataclass(frozen=True)
class PreviousRun:
    """The tenant's latest recorded run of a suite: each scenario's status and scores."""

    run_id: str
    created_at: str
    status: dict[str, str]
    scores: dict[str, dict[str, float | None]]


def previous_run(db: Database, tenant_id: int, suite: str) -> PreviousRun | None:
    """The tenant's most recent recorded run of ``suite``, or ``None``."""
    with db.tenant_session(tenant_id) as session:
        latest = session.execute(
            select(EvalResult.run_name, EvalResult.created_at, EvalResult.details)
            .where(EvalResult.tenant_id == tenant_id, EvalResult.metric == "passed")
            .order_by(EvalResult.created_at.desc(), EvalResult.id.desc())
            .limit(5000)
        ).all()
        run = next((r for r in latest if (r.details or {}).get("suite") == suite), None)
        if run is None:
            return None
        rows = session.scalars(
            select(EvalResult).where(EvalResult.tenant_id == tenant_id, EvalResult.run_name == run.run_name)
        ).all()
    status: dict[str, str] = {}
    scores: dict[str, dict[str, float | None]] = {}
    for row in rows:
        scores.setdefault(row.scenario, {})[row.metric] = row.score
        if row.metric == "passed":
            status[row.scenario] = str(
                (row.details or {}).get("status") or ("passed" if row.passed else "failed")
            )
    return PreviousRun(run.run_name, run.created_at.isoformat(timespec="seconds"), status, scores)


def compare(previous: PreviousRun | None, doc: dict[str, Any]) -> dict[str, Any]:
    """What changed since the previous run: regressions (passed → failed), fixes, new and gone
    scenarios, and every score that moved."""
    if previous is None:
        return {"previous_run": None}
    current = {s["id"]: s for s in doc["scenarios"] if s["status"] != "skipped"}
    changed: list[dict[str, Any]] = []
    deltas: list[dict[str, Any]] = []
    for scenario_id, scenario in current.items():
        before = previous.status.get(scenario_id)
        if before is not None and before != scenario["status"]:
            changed.append({"scenario": scenario_id, "before": before, "after": scenario["status"]})
        for metric, score in scenario_scores(scenario).items():
            old = previous.scores.get(scenario_id, {}).get(metric)
            if old is not None and score is not None and abs(score - old) > 1e-9:
                deltas.append(
                    {
                        "scenario": scenario_id,
                        "metric": metric,
                        "before": old,
                        "after": score,
                        "delta": score - old,
                    }
                )
    return {
        "previous_run": previous.run_id,
        "previous_at": previous.created_at,
        "changed": changed,
        "regressions": [c["scenario"] for c in changed if c["after"] == "failed"],
        "fixed": [c["scenario"] for c in changed if c["before"] == "failed" and c["after"] == "passed"],
        "new": sorted(set(current) - set(previous.status)),
        "gone": sorted(set(previous.status) - set(current)),
        "deltas": deltas,
    }
