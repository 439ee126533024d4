"""Runs one receptionist turn for a tenant's conversation: the entry point workers and the CLI use.

It loads the tenant's settings, provider and key (decrypted just for the call), binds the
tools and the knowledge search to that tenant, opens the turn's trace, and runs the graph
on the conversation's checkpoint thread. A thread paused for a human is first resumed with
what the human did, once the conversation has been handed back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from langgraph.types import Command

from agent.checkpoints import CheckpointStore, reuse_next_read
from agent.graphs.receptionist.context import Context, TurnOutput
from agent.graphs.receptionist.graph import build_graph, thread_id
from agent.llm.base import Provider, ProviderEvent
from agent.llm.clients import DEFAULT_CLIENTS
from agent.llm.factory import build_provider
from agent.llm.hosts import HostPolicy
from agent.llm.types import ContextPassage, ProviderSettings
from agent.loops import run_in_thread_loop
from agent.redaction.redactor import RedactionContext, Redactor
from agent.redaction.rules import compile_rules
from agent.redaction.turn_vault import TurnVault
from agent.redaction.vault import ConversationKey, VaultItem
from agent.stages import stage
from agent.tenant import TenantProfile
from agent.tenant_runtime import DEFAULT_MODELS as DEFAULT_MODELS  # re-exported (evals)
from agent.tenant_runtime import TenantRuntime, TenantRuntimes
from agent.tools.base import ToolContext
from agent.tracing.base import NoopTracer, Tracer, TurnInfo
from errors import RetryLater, UserError
from knowledge import search as knowledge_search
from knowledge.injection import looks_like_injection
from knowledge.search import KnowledgeState
from store.db import Database
from store.repo import providers
from store.repo.providers import ProviderConfig

AlertSink = Callable[[str, dict[str, Any]], None]
ProviderFactory = Callable[[ProviderSettings, str | None, str | None], Provider]
"""Builds a turn's provider from the tenant's settings, key and fallback key (evals, tests)."""


@dataclass(frozen=True)
class TurnRequest:
    """The customer's new messages of one conversation (a burst is several)."""

    tenant_id: int
    conversation_id: int
    turn_id: str
    texts: Sequence[str]
    customer_id: str | None = None
    """WhatsApp id (or business-scoped id): hashed before it reaches a trace."""
    profile_name: str | None = None
    known_names: Sequence[str] = ()
    human_messages: Sequence[str] = field(default_factory=tuple[str, ...])
    """What human agents wrote since the handoff, to resume a paused thread with."""
    settings_version: int | None = None
    """The tenant's settings version as the caller just read it (None: the runtime checks)."""
    vault_items: Sequence[VaultItem] | None = None
    """The conversation's entries in the store's vault (``sql_vault.items_in``) as the caller
    just read them for this turn (None: the turn reads them)."""
    knowledge_state: KnowledgeState | None = None
    """The tenant's knowledge state as the caller just read it for this turn (None: each
    search reads it)."""

    def __repr__(self) -> str:
        return (
            f"TurnRequest(tenant_id={self.tenant_id}, conversation_id={self.conversation_id}, "
            f"turn_id={self.turn_id!r}, texts=<{len(self.texts)}>)"
        )


class Receptionist:
    """Builds each tenant's run from the store; share one per process."""

    def __init__(
        self,
        db: Database,
        *,
        redactor: Redactor,
        checkpoints: CheckpointStore,
        tracer: Tracer | None = None,
        provider_factory: ProviderFactory | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        alert: AlertSink = lambda _kind, _detail: None,
        runtimes: TenantRuntimes | None = None,
        hosts: HostPolicy | None = None,
        note_provider_errors: bool = True,
    ) -> None:
        self.db = db
        self.note_provider_errors = note_provider_errors
        """False when the provider is not the tenant's own (evals on the simulator): its
        outcomes say nothing about the tenant's key and must not set or clear ``last_error``."""
        self.hosts = hosts or HostPolicy()
        self.redactor = redactor
        self.checkpoints = checkpoints
        self.tracer: Tracer = tracer or NoopTracer()
        self._provider_factory = provider_factory
        self._now = now
        self._alert = alert
        self.runtimes = runtimes or TenantRuntimes(db)

    def _on_provider_event(self, event: ProviderEvent) -> None:
        if event.kind in ("invalid_key", "gave_up"):
            self._alert(f"provider_{event.kind}", {"provider": event.provider, "status": event.status})

    # --- what a turn needs from the store ------------------------------------------------

    def provider(self, runtime: TenantRuntime) -> Provider:
        """The tenant's provider with its key, decrypted only for this run.

        Its SDK clients are the tenant's own (cached per event loop by tenant and key
        fingerprint, closed once the tenant's key changes).
        """
        configs = runtime.configs(self.db.keyring)
        for config in configs:
            self._check_endpoint(runtime.tenant_id, config)
        key, fallback_key = (c.api_key.reveal() if c and c.api_key else None for c in configs)
        if self._provider_factory is not None:
            return self._provider_factory(runtime.provider, key, fallback_key)
        return build_provider(
            self._pinned(runtime.provider, configs),
            key,
            fallback_api_key=fallback_key,
            events=self._on_provider_event,
            clients=DEFAULT_CLIENTS.for_owner(f"tenant:{runtime.tenant_id}"),
        )

    def _pinned(
        self, settings: ProviderSettings, configs: tuple[ProviderConfig | None, ProviderConfig | None]
    ) -> ProviderSettings:
        """A base URL the tenant chose is checked again at connect time, and the connection goes
        to the checked address (no second DNS answer); the operator's own URLs are not pinned."""

        def pin(one: ProviderSettings, config: ProviderConfig | None) -> ProviderSettings:
            if config is None or config.base_url is None or config.base_url_trusted:
                return one
            return one.model_copy(update={"pinned_hosts": self.hosts.allowed})

        primary, fallback = configs
        pinned = pin(settings, primary)
        if pinned.fallback is not None:
            pinned = pinned.model_copy(update={"fallback": pin(pinned.fallback, fallback)})
        return pinned

    def _check_endpoint(self, tenant_id: int, config: ProviderConfig | None) -> None:
        """Refuse a base URL the host policy does not allow (checked again at every turn)."""
        if config is None:
            return
        if config.key_withheld:
            self._alert("provider_key_withheld", {"tenant_id": tenant_id, "provider": config.provider})
        if config.base_url is None or config.base_url_trusted:
            return
        try:
            self.hosts.check(config.base_url)
        except UserError:
            self._alert("provider_host_refused", {"tenant_id": tenant_id, "provider": config.provider})
            raise

    def _note_provider(self, runtime: TenantRuntime, output: TurnOutput) -> None:
        """Keep the operators' view current: the provider's last error, cleared once it answers."""
        if not self.note_provider_errors:
            return
        row = runtime.primary_row
        before = row.last_error if row is not None else None
        if output.error:
            error = output.error
        elif before and output.model_calls:
            error = None
        else:
            return
        with self.db.tenant_session(runtime.tenant_id) as session:
            providers.note_error(session, runtime.tenant_id, error)
        if row is not None:
            row.last_error = error  # the cached copy too: no write on every later good turn

    def search_for(
        self, tenant_id: int, state: KnowledgeState | None = None
    ) -> Callable[[str, int], list[ContextPassage]]:
        """Knowledge search bound to one tenant: tools cannot name another. ``state``: the
        tenant's knowledge state read for this turn (``TurnRequest.knowledge_state``).

        A passage that tries to instruct the assistant is kept out of the model's context and
        reported to the operator (``kb_injection``).
        """

        def search(query: str, k: int) -> list[ContextPassage]:
            passages: list[ContextPassage] = []
            with stage("search"):
                hits = knowledge_search(self.db, tenant_id, query, k, state=state)
            for hit in hits:
                if _passage_injects(f"{hit.heading}\n{hit.text}"):
                    self._alert("kb_injection", {"tenant_id": tenant_id, "document": hit.source})
                    continue
                passages.append(
                    ContextPassage(text=hit.text, source=hit.source, heading=hit.heading, score=hit.score)
                )
            return passages

        return search

    def user_hash(self, customer_id: str | None) -> str:
        """A keyed hash of the customer's id for traces: stable, not reversible."""
        return self.db.keyring.blind_index(f"trace-user:{customer_id or '-'}")[:32]

    # --- running -------------------------------------------------------------------------

    def run(self, request: TurnRequest) -> TurnOutput:
        """Run a turn from synchronous code (a Celery thread, the CLI)."""
        return run_in_thread_loop(self.arun(request))

    async def arun(self, request: TurnRequest) -> TurnOutput:
        """Run one turn through the graph and return what to send."""
        with stage("tenant settings"):
            runtime = self.runtimes.get(request.tenant_id, version=request.settings_version)
            provider = self.provider(runtime)
        slug, profile = runtime.slug, runtime.profile
        output = TurnOutput()
        names = tuple(n for n in (request.profile_name, *request.known_names) if n)
        conversation = ConversationKey(request.tenant_id, request.conversation_id)
        vault = self.redactor.vault
        reads = getattr(vault, "reads", None)  # SqlVault's (or a wrapper's): what items_in read
        seeded = request.vault_items if reads is not None and reads(self.db) else None
        redactor = self.redactor.with_vault(TurnVault(vault, conversation, seeded))
        info = TurnInfo(
            tenant_id=request.tenant_id,
            tenant_slug=slug,
            conversation_id=request.conversation_id,
            turn_id=request.turn_id,
            user_hash=self.user_hash(request.customer_id),
        )
        config: Any = {"configurable": {"thread_id": thread_id(request.tenant_id, request.conversation_id)}}
        try:
            with self.tracer.turn(info) as trace:
                context = Context(
                    tenant_id=request.tenant_id,
                    tenant_slug=slug,
                    conversation_id=request.conversation_id,
                    profile=profile,
                    incoming=list(request.texts),
                    known_names=names,
                    business_words=runtime.business_words,
                    redactor=redactor,
                    provider=provider,
                    tools=ToolContext(
                        request.tenant_id,
                        profile,
                        self.search_for(request.tenant_id, request.knowledge_state),
                        self._now,
                    ),
                    trace=trace,
                    output=output,
                    alert=self._alert,
                )
                async with self.checkpoints.saver(request.tenant_id) as saver:
                    graph = build_graph(saver)
                    reuse_next_read(saver)  # the run reads what the look below read
                    with stage("checkpoint read"):
                        snapshot = await graph.aget_state(config)
                    if snapshot.interrupts:
                        handback = {"messages": _redact_all(redactor, conversation, names, request, profile)}
                        await graph.ainvoke(
                            Command(resume=handback), config, context=context, durability="exit"
                        )
                    await graph.ainvoke(
                        {"turn_id": request.turn_id}, config, context=context, durability="exit"
                    )
                with stage("tracing"):
                    trace.finish(
                        output={
                            "handoff": output.handoff,
                            "blocked": output.blocked,
                            "language": output.language,
                        },
                        metadata={"cost_usd": output.cost_usd},
                    )
        except RetryLater:
            self._note_provider(runtime, output)
            raise
        finally:
            with stage("tracing"):
                self.tracer.flush()
            with stage("model call and SDK"):
                await provider.aclose()
        self._note_provider(runtime, output)
        return output

    async def is_paused(self, tenant_id: int, conversation_id: int) -> bool:
        """Whether the conversation's thread waits for a human's handback."""
        config: Any = {"configurable": {"thread_id": thread_id(tenant_id, conversation_id)}}
        async with self.checkpoints.saver(tenant_id) as saver:
            return bool((await build_graph(saver).aget_state(config)).interrupts)


_passage_injects = lru_cache(maxsize=1024)(looks_like_injection)
"""The same knowledge passages come back turn after turn; keyed by the passage's text itself."""


def _redact_all(
    redactor: Redactor,
    conversation: ConversationKey,
    names: tuple[str, ...],
    request: TurnRequest,
    profile: TenantProfile,
) -> list[str]:
    """What the human agents wrote, redacted for the thread's state (with the tenant's rules)."""
    context = RedactionContext(
        conversation=conversation, known_names=names, rules=compile_rules(profile.redaction)
    )
    return [redactor.redact(text, context).text for text in request.human_messages]
