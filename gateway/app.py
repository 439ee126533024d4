"""The FastAPI app: the WhatsApp webhook and the REST API, hardened.

``create_app(services)`` is all the composition root calls. Run it with uvicorn's own access
log off (``access_log=False``): this app logs requests itself without query strings, which
can carry Meta's verify token.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from errors import Conflict, NotFound, UserError
from gateway import (
    api_admin,
    api_analytics,
    api_conversations,
    api_privacy,
    api_redaction,
    api_settings,
    api_webhooks,
    docs,
    webhook,
)
from gateway.console import routes as console
from gateway.deps import ClientGuard
from gateway.security import BodyLimit, BodyTimeout, RefuseNul, SecureHeaders
from gateway.services import GatewayServices
from knowledge.errors import DocumentTooLarge

log = logging.getLogger("frontdesk.gateway")
access = logging.getLogger("frontdesk.gateway.access")

DESCRIPTION = """Frontdesk's gateway: the WhatsApp Cloud API webhook and the operators' API.

Authenticate with `Authorization: Bearer <token>` (tokens from `frontdesk users create` or
`POST /api/users`). Roles: **admin** (configuration, users, audit), **supervisor** (every
conversation, assignment), **agent** (own and unassigned conversations), **analyst** (runs,
traces, evals; message bodies only with the `can_read_bodies` grant).
"""


class AccessLog:
    """One line per request: method, path without the query, status, milliseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began, status, started = time.perf_counter(), 500, False

        async def capture(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = int(message["status"]), True
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except Exception as exc:  # one line, no traceback: it could hold data (a key's value)
            frame = _innermost(exc)
            log.error(
                "unhandled %s at %s on %s %s",
                type(exc).__name__,
                frame,
                scope.get("method"),
                scope.get("path"),
            )
            if status == 500 and not started:
                await _error(500, "internal error")(scope, receive, send)
        finally:
            access.info(
                "%s %s %d %.1fms",
                scope.get("method"),
                _printable(scope.get("path", "")),
                status,
                (time.perf_counter() - began) * 1000,
            )


def _printable(path: str) -> str:
    """``path`` for a log line: control characters shown as ``?`` (no forged lines)."""
    return "".join(c if c.isprintable() else "?" for c in path[:300])


def _innermost(exc: BaseException) -> str:
    """``file:line`` where ``exc`` was raised, for the log (never its message)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"


def _error(status: int, detail: Any) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    async def not_found(_request: Request, exc: Exception) -> JSONResponse:
        return _error(404, str(exc) or "not found")

    async def conflict(_request: Request, exc: Exception) -> JSONResponse:
        return _error(409, str(exc))

    async def too_large(_request: Request, exc: Exception) -> JSONResponse:
        return _error(413, str(exc))

    async def user_error(_request: Request, exc: Exception) -> JSONResponse:
        return _error(400, str(exc))

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        # Never echo the input back: it may hold a secret (an app secret, an API key).
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        return _error(422, [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in errors])

    async def disconnected(request: Request, _exc: Exception) -> Response:
        log.info("client disconnected before the request body was complete: %s", request.url.path)
        return Response(status_code=499)

    async def unstorable(_request: Request, _exc: Exception) -> JSONResponse:
        return _error(400, "the request holds a value the database cannot store")

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return _error(500, "internal error")

    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(Conflict, conflict)
    app.add_exception_handler(DocumentTooLarge, too_large)
    app.add_exception_handler(UserError, user_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(ClientDisconnect, disconnected)
    app.add_exception_handler(DataError, unstorable)
    app.add_exception_handler(Exception, unexpected)


def create_app(services: GatewayServices) -> FastAPI:
    """The gateway app for ``services`` (database, wake-ups, clock, settings)."""
    settings = services.settings
    app = FastAPI(
        title="Frontdesk gateway",
        version="1",
        description=DESCRIPTION,
        docs_url=None,  # served from local assets below (gateway.docs)
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs else None,
    )
    app.state.services = services
    if settings.docs:
        docs.install(app, "/openapi.json")
    app.state.client_guard = ClientGuard(
        settings.client_failure_limit, settings.client_window_seconds, settings.lockout_seconds
    )
    app.include_router(webhook.router)
    app.include_router(api_admin.router)
    app.include_router(api_settings.router)
    app.include_router(api_redaction.router)
    app.include_router(api_conversations.router)
    app.include_router(api_conversations.events_router)
    app.include_router(api_analytics.router)
    app.include_router(api_privacy.router)
    app.include_router(api_webhooks.router)
    console.install(app)

    @app.get("/healthz", tags=["health"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    _install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(RefuseNul)
    app.add_middleware(BodyLimit, webhook_max=settings.webhook_max_bytes, api_max=settings.api_max_bytes)
    app.add_middleware(BodyTimeout, seconds=settings.body_timeout_seconds)
    app.add_middleware(SecureHeaders)
    app.add_middleware(AccessLog)
    return app
