"""Langfuse tracing: a global project, and tenants that bring their own project.

Every project gets its own Langfuse client with its *own* OpenTelemetry TracerProvider, so a
span started for tenant A can only ever reach A's exporter: there is no shared processor
that could route it elsewhere. Only Langfuse's own spans are exported.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langfuse import Langfuse, propagate_attributes
from langfuse.span_filter import is_langfuse_span
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from agent.tracing.base import NoopTurnTrace, Observation, ObservationType, TurnInfo

TRACE_NAME = "receptionist-turn"

_SCRUB_PATTERNS = [
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail
    re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"),  # IBAN
    re.compile(r"(?<![\w<])\+?\d[\d\s().-]{6,}\d(?![\w>])"),  # phones, cards, ids: 8+ digits
]


def scrub_text(text: str) -> str:
    """Mask what looks like an e-mail, an IBAN or a long number (the SDK-side safety net)."""
    for pattern in _SCRUB_PATTERNS:
        text = pattern.sub("<MASKED>", text)
    return text


def scrub(data: Any) -> Any:
    """Apply :func:`scrub_text` to every string inside ``data``."""
    if isinstance(data, str):
        return scrub_text(data)
    if isinstance(data, dict):
        return {k: scrub(v) for k, v in data.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(data, list | tuple):
        return [scrub(v) for v in data]  # pyright: ignore[reportUnknownVariableType]
    return data


@dataclass(frozen=True)
class LangfuseProject:
    """Where one project's traces go. The secret key prints as ``***``."""

    public_key: str
    secret_key: str
    base_url: str

    def __repr__(self) -> str:
        return f"LangfuseProject(public_key={self.public_key!r}, base_url={self.base_url!r}, secret_key=***)"


class _LangfuseObservation:
    def __init__(self, span: Any) -> None:
        self._span = span

    def update(self, *, output: Any = None, metadata: dict[str, Any] | None = None) -> None:
        self._span.update(output=output, metadata=metadata)


class LangfuseTurnTrace:
    """One turn under a root ``agent`` observation."""

    def __init__(self, root: Any) -> None:
        self._root = root

    @property
    def trace_id(self) -> str | None:
        return str(self._root.trace_id)

    @contextmanager
    def span(
        self, name: str, *, as_type: ObservationType = "span", input: Any = None
    ) -> Generator[Observation]:
        child = self._root.start_observation(name=name, as_type=as_type, input=input)
        try:
            yield _LangfuseObservation(child)
        finally:
            child.end()

    def generation(
        self,
        name: str,
        *,
        model: str,
        input: Any,
        output: Any,
        usage: dict[str, int],
        cost_usd: float | None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        generation = self._root.start_observation(
            name=name,
            as_type="generation",
            model=model,
            input=input,
            output=output,
            usage_details=usage,
            cost_details={"total": cost_usd} if cost_usd is not None else None,
            metadata=metadata,
        )
        generation.end()

    def finish(self, *, output: Any = None, metadata: dict[str, Any] | None = None) -> None:
        self._root.update(output=output, metadata=metadata)


class LangfuseTracer:
    """Routes each tenant's turns to its own project, or to the global one."""

    def __init__(
        self,
        *,
        global_project: LangfuseProject | None,
        tenant_project: Callable[[int], LangfuseProject | None] = lambda _tenant_id: None,
        mask: Callable[[Any], Any] = scrub,
        environment: str | None = None,
        release: str | None = None,
        max_clients: int = 64,
    ) -> None:
        self._global = global_project
        self._tenant_project = tenant_project
        self._mask = mask
        self._environment = environment
        self._release = release
        self._max_clients = max_clients
        self._clients: OrderedDict[tuple[str, str], Langfuse] = OrderedDict()
        self._lock = threading.Lock()

    def _client(self, project: LangfuseProject) -> Langfuse:
        key = (project.public_key, project.base_url)
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
            attributes = {"langfuse.environment": self._environment, "langfuse.release": self._release}
            provider = TracerProvider(resource=Resource.create({k: v for k, v in attributes.items() if v}))
            mask = self._mask
            client = Langfuse(
                public_key=project.public_key,
                secret_key=project.secret_key,
                base_url=project.base_url,
                tracer_provider=provider,
                should_export_span=is_langfuse_span,
                mask=lambda *, data, **_: mask(data),
                environment=self._environment,
                release=self._release,
            )
            self._clients[key] = client
            while len(self._clients) > self._max_clients:
                _, evicted = self._clients.popitem(last=False)
                evicted.shutdown()
            return client

    def project_for(self, tenant_id: int) -> LangfuseProject | None:
        """The tenant's own project if it has one, else the global project (or none)."""
        return self._tenant_project(tenant_id) or self._global

    @contextmanager
    def turn(self, info: TurnInfo) -> Generator[LangfuseTurnTrace | NoopTurnTrace]:
        project = self.project_for(info.tenant_id)
        if project is None:
            yield NoopTurnTrace()
            return
        client = self._client(project)
        metadata = {
            **{k: str(v) for k, v in info.metadata.items()},
            "tenant_id": str(info.tenant_id),
            "tenant": info.tenant_slug,
            "turn_id": info.turn_id,
        }
        with (
            client.start_as_current_observation(name=TRACE_NAME, as_type="agent", input=info.input) as root,
            propagate_attributes(
                user_id=info.user_hash,
                session_id=f"{info.tenant_slug}:{info.conversation_id}",
                tags=[f"tenant:{info.tenant_slug}", *info.tags],
                metadata=metadata,
                trace_name=TRACE_NAME,
            ),
        ):
            yield LangfuseTurnTrace(root)

    def trace_url(self, tenant_id: int, trace_id: str) -> str | None:
        """The trace's page in the Langfuse UI of the tenant's project (``{host}/project/{id}/
        traces/{trace_id}``; the project id is asked of Langfuse once per client), or ``None``."""
        project = self.project_for(tenant_id)
        if project is None:
            return None
        try:
            return self._client(project).get_trace_url(trace_id=trace_id)
        except Exception:  # Langfuse unreachable: the id is still recorded
            return None

    def flush(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
        for client in clients:
            client.flush()

    def shutdown(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.shutdown()
