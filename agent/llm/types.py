"""Provider-neutral, JSON-serializable types: messages, tools, usage, settings, completions."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter

ProviderName = Literal["openai", "anthropic", "gemini", "openai-compatible", "extractive"]
StopReason = Literal["end_turn", "tool_use", "max_tokens", "content_filter", "other"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolCall(_Model):
    """A model asking for one tool to run."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict[str, Any])


class ContextPassage(_Model):
    """A retrieved knowledge passage, as given to a model."""

    text: str
    source: str = ""
    """Document name or URL it came from."""
    heading: str = ""
    """Section heading inside the document."""
    score: float = 0.0
    """Retrieval score (higher is better); informative only."""


class SystemMessage(_Model):
    """Instructions for the model."""

    kind: Literal["system"] = "system"
    text: str


class UserMessage(_Model):
    """The customer's (already redacted) turn."""

    kind: Literal["user"] = "user"
    text: str


class AssistantMessage(_Model):
    """What the model said and the tools it called."""

    kind: Literal["assistant"] = "assistant"
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list[ToolCall])


class ToolResultMessage(_Model):
    """The result of one tool call; ``passages`` is set when the tool retrieved knowledge."""

    kind: Literal["tool"] = "tool"
    tool_call_id: str
    name: str
    content: str
    is_error: bool = False
    passages: list[ContextPassage] = Field(default_factory=list[ContextPassage])


class ContextMessage(_Model):
    """Knowledge retrieved for the current turn, placed before the model call.

    Model adapters render it as a user-side block of numbered passages; the extractive
    provider reads the passages directly.
    """

    kind: Literal["context"] = "context"
    passages: list[ContextPassage]


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolResultMessage | ContextMessage,
    Field(discriminator="kind"),
]
MessagesAdapter: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
"""Validates and dumps message lists (checkpoints, task payloads)."""


class ToolSpec(_Model):
    """A tool the model may call; ``parameters`` is a JSON schema object."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class Usage(_Model):
    """Tokens used by one call."""

    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class Price(_Model):
    """Price of a model, in USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float


class Citation(_Model):
    """Where an answer came from."""

    source: str
    heading: str = ""


class Completion(_Model):
    """The result of one ``complete`` call."""

    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list[ToolCall])
    stop_reason: StopReason = "end_turn"
    usage: Usage = Usage()
    cost_usd: float | None = None
    """``None`` when the model has no known price."""
    model: str
    provider: str
    """Provider that actually answered (the fallback's name when it was used)."""
    attempts: int = 1
    """HTTP attempts made, retries and fallback included."""
    citations: list[Citation] = Field(default_factory=list[Citation])

    def as_message(self) -> AssistantMessage:
        """This completion as the assistant message to append to the conversation."""
        return AssistantMessage(text=self.text, tool_calls=list(self.tool_calls))


class Embeddings(_Model):
    """Vectors for a batch of texts, in order."""

    vectors: list[list[float]]
    usage: Usage = Usage()
    cost_usd: float | None = None
    model: str
    provider: str


class CallSettings(_Model):
    """Per-call knobs; ``None`` keeps the provider's default."""

    max_tokens: int = 1024
    temperature: float | None = None
    timeout_s: float | None = None
    tool_choice: Literal["auto", "required", "none"] = "auto"
    language: str | None = None
    """The conversation's language, for providers that word replies themselves (extractive)."""


class ProviderSettings(_Model):
    """How to reach a tenant's model. It holds no key: keys are passed next to it."""

    provider: ProviderName = "extractive"
    model: str = "extractive"
    base_url: str | None = None
    """Override of the vendor endpoint (OpenAI-compatible servers, the simulator)."""
    embedding_model: str | None = None
    timeout_s: float = 30.0
    prices: dict[str, Price] = Field(default_factory=dict[str, Price])
    """Per-model price overrides (model name → price)."""
    fallback: ProviderSettings | None = None
    """Provider to use when this one still fails after retries."""
    pinned_hosts: tuple[str, ...] | None = None
    """Set for a base URL a tenant admin chose: every connection goes only to an address checked
    at connect time against the operator's allow-list (these hosts; empty: public addresses
    only), never to a second DNS answer (:class:`agent.llm.hosts.AsyncPinnedTransport`)."""


class ApiKey:
    """A provider key that never shows itself in reprs, logs or tracebacks."""

    __slots__ = ("_secret",)

    def __init__(self, value: str | SecretStr) -> None:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not raw.strip():
            from errors import UserError

            raise UserError("empty API key")
        self._secret = raw.strip()

    def reveal(self) -> str:
        """The raw key, for the SDK call only."""
        return self._secret

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible id of the key (cache keys, logs)."""
        return hashlib.sha256(self._secret.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"ApiKey(fp={self.fingerprint})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._secret == self._secret

    def __hash__(self) -> int:
        return hash(self._secret)

    def __reduce__(self) -> Any:
        raise TypeError("API keys are not picklable")


def render_passages(passages: list[ContextPassage]) -> str:
    """The text block a model sees for retrieved passages."""
    lines = ["Knowledge passages (answer only from these; cite the source):"]
    for i, p in enumerate(passages, 1):
        label = " / ".join(x for x in (p.source, p.heading) if x)
        lines.append(f"[{i}] {label}\n{p.text}" if label else f"[{i}] {p.text}")
    return "\n\n".join(lines)


def tool_content(value: Any) -> str:
    """Tool output as the string carried by ``ToolResultMessage.content``."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
