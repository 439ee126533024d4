"""Anthropic Messages with tool use, through the official ``anthropic`` SDK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anthropic

from agent.llm.clients import connection_error, map_http_error, timeout_error, tls_context
from agent.llm.keyed import KeyedProvider
from agent.llm.types import (
    AssistantMessage,
    CallSettings,
    Completion,
    ContextMessage,
    Message,
    StopReason,
    SystemMessage,
    ToolCall,
    ToolSpec,
    Usage,
    UserMessage,
    render_passages,
)
from errors import ProviderError

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
_STOP: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "stop_sequence": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "refusal": "content_filter",
}
_TOOL_CHOICE = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


def to_anthropic(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """Neutral messages as (system prompt, Messages API turns with same roles merged)."""
    system: list[str] = []
    turns: list[dict[str, Any]] = []

    def add(role: str, block: dict[str, Any]) -> None:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].append(block)
        else:
            turns.append({"role": role, "content": [block]})

    for m in messages:
        if isinstance(m, SystemMessage):
            system.append(m.text)
        elif isinstance(m, UserMessage):
            add("user", {"type": "text", "text": m.text})
        elif isinstance(m, ContextMessage):
            add("user", {"type": "text", "text": render_passages(m.passages)})
        elif isinstance(m, AssistantMessage):
            if m.text:
                add("assistant", {"type": "text", "text": m.text})
            for c in m.tool_calls:
                add("assistant", {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments})
        else:
            add(
                "user",
                {
                    "type": "tool_result",
                    "tool_use_id": m.tool_call_id,
                    "content": m.content,
                    "is_error": m.is_error,
                },
            )
    return "\n\n".join(system), turns


class AnthropicProvider(KeyedProvider):
    """Claude through the Messages API with the tenant's key."""

    default_base_url = ANTHROPIC_BASE_URL
    name = "anthropic"

    def _client(self) -> anthropic.AsyncAnthropic:
        def build() -> anthropic.AsyncAnthropic:
            return anthropic.AsyncAnthropic(
                api_key=self._key.reveal(),
                base_url=self.base_url,
                max_retries=0,
                timeout=self.settings.timeout_s,
                http_client=anthropic.DefaultAsyncHttpxClient(verify=tls_context(), **self._transport()),
            )

        async def close(client: anthropic.AsyncAnthropic) -> None:
            await client.close()

        return self._clients.get(
            self._vendor_key("anthropic"), self.base_url, self._key, self.settings.timeout_s, build, close
        )

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        settings: CallSettings | None = None,
    ) -> Completion:
        """One Messages call, with our retries."""
        s = settings or CallSettings()
        system, turns = to_anthropic(messages)
        body: dict[str, Any] = {"model": self.model, "messages": turns, "max_tokens": s.max_tokens}
        if system:
            body["system"] = system
        if s.temperature is not None:
            body["temperature"] = s.temperature
        if tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
            ]
            body["tool_choice"] = _TOOL_CHOICE[s.tool_choice]
        timeout = s.timeout_s or self.settings.timeout_s

        async def attempt() -> Any:
            client = self._client()
            try:
                return await client.messages.create(**body, timeout=timeout)
            except anthropic.APITimeoutError:
                raise timeout_error(self.name) from None
            except anthropic.APIConnectionError:
                raise connection_error(self.name) from None
            except anthropic.APIStatusError as e:
                message = e.api_message or e.response.reason_phrase or ""
                raise map_http_error(
                    self.name, e.status_code, message, e.response.headers, self._key
                ) from None
            except anthropic.AnthropicError as e:
                raise ProviderError(f"{self.name}: {type(e).__name__}", provider=self.name) from None

        response, attempts = await self._retrying(attempt)
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in response.content:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                args = block.input if isinstance(block.input, dict) else {"_value": block.input}
                calls.append(ToolCall(id=block.id, name=block.name, arguments=dict(args)))
        usage = Usage(input_tokens=response.usage.input_tokens, output_tokens=response.usage.output_tokens)
        return self._completion(
            text="".join(texts),
            tool_calls=calls,
            stop_reason=_STOP.get(response.stop_reason or "", "other"),
            usage=usage,
            model=response.model,
            attempts=attempts,
        )
