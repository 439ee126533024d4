"""Gemini generate_content with function calling, through the official ``google-genai`` SDK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as gt

from agent.llm.clients import connection_error, map_http_error, timeout_error, tls_context
from agent.llm.keyed import KeyedProvider
from agent.llm.pricing import cost_usd
from agent.llm.types import (
    AssistantMessage,
    CallSettings,
    Completion,
    ContextMessage,
    Embeddings,
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

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/"
GEMINI_API_VERSION = "v1beta"
_STOP: dict[str, StopReason] = {
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    "SAFETY": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "BLOCKLIST": "content_filter",
    "SPII": "content_filter",
}
_MODE = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
_TIMEOUTS = (httpx2.TimeoutException, httpx.TimeoutException)
_TRANSPORT = (httpx2.TransportError, httpx.TransportError)


def to_gemini(messages: Sequence[Message]) -> tuple[str, list[gt.Content]]:
    """Neutral messages as (system instruction, contents with same roles merged)."""
    system: list[str] = []
    contents: list[gt.Content] = []

    def add(role: str, part: gt.Part) -> None:
        if contents and contents[-1].role == role and contents[-1].parts is not None:
            contents[-1].parts.append(part)
        else:
            contents.append(gt.Content(role=role, parts=[part]))

    for m in messages:
        if isinstance(m, SystemMessage):
            system.append(m.text)
        elif isinstance(m, UserMessage):
            add("user", gt.Part(text=m.text))
        elif isinstance(m, ContextMessage):
            add("user", gt.Part(text=render_passages(m.passages)))
        elif isinstance(m, AssistantMessage):
            if m.text:
                add("model", gt.Part(text=m.text))
            for c in m.tool_calls:
                add("model", gt.Part(function_call=gt.FunctionCall(id=c.id, name=c.name, args=c.arguments)))
        else:
            payload = {"error": m.content} if m.is_error else {"result": m.content}
            add(
                "user",
                gt.Part(
                    function_response=gt.FunctionResponse(id=m.tool_call_id, name=m.name, response=payload)
                ),
            )
    return "\n\n".join(system), contents


class GeminiProvider(KeyedProvider):
    """Gemini through the Gemini API (not Vertex) with the tenant's key."""

    default_base_url = GEMINI_BASE_URL
    name = "gemini"
    supports_embeddings = True

    def _client(self) -> genai.Client:
        def build() -> genai.Client:
            options = gt.HttpOptions(
                base_url=self.base_url,
                api_version=GEMINI_API_VERSION,
                timeout=int(self.settings.timeout_s * 1000),
                client_args={"verify": tls_context()},
                async_client_args={"verify": tls_context(), **self._transport()},
            )
            return genai.Client(vertexai=False, api_key=self._key.reveal(), http_options=options)

        async def close(client: genai.Client) -> None:
            await client.aio.aclose()

        return self._clients.get(
            self._vendor_key("gemini"), self.base_url, self._key, self.settings.timeout_s, build, close
        )

    async def _call(self, make: Any) -> Any:
        try:
            return await make()
        except genai_errors.APIError as e:
            headers = getattr(e.response, "headers", None)
            message = " ".join(str(x) for x in (e.status, e.message, _reason(e.details)) if x)
            raise map_http_error(self.name, e.code, message, headers, self._key) from None
        except _TIMEOUTS:
            raise timeout_error(self.name) from None
        except _TRANSPORT:
            raise connection_error(self.name) from None
        except ValueError as e:
            raise ProviderError(f"{self.name}: {type(e).__name__}", provider=self.name) from None

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec] = (),
        settings: CallSettings | None = None,
    ) -> Completion:
        """One generateContent call, with our retries."""
        s = settings or CallSettings()
        system, contents = to_gemini(messages)
        timeout = s.timeout_s or self.settings.timeout_s
        config = gt.GenerateContentConfig(
            system_instruction=system or None,
            max_output_tokens=s.max_tokens,
            temperature=s.temperature,
            http_options=gt.HttpOptions(timeout=int(timeout * 1000)),
            automatic_function_calling=gt.AutomaticFunctionCallingConfig(disable=True),
        )
        if tools:
            config.tools = [
                gt.Tool(
                    function_declarations=[
                        gt.FunctionDeclaration(
                            name=t.name, description=t.description, parameters_json_schema=t.parameters
                        )
                        for t in tools
                    ]
                )
            ]
            config.tool_config = gt.ToolConfig(
                function_calling_config=gt.FunctionCallingConfig(mode=_MODE[s.tool_choice])  # type: ignore[arg-type]
            )

        async def attempt() -> Any:
            client = self._client()
            return await self._call(
                lambda: client.aio.models.generate_content(model=self.model, contents=contents, config=config)
            )

        response, attempts = await self._retrying(attempt)
        texts: list[str] = []
        calls: list[ToolCall] = []
        finish = ""
        if response.candidates:
            candidate = response.candidates[0]
            finish = str(getattr(candidate.finish_reason, "value", candidate.finish_reason) or "")
            parts = candidate.content.parts if candidate.content and candidate.content.parts else []
            for i, part in enumerate(parts):
                if part.function_call is not None and part.function_call.name:
                    fc = part.function_call
                    calls.append(
                        ToolCall(
                            id=fc.id or f"call_{i}_{fc.name}",
                            name=fc.name or "",
                            arguments=dict(fc.args or {}),
                        )
                    )
                elif part.text and not part.thought:
                    texts.append(part.text)
        meta = response.usage_metadata
        usage = Usage(
            input_tokens=(meta.prompt_token_count or 0) if meta else 0,
            output_tokens=((meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0))
            if meta
            else 0,
        )
        stop: StopReason = "tool_use" if calls else _STOP.get(finish, "other")
        return self._completion(
            text="".join(texts),
            tool_calls=calls,
            stop_reason=stop,
            usage=usage,
            model=response.model_version,
            attempts=attempts,
        )

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """Embeddings from ``settings.embedding_model`` (default gemini-embedding-001)."""
        model = self.settings.embedding_model or "gemini-embedding-001"

        async def attempt() -> Any:
            client = self._client()
            return await self._call(
                lambda: client.aio.models.embed_content(model=model, contents=list(texts))
            )

        response, _ = await self._retrying(attempt, model)
        vectors = [list(e.values or []) for e in (response.embeddings or [])]
        usage = Usage(input_tokens=sum(max(1, len(t) // 4) for t in texts))
        return Embeddings(
            vectors=vectors,
            usage=usage,
            cost_usd=cost_usd(model, usage, self.settings.prices),
            model=model,
            provider=self.name,
        )


def _reason(details: Any) -> str:
    """The ``reason`` (e.g. ``API_KEY_INVALID``) inside a Google error body, if any."""
    if not isinstance(details, dict):
        return ""
    error = details.get("error", details)
    items = error.get("details", []) if isinstance(error, dict) else []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("reason"), str):
            return str(item["reason"])
    return ""
