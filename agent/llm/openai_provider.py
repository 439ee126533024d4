"""OpenAI Chat Completions (and OpenAI-compatible servers such as vLLM or Ollama)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import openai

from agent.llm.base import EventSink, ignore_events
from agent.llm.clients import ClientCache, connection_error, map_http_error, timeout_error, tls_context
from agent.llm.keyed import KeyedProvider
from agent.llm.pricing import cost_usd
from agent.llm.retry import RetryPolicy
from agent.llm.types import (
    ApiKey,
    AssistantMessage,
    CallSettings,
    Completion,
    ContextMessage,
    Embeddings,
    Message,
    ProviderSettings,
    StopReason,
    SystemMessage,
    ToolCall,
    ToolSpec,
    Usage,
    UserMessage,
    render_passages,
)
from errors import ProviderError, UserError

OPENAI_BASE_URL = "https://api.openai.com/v1"
_STOP: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "content_filter",
}


def to_openai_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Neutral messages in Chat Completions wire shape."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": m.text})
        elif isinstance(m, UserMessage):
            out.append({"role": "user", "content": m.text})
        elif isinstance(m, ContextMessage):
            out.append({"role": "user", "content": render_passages(m.passages)})
        elif isinstance(m, AssistantMessage):
            msg: dict[str, Any] = {"role": "assistant", "content": m.text or None}
            if m.tool_calls:
                msg["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {
                            "name": c.name,
                            "arguments": json.dumps(c.arguments, ensure_ascii=False),
                        },
                    }
                    for c in m.tool_calls
                ]
            out.append(msg)
        else:
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
    return out


def to_openai_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tool specs as Chat Completions function tools."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def _tool_calls(wire: list[dict[str, Any]]) -> list[ToolCall]:
    """The function calls of an answer's message (other kinds of tool call are skipped)."""
    calls: list[ToolCall] = []
    for call in wire:
        if call.get("type", "function") != "function":
            continue
        function = call.get("function") or {}
        calls.append(
            ToolCall(
                id=str(call.get("id") or ""),
                name=str(function.get("name") or ""),
                arguments=_arguments(function.get("arguments")),
            )
        )
    return calls


def _arguments(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_value": value}


class OpenAIProvider(KeyedProvider):
    """Chat Completions through the official ``openai`` SDK with the tenant's key."""

    name = "openai"
    default_base_url = OPENAI_BASE_URL
    supports_embeddings = True

    def __init__(
        self,
        settings: ProviderSettings,
        api_key: str | ApiKey,
        *,
        retry: RetryPolicy | None = None,
        events: EventSink = ignore_events,
        clients: ClientCache | None = None,
    ) -> None:
        super().__init__(settings, api_key, retry=retry, events=events, clients=clients)
        self.compatible = settings.provider == "openai-compatible"
        if self.compatible:
            self.name = "openai-compatible"  # type: ignore[misc]
            if not settings.base_url:
                raise UserError("an OpenAI-compatible provider needs a base_url")

    def _client(self) -> openai.AsyncOpenAI:
        def build() -> openai.AsyncOpenAI:
            client = openai.AsyncOpenAI(
                api_key=self._key.reveal(),
                base_url=self.base_url,
                max_retries=0,
                timeout=self.settings.timeout_s,
                http_client=openai.DefaultAsyncHttpxClient(verify=tls_context(), **self._transport()),
                default_headers={"Authorization": f"Bearer {self._key.reveal()}"},
            )
            # Nothing may come from the process environment (OPENAI_ORG_ID and friends).
            client.organization = None
            client.project = None
            client.admin_api_key = None
            client.webhook_secret = None
            return client

        async def close(client: openai.AsyncOpenAI) -> None:
            await client.close()

        return self._clients.get(
            self._vendor_key("openai"), self.base_url, self._key, self.settings.timeout_s, build, close
        )

    async def _call(self, make: Any) -> Any:
        try:
            return await make()
        except openai.APITimeoutError:
            raise timeout_error(self.name) from None
        except openai.APIConnectionError:
            raise connection_error(self.name) from None
        except openai.APIStatusError as e:
            raise map_http_error(
                self.name, e.status_code, _message(e), e.response.headers, self._key
            ) from None
        except openai.OpenAIError as e:
            raise ProviderError(f"{self.name}: {type(e).__name__}", provider=self.name) from None

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        settings: CallSettings | None = None,
    ) -> Completion:
        """One Chat Completions call, with our retries."""
        s = settings or CallSettings()
        body: dict[str, Any] = {"model": self.model, "messages": to_openai_messages(messages)}
        body["max_tokens" if self.compatible else "max_completion_tokens"] = s.max_tokens
        if s.temperature is not None:
            body["temperature"] = s.temperature
        if tools:
            body["tools"] = to_openai_tools(tools)
            body["tool_choice"] = s.tool_choice
        timeout = s.timeout_s or self.settings.timeout_s

        async def attempt() -> Any:
            client = self._client()
            return await self._call(lambda: _create_chat_completion(client, body, timeout))

        response, attempts = await self._retrying(attempt)
        choices = response.get("choices") or [{}]
        choice = choices[0] or {}
        message = choice.get("message") or {}
        calls = _tool_calls(message.get("tool_calls") or [])
        usage = response.get("usage") or {}
        stop = _STOP.get(choice.get("finish_reason") or "", "other")
        if calls and stop == "end_turn":
            stop = "tool_use"
        return self._completion(
            text=message.get("content") or "",
            tool_calls=calls,
            stop_reason=stop,
            usage=Usage(
                input_tokens=usage.get("prompt_tokens") or 0,
                output_tokens=usage.get("completion_tokens") or 0,
            ),
            model=response.get("model") or self.model,
            attempts=attempts,
        )

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Embeddings from ``settings.embedding_model`` (default text-embedding-3-small)."""
        model = self.settings.embedding_model or "text-embedding-3-small"

        async def attempt() -> Any:
            client = self._client()
            return await self._call(
                lambda: client.embeddings.create(model=model, input=list(texts), encoding_format="float")
            )

        response, _ = await self._retrying(attempt, model)
        usage = Usage(input_tokens=getattr(response.usage, "prompt_tokens", 0) or 0)
        vectors = [list(d.embedding) for d in sorted(response.data, key=lambda d: d.index)]
        return Embeddings(
            vectors=vectors,
            usage=usage,
            cost_usd=cost_usd(model, usage, self.settings.prices),
            model=model,
            provider=self.name,
        )


async def _create_chat_completion(
    client: openai.AsyncOpenAI, body: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """``client.chat.completions.create(**body)``, without the SDK rebuilding the body or
    building its typed models of the answer.

    ``create`` walks every message and tool through its typed-dict transform (about 7 % of a
    turn's CPU) to turn them into what ``body`` already is: plain JSON in the wire shape; and
    it turns the answer into a ``ChatCompletion`` of nested models to read five fields. The
    request (path, body, timeout, bearer auth, the client's transport) and the error statuses
    (raised by the client before any parsing) are the same; the answer is the JSON itself.
    """
    raw: bytes = await client.post(
        "/chat/completions",
        cast_to=bytes,
        body=body,
        options={"timeout": timeout, "security": {"bearer_auth": True}},
    )
    try:
        answer = json.loads(raw)
    except ValueError:
        raise ProviderError("openai: the answer is not JSON", provider="openai") from None
    return answer if isinstance(answer, dict) else {}


def _message(e: openai.APIStatusError) -> str:
    body = e.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
    return e.response.reason_phrase or ""
