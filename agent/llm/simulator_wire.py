"""Wire shapes of the three vendors' HTTP APIs, as the simulator reads and writes them."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from dataclasses import dataclass, field
from typing import Any, Literal

Vendor = Literal["openai", "anthropic", "gemini"]
FaultKind = Literal["rate_limit", "server_error", "overloaded", "timeout", "unauthorized", "bad_request"]


@dataclass
class WireRequest:
    """What the simulator needs from a chat request, whatever the vendor."""

    vendor: Vendor
    model: str
    last_user: str = ""
    tool_result: str | None = None
    """Content of the final message when it is a tool result."""
    tools: list[str] = field(default_factory=list[str])
    input_chars: int = 0


@dataclass
class Reply:
    """A neutral simulated answer."""

    text: str = ""
    tool_name: str | None = None
    tool_args: dict[str, Any] = field(default_factory=dict[str, Any])


def tokens(chars: int) -> int:
    """A rough token count (4 characters a token)."""
    return max(1, math.ceil(chars / 4)) if chars else 0


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for block in content:
            if isinstance(block, dict):
                text = block.get("text")
                if isinstance(text, str):
                    parts.append(text)
        return "\n".join(parts)
    return ""


def parse_openai(body: dict[str, Any]) -> WireRequest:
    """A Chat Completions request."""
    messages: list[dict[str, Any]] = body.get("messages") or []
    req = WireRequest("openai", str(body.get("model", "")), input_chars=len(json.dumps(messages)))
    req.tools = [t.get("function", {}).get("name", "") for t in body.get("tools") or []]
    for m in reversed(messages):
        if m.get("role") == "user":
            req.last_user = _text_of(m.get("content"))
            break
    if messages and messages[-1].get("role") == "tool":
        req.tool_result = _text_of(messages[-1].get("content"))
    return req


def parse_anthropic(body: dict[str, Any]) -> WireRequest:
    """A Messages request."""
    messages: list[dict[str, Any]] = body.get("messages") or []
    req = WireRequest("anthropic", str(body.get("model", "")), input_chars=len(json.dumps(messages)))
    req.input_chars += len(_text_of(body.get("system")))
    req.tools = [str(t.get("name", "")) for t in body.get("tools") or []]
    for m in reversed(messages):
        if m.get("role") == "user":
            text = _text_of(m.get("content"))
            if text:
                req.last_user = text
                break
    if messages and isinstance(messages[-1].get("content"), list):
        results = [
            b for b in messages[-1]["content"] if isinstance(b, dict) and b.get("type") == "tool_result"
        ]
        if results:
            req.tool_result = _text_of(results[-1].get("content"))
    return req


def parse_gemini(model: str, body: dict[str, Any]) -> WireRequest:
    """A generateContent request."""
    contents: list[dict[str, Any]] = body.get("contents") or []
    req = WireRequest("gemini", model, input_chars=len(json.dumps(contents)))
    for tool in body.get("tools") or []:
        for decl in tool.get("functionDeclarations") or tool.get("function_declarations") or []:
            req.tools.append(str(decl.get("name", "")))
    for c in reversed(contents):
        if c.get("role", "user") == "user":
            text = _text_of(c.get("parts"))
            if text:
                req.last_user = text
                break
    if contents:
        responses = [
            p.get("functionResponse") for p in contents[-1].get("parts") or [] if p.get("functionResponse")
        ]
        if responses:
            payload = responses[-1].get("response") or {}
            value = (
                payload.get("result", payload.get("error", payload)) if isinstance(payload, dict) else payload
            )
            req.tool_result = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return req


def render_openai(req: WireRequest, reply: Reply, call_id: str) -> dict[str, Any]:
    """A Chat Completions response."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": None}
    finish = "stop"
    out_chars = len(reply.text)
    if reply.tool_name:
        args = json.dumps(reply.tool_args, ensure_ascii=False)
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": reply.tool_name, "arguments": args}}
        ]
        finish = "tool_calls"
        out_chars += len(args)
    usage_in, usage_out = tokens(req.input_chars), tokens(out_chars)
    return {
        "id": f"chatcmpl-{call_id}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": req.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {
            "prompt_tokens": usage_in,
            "completion_tokens": usage_out,
            "total_tokens": usage_in + usage_out,
        },
    }


def render_anthropic(req: WireRequest, reply: Reply, call_id: str) -> dict[str, Any]:
    """A Messages response."""
    content: list[dict[str, Any]] = []
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    stop = "end_turn"
    out_chars = len(reply.text)
    if reply.tool_name:
        content.append(
            {"type": "tool_use", "id": f"toolu_{call_id}", "name": reply.tool_name, "input": reply.tool_args}
        )
        stop = "tool_use"
        out_chars += len(json.dumps(reply.tool_args))
    return {
        "id": f"msg_{call_id}",
        "type": "message",
        "role": "assistant",
        "model": req.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": tokens(req.input_chars), "output_tokens": tokens(out_chars)},
    }


def render_gemini(req: WireRequest, reply: Reply, call_id: str) -> dict[str, Any]:
    """A generateContent response."""
    parts: list[dict[str, Any]] = []
    if reply.text:
        parts.append({"text": reply.text})
    out_chars = len(reply.text)
    if reply.tool_name:
        parts.append(
            {"functionCall": {"id": f"fc_{call_id}", "name": reply.tool_name, "args": reply.tool_args}}
        )
        out_chars += len(json.dumps(reply.tool_args))
    usage_in, usage_out = tokens(req.input_chars), tokens(out_chars)
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {
            "promptTokenCount": usage_in,
            "candidatesTokenCount": usage_out,
            "totalTokenCount": usage_in + usage_out,
        },
        "modelVersion": req.model,
        "responseId": call_id,
    }


_WORD = re.compile(r"\w+", re.UNICODE)


def embed_text(text: str, dim: int) -> list[float]:
    """A deterministic bag-of-words hashing vector, L2-normalised (similar texts are close)."""
    vec = [0.0] * dim
    for word in _WORD.findall(text.lower()):
        h = hashlib.blake2b(word.encode(), digest_size=8).digest()
        idx = int.from_bytes(h[:4], "little") % dim
        vec[idx] += 1.0 if h[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def openai_embeddings(body: dict[str, Any], dim: int) -> dict[str, Any]:
    """An embeddings response (float or base64 as asked)."""
    raw = body.get("input", [])
    texts = [raw] if isinstance(raw, str) else [str(x) for x in raw]
    data: list[dict[str, Any]] = []
    for i, text in enumerate(texts):
        vec = embed_text(text, dim)
        value: Any = vec
        if body.get("encoding_format") == "base64":
            value = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": value})
    n = sum(tokens(len(t)) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.get("model", ""),
        "usage": {"prompt_tokens": n, "total_tokens": n},
    }


def gemini_embeddings(body: dict[str, Any], dim: int) -> dict[str, Any]:
    """A batchEmbedContents (or embedContent) response."""
    if "requests" in body:
        texts = [_text_of((r.get("content") or {}).get("parts")) for r in body["requests"]]
        return {"embeddings": [{"values": embed_text(t, dim)} for t in texts]}
    return {"embedding": {"values": embed_text(_text_of((body.get("content") or {}).get("parts")), dim)}}


_OPENAI_ERR: dict[FaultKind, tuple[int, str, str]] = {
    "rate_limit": (429, "rate_limit_exceeded", "Rate limit reached (simulated)."),
    "server_error": (500, "server_error", "The server had an error (simulated)."),
    "overloaded": (503, "overloaded", "The engine is overloaded (simulated)."),
    "timeout": (504, "timeout", "Gateway timeout (simulated)."),
    "unauthorized": (401, "invalid_api_key", "Incorrect API key provided."),
    "bad_request": (400, "invalid_request_error", "Invalid request (simulated)."),
}
_ANTHROPIC_ERR: dict[FaultKind, tuple[int, str]] = {
    "rate_limit": (429, "rate_limit_error"),
    "server_error": (500, "api_error"),
    "overloaded": (529, "overloaded_error"),
    "timeout": (504, "timeout_error"),
    "unauthorized": (401, "authentication_error"),
    "bad_request": (400, "invalid_request_error"),
}
_GEMINI_ERR: dict[FaultKind, tuple[int, str, str]] = {
    "rate_limit": (429, "RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED"),
    "server_error": (500, "INTERNAL", ""),
    "overloaded": (503, "UNAVAILABLE", ""),
    "timeout": (504, "DEADLINE_EXCEEDED", ""),
    "unauthorized": (400, "INVALID_ARGUMENT", "API_KEY_INVALID"),
    "bad_request": (400, "INVALID_ARGUMENT", ""),
}


def render_error(vendor: Vendor, kind: FaultKind) -> tuple[int, dict[str, Any]]:
    """Status and body of a simulated error in the vendor's own shape."""
    if vendor == "openai":
        status, code, message = _OPENAI_ERR[kind]
        etype = "invalid_request_error" if status < 500 else "server_error"
        return status, {"error": {"message": message, "type": etype, "param": None, "code": code}}
    if vendor == "anthropic":
        status, etype = _ANTHROPIC_ERR[kind]
        message = "invalid x-api-key" if kind == "unauthorized" else f"{etype} (simulated)"
        return status, {"type": "error", "error": {"type": etype, "message": message}}
    status, gstatus, reason = _GEMINI_ERR[kind]
    message = "API key not valid. Please pass a valid API key." if reason == "API_KEY_INVALID" else gstatus
    error: dict[str, Any] = {"code": status, "message": message, "status": gstatus}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}]
    return status, {"error": error}
