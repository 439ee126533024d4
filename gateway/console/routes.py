"""The agents' console at ``/console``: sign-in, the live inbox, a conversation and its actions.

Server-rendered (Jinja2), a few lines of plain JavaScript, live over Server-Sent Events;
every asset is served from here. Every POST carries a CSRF token (a forged one answers 403).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from errors import Conflict, NotFound, UserError
from gateway import actions
from gateway.console import session as cookies
from gateway.console import views
from gateway.console.i18n import LANGUAGES, Words, pick
from gateway.deps import Principal, authenticate, guard_of, services_of
from gateway.live import stream
from gateway.schemas import MAX_ID
from gateway.services import GatewayServices
from store.models import User

HERE = Path(__file__).parent
STATIC = {p.name: p for p in (HERE / "static").iterdir() if p.suffix in (".css", ".js", ".svg")}
ROLES = ("agent", "supervisor", "admin")
env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))

router = APIRouter(prefix="/console", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=200)]
"""The CSRF token every form posts."""


# --- helpers ----------------------------------------------------------------------------------


def _ago(since: datetime | None) -> str:
    if since is None:
        return "—"
    seconds = max(0, int(time.time() - since.replace(tzinfo=since.tzinfo or UTC).timestamp()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _stamp(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else ""


def _nonce() -> str:
    return secrets.token_urlsafe(12)


GLOBALS: dict[str, Any] = {"ago": _ago, "stamp": _stamp, "languages": LANGUAGES, "nonce": _nonce}
env.globals.update(GLOBALS)


def _lang(request: Request) -> str:
    return pick(request.cookies.get(cookies.LANGUAGE_COOKIE), request.headers.get("accept-language"))


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """An HttpOnly, SameSite=Strict cookie of the console's path (``Secure`` when configured)."""
    secure = services_of(request).settings.console_secure_cookie
    response.set_cookie(
        name, value, max_age=max_age, path="/console", httponly=True, samesite="strict", secure=secure
    )


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = _lang(request)
    html = env.get_template(template).render(t=Words(lang), lang=lang, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status)


RECHECK_SECONDS = 300.0
"""An open event stream ends after this long (or when its session or token expires); the
browser reconnects, and the session is checked again (disabled, new token, expired)."""


class Signed:
    """The signed-in console user, the session's CSRF token and how long it stays valid."""

    def __init__(self, who: Principal, csrf: str, sid: str, seconds_left: float = RECHECK_SECONDS) -> None:
        self.who, self.csrf, self.sid, self.seconds_left = who, csrf, sid, seconds_left


def _signed(request: Request) -> Signed | None:
    services = services_of(request)
    keyring = services.db.keyring
    claims = cookies.read(keyring, request.cookies.get(cookies.SESSION_COOKIE))
    if claims is None:
        return None
    with services.db.tenant_session(claims.tenant_id) as session:
        user = session.scalar(
            select(User).where(User.id == claims.user_id, User.tenant_id == claims.tenant_id)
        )
        if user is None or user.disabled or user.role not in ROLES:
            return None
        if user.expires_at is not None and user.expires_at <= services.clock():
            return None  # the token expired: so does every session it opened
        # ``locked_until`` is not checked: it throttles wrong guesses at the public token prefix,
        # which a stranger can produce, so it must never sign the real user out.
        if cookies.token_fingerprint(keyring, user.token_hash) != claims.fingerprint:
            return None  # a new API token was issued: sign in again
        who = Principal(user.id, claims.tenant_id, user.role, user.name, bool(user.can_read_bodies))
        left = min(RECHECK_SECONDS, claims.expires - time.time())
        if user.expires_at is not None:
            left = min(left, (user.expires_at - services.clock()).total_seconds())
    return Signed(who, cookies.csrf_token(keyring, claims.sid), claims.sid, max(0.0, left))


class _SignIn(Exception):
    """Not signed in: go to the sign-in page (then back to ``next``)."""


def _require(request: Request) -> Signed:
    signed = _signed(request)
    if signed is None:
        raise _SignIn(request.url.path)
    return signed


def _check_csrf(request: Request, signed: Signed, token: str) -> None:
    if not cookies.csrf_ok(services_of(request).db.keyring, signed.sid, token):
        raise HTTPException(403, "invalid CSRF token: reload the page and try again")


def _to_signin(path: str) -> RedirectResponse:
    target = "/console" + (f"?next={quote(path)}" if path.startswith("/console/") else "")
    return RedirectResponse(target, status_code=303)


def install(app: Any) -> None:
    """Mount the console's routes and its sign-in redirect on ``app``."""

    async def signin_redirect(_request: Request, exc: Exception) -> Response:
        return _to_signin(str(exc))

    app.include_router(router)
    app.add_exception_handler(_SignIn, signin_redirect)


# --- sign-in ----------------------------------------------------------------------------------


def _signin_page(
    request: Request, error: str | None = None, status: int = 200, next_path: str = ""
) -> Response:
    nonce = cookies.new_login_nonce()
    response = _page(request, "signin.html", status, who=None, csrf=nonce, error=error, next_path=next_path)
    _set_cookie(request, response, cookies.LOGIN_COOKIE, nonce, 3600)
    return response


def _safe_next(path: str | None) -> str:
    if path and path.startswith("/console/") and not path.startswith("/console//") and "\\" not in path:
        return path
    return "/console/inbox"


@router.get("")
def home(request: Request, next: Annotated[str | None, Query(max_length=300)] = None) -> Response:
    if _signed(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _signin_page(request, next_path=_safe_next(next) if next else "")


@router.post("/signin")
def signin(
    request: Request,
    api_token: Annotated[str, Form(max_length=300)] = "",
    csrf: Csrf = "",
    next: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    expected = request.cookies.get(cookies.LOGIN_COOKIE)
    if not expected or not csrf or not hmac.compare_digest(expected, csrf):
        raise HTTPException(403, "invalid CSRF token: reload the sign-in page")
    services = services_of(request)
    client = request.client.host if request.client else "unknown"
    words = Words(_lang(request))
    try:
        who = authenticate(services, guard_of(request), api_token.strip() or None, client)
    except HTTPException as exc:
        key = {423: "locked", 429: "too_many"}.get(exc.status_code, "bad_token")
        return _signin_page(request, words(key), 401 if key == "bad_token" else exc.status_code, next)
    if who.role not in ROLES:
        return _signin_page(request, words("wrong_role"), 403, next)
    with services.db.tenant_session(who.tenant_id) as session:
        token_hash, expires_at = session.execute(
            select(User.token_hash, User.expires_at).where(User.id == who.user_id)
        ).one()
    seconds = services.settings.console_session_hours * 3600
    if expires_at is not None:  # a session never outlives its token
        seconds = min(seconds, (expires_at - services.clock()).total_seconds())
    value = cookies.issue(services.db.keyring, who.tenant_id, who.user_id, token_hash, seconds)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(request, response, cookies.SESSION_COOKIE, value, int(seconds))
    response.delete_cookie(cookies.LOGIN_COOKIE, path="/console")
    return response


@router.post("/signout")
def signout(request: Request, csrf: Csrf = "") -> Response:
    signed = _require(request)
    _check_csrf(request, signed, csrf)
    response = RedirectResponse("/console", status_code=303)
    response.delete_cookie(cookies.SESSION_COOKIE, path="/console", httponly=True, samesite="strict")
    return response


@router.post("/language")
def language(
    request: Request,
    lang: Annotated[str, Form(max_length=5)] = "",
    csrf: Csrf = "",
    back: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    signed = _require(request)
    _check_csrf(request, signed, csrf)
    response = RedirectResponse(_safe_next(back), status_code=303)
    if lang in LANGUAGES:
        _set_cookie(request, response, cookies.LANGUAGE_COOKIE, lang, 365 * 86400)
    return response


# --- inbox ------------------------------------------------------------------------------------

View = Annotated[str, Query(pattern="^(all|needs_human|mine|unassigned)$")]


@router.get("/inbox")
def inbox(request: Request, view: View = "all") -> Response:
    signed = _require(request)
    groups = views.inbox(services_of(request), signed.who, view)
    return _page(
        request,
        "inbox.html",
        who=signed.who,
        csrf=signed.csrf,
        groups=groups,
        view=view,
        views=views.VIEWS,
        page="inbox",
    )


@router.get("/inbox/rows")
def inbox_rows(request: Request, view: View = "all") -> Response:
    signed = _require(request)
    groups = views.inbox(services_of(request), signed.who, view)
    return _page(request, "_rows.html", who=signed.who, groups=groups, view=view)


@router.get("/events")
async def events(request: Request) -> Response:
    signed = await run_in_threadpool(_signed, request)
    if signed is None:
        raise HTTPException(401, "sign in first")
    services = services_of(request)
    tenant = signed.who.tenant_id
    return StreamingResponse(
        stream(
            services.events,
            tenant,
            request.is_disconnected,
            actions.latest_change(services, tenant),
            signed.seconds_left,  # then the browser reconnects and the session is checked again
        ),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )


@router.get("/static/{name}")
def static(name: str) -> Response:
    path = STATIC.get(name)
    if path is None:
        raise HTTPException(404, "not found")
    media = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}[path.suffix]
    return FileResponse(path, media_type=media)


# --- a conversation ---------------------------------------------------------------------------


def _known_id(conversation_id: int) -> None:
    if not 1 <= conversation_id <= MAX_ID:
        raise HTTPException(404, "no such conversation")


def _detail(request: Request, signed: Signed, conversation_id: int) -> views.Detail:
    _known_id(conversation_id)
    try:
        return views.conversation(services_of(request), signed.who, conversation_id)
    except NotFound:
        raise HTTPException(404, "no such conversation") from None


NOTICES = ("window_closed", "bot_has_it", "opted_out")


@router.get("/c/{conversation_id}")
def conversation(
    request: Request, conversation_id: int, notice: Annotated[str | None, Query(max_length=300)] = None
) -> Response:
    signed = _require(request)
    detail = _detail(request, signed, conversation_id)
    words = Words(_lang(request))
    message = (
        words(notice) if notice in NOTICES else (words("failed_action", detail=notice) if notice else None)
    )
    return _page(
        request,
        "conversation.html",
        who=signed.who,
        csrf=signed.csrf,
        d=detail,
        notice=message,
        page="conversation",
        conversation_id=detail.id,
    )


@router.get("/c/{conversation_id}/live")
def conversation_live(request: Request, conversation_id: int) -> Response:
    signed = _require(request)
    detail = _detail(request, signed, conversation_id)
    return _page(request, "_live.html", who=signed.who, csrf=signed.csrf, d=detail)


Action = Callable[[GatewayServices, Principal], object]


def _act(request: Request, conversation_id: int, csrf: str, action: Action) -> Response:
    """Sign-in and CSRF checked, ``action`` done, back to the conversation (with a notice if refused)."""
    signed = _require(request)
    _check_csrf(request, signed, csrf)
    _known_id(conversation_id)
    back = f"/console/c/{conversation_id}"
    try:
        action(services_of(request), signed.who)
    except NotFound:
        raise HTTPException(404, "no such conversation") from None
    except actions.WindowClosed:
        return RedirectResponse(back + "?notice=window_closed", status_code=303)
    except (Conflict, UserError) as exc:
        text = str(exc)
        key = (
            "opted_out"
            if "opted out" in text
            else "bot_has_it"
            if "take it over" in text
            else quote(text[:200])
        )
        return RedirectResponse(f"{back}?notice={key}", status_code=303)
    return RedirectResponse(back, status_code=303)


@router.post("/c/{conversation_id}/takeover")
def takeover(request: Request, conversation_id: int, csrf: Csrf = "") -> Response:
    return _act(request, conversation_id, csrf, lambda s, who: actions.takeover(s, who, conversation_id))


@router.post("/c/{conversation_id}/handback")
def handback(request: Request, conversation_id: int, csrf: Csrf = "") -> Response:
    return _act(request, conversation_id, csrf, lambda s, who: actions.handback(s, who, conversation_id))


@router.post("/c/{conversation_id}/reply")
def reply(
    request: Request,
    conversation_id: int,
    csrf: Csrf = "",
    text: Annotated[str, Form(max_length=4096)] = "",
    template: Annotated[str, Form(max_length=600)] = "",
    params: Annotated[str, Form(max_length=4000)] = "",
    key: Annotated[str, Form(max_length=100, pattern=r"^[A-Za-z0-9_.:-]*$")] = "",
) -> Response:
    def send(services: GatewayServices, who: Principal) -> None:
        if template:
            name, _, language = template.partition("|")
            values = [p.strip() for p in params.split("|")] if params.strip() else []
            choice = actions.TemplateChoice(name, language, values)
            actions.reply(services, who, conversation_id, template=choice, idempotency_key=key or None)
        elif text.strip():
            actions.reply(services, who, conversation_id, text=text.strip(), idempotency_key=key or None)

    return _act(request, conversation_id, csrf, send)


@router.post("/c/{conversation_id}/notes")
def note(
    request: Request,
    conversation_id: int,
    csrf: Csrf = "",
    body: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    def add(services: GatewayServices, who: Principal) -> None:
        if body.strip():
            actions.add_note(services, who, conversation_id, body.strip())

    return _act(request, conversation_id, csrf, add)


@router.post("/c/{conversation_id}/assign")
def assign(
    request: Request, conversation_id: int, csrf: Csrf = "", agent: Annotated[str, Form(max_length=20)] = ""
) -> Response:
    agent_id = int(agent) if agent.isdigit() else None

    def give(services: GatewayServices, who: Principal) -> None:
        actions.assign(services, who, conversation_id, agent_id)

    return _act(request, conversation_id, csrf, give)
