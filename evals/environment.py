"""One trial's isolated embedded environment: database, checkpoints, tenants, model, trace receiver.

Everything lives in a temporary folder and is thrown away afterwards. The receptionist is the
one the workers run (``agent.receptionist.Receptionist``); only its provider factory differs:
it points the tenant's provider at the wire simulator (CI) or uses the operator's key held in
memory (never written to the temporary database), and it records every model call.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Generator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import knowledge
from agent.checkpoints import CheckpointStore
from agent.llm.base import Provider
from agent.llm.factory import build_provider
from agent.llm.retry import RetryPolicy
from agent.llm.simulator import Simulator
from agent.llm.testing import SIM_MODELS, fast_retry, running_simulator, simulator_base_url
from agent.llm.types import (
    CallSettings,
    Completion,
    ContextMessage,
    Message,
    MessagesAdapter,
    ProviderName,
    ProviderSettings,
    ToolResultMessage,
    ToolSpec,
)
from agent.receptionist import DEFAULT_MODELS, Receptionist
from agent.redaction.redactor import Redactor
from agent.redaction.sql_vault import SqlVault
from agent.tenant import TenantProfile
from agent.tracing.base import Tracer
from agent.tracing.capture import OtlpCapture, running_capture
from agent.tracing.langfuse_tracer import LangfuseProject, LangfuseTracer
from evals.keys import OperatorKey, ProviderChoice
from evals.scenarios import Scenario, Suite, TenantFixture
from store.crypto import Keyring
from store.db import Database, migrate
from store.repo import providers, tenants

KEY_PLACEHOLDER = "held-in-memory"  # what the temporary database stores instead of a real key

_TEMPLATE_LOCK = threading.Lock()
_template_db: Path | None = None


@dataclass
class ModelCall:
    """One model call as the provider received it (the redacted messages), and its answer."""

    messages: list[dict[str, Any]]
    tools: list[str]
    text: str = ""
    tool_calls: list[str] = field(default_factory=list[str])
    passages: list[str] = field(default_factory=list[str])
    """Knowledge the model saw in this call (context passages and tool results)."""


class RecordingProvider(Provider):
    """Wraps a provider and records what it was sent and what it answered."""

    name = "recording"

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.model = inner.model
        self.calls: list[ModelCall] = []

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        settings: CallSettings | None = None,
    ) -> Completion:
        passages: list[str] = []
        for message in messages:
            if isinstance(message, ContextMessage):
                passages += [p.text for p in message.passages]
            elif isinstance(message, ToolResultMessage):
                passages.append(message.content)
        call = ModelCall(
            messages=MessagesAdapter.dump_python(list(messages), mode="json"),
            tools=[t.name for t in tools],
            passages=passages,
        )
        self.calls.append(call)
        completion = await self.inner.complete(messages, tools, settings)
        call.text = completion.text
        call.tool_calls = [c.name for c in completion.tool_calls]
        return completion

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Environment:
    """A trial's running pieces, and what they recorded.

    In a scratch folder (``root``, ``capture``), or against a real tenant in a sandbox
    conversation (``frontdesk eval run --tenant``), where the trace goes wherever the tenant's
    tracing goes and only the provider requests are scanned here.
    """

    db: Database
    receptionist: Receptionist
    simulator: Simulator | None
    tenant_ids: dict[str, int]
    main_tenant: int
    recorders: list[RecordingProvider]
    model: str
    default_language: str
    conversation_id: int = 1
    root: Path | None = None
    tracer: Tracer | None = None
    capture: OtlpCapture | None = None
    trace_of: Callable[[str], str | None] = lambda _turn_id: None
    """A turn's trace id by turn id, when runs note them (tenant runs)."""

    @property
    def calls(self) -> list[ModelCall]:
        return [c for r in self.recorders for c in r.calls]

    def provider_texts(self) -> list[str]:
        """Every request that reached a model: the wire bodies (simulator) and the recorded messages."""
        texts = [r.body_text for r in self.simulator.requests] if self.simulator else []
        return texts + [MessagesAdapter.dump_json(_load(c.messages)).decode() for c in self.calls]

    def trace_text(self) -> str | None:
        """Everything the trace receiver got (flushes the tracer first); None without a receiver."""
        if self.capture is None or self.tracer is None:
            return None
        self.tracer.flush()
        return self.capture.all_text()

    def checkpoint_bytes(self) -> bytes | None:
        """The trial's checkpoint files; None when the checkpoints are a real tenant's store."""
        if self.root is None:
            return None
        return b"".join(p.read_bytes() for p in sorted(self.root.glob("checkpoints.db*")))


def _load(messages: list[dict[str, Any]]) -> list[Message]:
    return MessagesAdapter.validate_python(messages)


def _template() -> Path:
    """A migrated SQLite file, made once per process and copied for each trial."""
    global _template_db
    with _TEMPLATE_LOCK:
        if _template_db is None or not _template_db.exists():
            folder = Path(tempfile.mkdtemp(prefix="frontdesk-eval-template-"))
            db = Database(f"sqlite:///{folder}/template.db", Keyring.generate("eval"))
            migrate(db)
            with db.admin_engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            db.dispose()
            _template_db = folder / "template.db"
        return _template_db


@contextmanager
def scratch_database(prefix: str = "frontdesk-eval-") -> Generator[Database]:
    """A migrated SQLite database in a temporary folder (a copy of the template), removed after."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        shutil.copyfile(_template(), root / "frontdesk.db")
        db = Database(f"sqlite:///{root}/frontdesk.db", Keyring.generate("eval"))
        try:
            yield db
        finally:
            db.dispose()
    finally:
        shutil.rmtree(root, True)


def _add_tenant(db: Database, fixture: TenantFixture) -> int:
    with db.admin_session() as session:
        tenant_id = tenants.create(session, fixture.slug, fixture.name, settings=fixture.settings).id
    for document in fixture.documents:
        knowledge.ingest(db, tenant_id, document.name, document.text.encode())
    return tenant_id


def _vendor(scenario: Scenario, choice: ProviderChoice) -> ProviderName:
    if scenario.provider == "extractive":
        return "extractive"
    if choice == "simulator":
        return scenario.provider or "openai"
    return choice


@contextmanager
def environment(
    suite: Suite,
    scenario: Scenario,
    *,
    provider: ProviderChoice,
    key: OperatorKey | None,
    model: str | None = None,
) -> Generator[Environment]:
    """Set up the scenario's tenants and model in a fresh folder; tear everything down after."""
    with ExitStack() as stack:
        db = stack.enter_context(scratch_database(f"frontdesk-eval-{scenario.id[:20]}-"))
        root = Path(str(db.url.database)).parent
        vendor = _vendor(scenario, provider)
        simulator: Simulator | None = None
        if provider == "simulator" and vendor != "extractive":
            simulator = stack.enter_context(running_simulator(scenario.simulator))
        capture = stack.enter_context(running_capture())
        ids: dict[str, int] = {}
        for ref in [scenario.tenant, *scenario.other_tenants]:
            fixture = suite.tenant(ref)
            ids[fixture.slug] = _add_tenant(db, fixture)
            _configure_provider(db, ids[fixture.slug], vendor, simulator, model)
        recorders: list[RecordingProvider] = []
        retry: RetryPolicy | None = fast_retry(3) if simulator is not None else None

        def factory(settings: ProviderSettings, stored: str | None, fallback: str | None) -> Provider:
            real = key.reveal() if key is not None and simulator is None else None
            inner = build_provider(settings, real or stored, fallback_api_key=real or fallback, retry=retry)
            recorder = RecordingProvider(inner)
            recorders.append(recorder)
            return recorder

        redactor = Redactor(SqlVault(db))  # as production wires it by default: no spaCy NER
        tracer = LangfuseTracer(
            global_project=LangfuseProject(f"pk-eval-{uuid.uuid4().hex[:12]}", "sk-eval", capture.base_url),
            environment="eval",
        )
        stack.callback(tracer.shutdown)
        receptionist = Receptionist(
            db,
            redactor=redactor,
            checkpoints=CheckpointStore(f"sqlite:///{root}/checkpoints.db"),
            tracer=tracer,
            provider_factory=factory,
        )
        fixture = suite.tenant(scenario.tenant)
        used_model = "extractive" if vendor == "extractive" else _model(vendor, simulator, model)
        yield Environment(
            db=db,
            receptionist=receptionist,
            simulator=simulator,
            tenant_ids=ids,
            main_tenant=ids[fixture.slug],
            recorders=recorders,
            model=used_model,
            default_language=TenantProfile.from_settings(
                fixture.name or fixture.slug, fixture.settings
            ).default_language,
            root=root,
            tracer=tracer,
            capture=capture,
        )


def _model(vendor: ProviderName, simulator: Simulator | None, model: str | None) -> str:
    if simulator is not None:
        return SIM_MODELS[vendor]
    return model or DEFAULT_MODELS[vendor]


def _configure_provider(
    db: Database, tenant_id: int, vendor: ProviderName, simulator: Simulator | None, model: str | None
) -> None:
    with db.admin_session() as session:
        if vendor == "extractive":
            providers.set_provider(session, db.keyring, tenant_id, "extractive")
            return
        providers.set_provider(
            session,
            db.keyring,
            tenant_id,
            vendor,
            model=_model(vendor, simulator, model),
            base_url=simulator_base_url(simulator, vendor) if simulator is not None else None,
            api_key=f"sim-key-{tenant_id}" if simulator is not None else KEY_PLACEHOLDER,
            trusted=True,  # the operator's own simulator on this machine
        )
