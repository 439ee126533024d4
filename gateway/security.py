"""HTTP hardening as plain ASGI middleware: body limits (413), slow bodies (408), NUL
characters (400), secure response headers."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("frontdesk.gateway")

DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class BodyLimit:
    """Refuse bodies over the limit: at once from ``Content-Length``, else while streaming."""

    def __init__(self, app: ASGIApp, *, webhook_max: int, api_max: int) -> None:
        self.app, self.webhook_max, self.api_max = app, webhook_max, api_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        limit = self.webhook_max if path.startswith("/webhooks/") else self.api_max
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit or declared < 0:
                    await _too_large(send, limit) if declared > limit else await _bad_length(send)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, f"request body exceeds {limit} bytes")
            return message

        await self.app(scope, limited, send)


class BodyTimeout:
    """Answer 408 when a request body is not all received within ``seconds`` of its start.

    A client sending a byte now and then (a slowloris body) would otherwise hold a connection
    and a request for as long as it likes; uvicorn has no body timeout of its own.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        done = False

        async def timed() -> Message:
            nonlocal done
            if done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - loop.time()))
            except TimeoutError:
                log.warning("request body not received within %.0f s: %s", self.seconds, scope.get("path"))
                raise HTTPException(408, f"request body not received within {self.seconds:.0f} s") from None
            done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed, send)


NUL_ESCAPE = b"\\u0000"
"""How JSON spells a NUL character (a cheap first test before the body is decoded)."""


def has_nul(value: object) -> bool:
    """Whether a decoded JSON value holds a NUL character in any string or key."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())  # type: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return any(has_nul(v) for v in value)  # type: ignore[reportUnknownVariableType]
    return False


def without_nul(value: Any) -> Any:
    """A copy of a decoded JSON value with every NUL character replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}  # type: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [without_nul(v) for v in value]  # type: ignore[reportUnknownVariableType]
    return value


class RefuseNul:
    """400 for a NUL character in the path, the query or an API request's JSON body.

    PostgreSQL cannot store NUL in text: let through, it fails deep inside as a 500. The
    webhook is left to its handler, which records such an event and still answers 200.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        query: bytes = scope.get("query_string", b"")
        if "\x00" in path or b"%00" in query or b"\x00" in query:
            await _json(send, 400, "NUL characters are not allowed in the path or the query")
            return
        headers = dict(scope.get("headers", []))
        if not path.startswith("/api/") or b"json" not in headers.get(b"content-type", b""):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            try:
                message = await receive()
            except HTTPException as exc:  # too large, too slow: outside the app's own handlers
                await _json(send, exc.status_code, str(exc.detail))
                return
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if NUL_ESCAPE in body and _json_has_nul(body):
            await _json(send, 422, "NUL characters are not allowed in the request body")
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _json_has_nul(body: bytes) -> bool:
    try:
        return has_nul(json.loads(body))
    except ValueError:
        return False  # not JSON: the endpoint answers 422 for it


async def _json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + _headers("/")})
    await send({"type": "http.response.body", "body": body})


async def _too_large(send: Send, limit: int) -> None:
    await _json(send, 413, f"request body exceeds {limit} bytes")


async def _bad_length(send: Send) -> None:
    await _json(send, 400, "invalid Content-Length")


def _csp(path: str, docs: bool) -> str:
    if docs:
        return DOCS_CSP
    return CONSOLE_CSP if path == "/console" or path.startswith("/console/") else API_CSP


def _headers(path: str) -> list[tuple[bytes, bytes]]:
    docs = path.startswith(DOCS_PATHS)
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"content-security-policy", _csp(path, docs).encode()),
    ]
    if not docs:
        headers.append((b"cache-control", b"no-store"))
    return headers


class SecureHeaders:
    """Add the secure headers to every response (``no-store`` and a strict CSP off the docs)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _headers(scope.get("path", ""))
        names = {name for name, _ in extra}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, with_headers)
