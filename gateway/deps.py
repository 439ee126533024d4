"""Request dependencies: the injected services, the signed-in user and role checks."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select, update

from gateway.services import GatewayServices
from store import audit
from store.models import User
from store.repo.lookups import tenants_of_token_prefix
from store.repo.users import TOKEN_PREFIX, hash_token, tenant_of_token

AUDIT_TOKEN_USE_EVERY = timedelta(hours=1)
"""A token's use is audited at most this often (every sign-in failure always is)."""

bearer = HTTPBearer(auto_error=False, description="An API token from `frontdesk users create`.")


def services_of(request: Request) -> GatewayServices:
    services: GatewayServices = request.app.state.services
    return services


@dataclass(frozen=True)
class Principal:
    """The signed-in user; every query of the request runs in ``tenant_id``'s session."""

    user_id: int
    tenant_id: int
    role: str
    name: str
    can_read_bodies: bool

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}"


class ClientGuard:
    """Failed sign-ins per client address in a sliding window; a client over the limit is refused."""

    def __init__(self, limit: int, window: float, block: float) -> None:
        self.limit, self.window, self.block = limit, window, block
        self._failures: dict[str, deque[float]] = {}
        self._blocked: dict[str, float] = {}
        self._lock = threading.Lock()

    def blocked_for(self, client: str) -> float:
        with self._lock:
            until = self._blocked.get(client, 0.0)
            left = until - time.monotonic()
            if left <= 0 and client in self._blocked:
                del self._blocked[client]
            return max(0.0, left)

    def fail(self, client: str) -> bool:
        """Count a failure; True when this one blocked the client."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.setdefault(client, deque())
            failures.append(now)
            while failures and failures[0] < now - self.window:
                failures.popleft()
            if len(failures) >= self.limit:
                self._blocked[client] = now + self.block
                failures.clear()
                return True
            if len(self._failures) > 100_000:  # bounded memory under a spray of addresses
                self._failures.clear()
            return False


def guard_of(request: Request) -> ClientGuard:
    guard: ClientGuard = request.app.state.client_guard
    return guard


def _unauthorized(detail: str = "invalid or missing token") -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _count_prefix_failure(services: GatewayServices, token: str, client: str) -> bool:
    """Count a failure against the users whose token shares this one's public prefix.

    True when guessing for this prefix is throttled (the answer is then 429). The prefix is
    public, so nothing here ever refuses the user's real token: past the threshold only
    wrong tokens claiming the prefix are refused, without an audit entry each.
    """
    settings, db, now = services.settings, services.db, services.clock()
    prefix = token[: len(TOKEN_PREFIX) + 6] if token.startswith(TOKEN_PREFIX) else ""
    tenant_ids: list[int] = []
    if len(prefix) == len(TOKEN_PREFIX) + 6:
        with db.app_session() as session:
            tenant_ids = tenants_of_token_prefix(session, prefix)
    throttled = False
    for tenant_id in tenant_ids:
        with db.tenant_session(tenant_id) as session:
            users = session.scalars(select(User).where(User.token_prefix == prefix)).all()
            for user in users:
                if user.locked_until is not None and user.locked_until > now:
                    throttled = True
                    continue
                user.failed_attempts = (user.failed_attempts or 0) + 1
                audit.append(
                    session,
                    tenant_id,
                    actor=f"client:{client}",
                    action="auth.failed",
                    subject=f"user:{user.id}",
                    details={"attempts": user.failed_attempts, "token_prefix": prefix},
                    at=now,
                )
                if user.failed_attempts >= settings.lockout_threshold:
                    until = now + timedelta(seconds=settings.lockout_seconds)
                    user.locked_until, user.failed_attempts = until, 0
                    audit.append(
                        session,
                        tenant_id,
                        actor="gateway",
                        action="auth.prefix_throttled",
                        subject=f"user:{user.id}",
                        details={"until": until.isoformat(), "attempts": settings.lockout_threshold},
                        at=now,
                    )
                    services.alert("auth.prefix_throttled", {"tenant_id": tenant_id, "user_id": user.id})
    return throttled


def _too_many(wait: float) -> HTTPException:
    return HTTPException(429, "too many failed sign-ins", headers={"Retry-After": str(int(wait) + 1)})


def _fail(services: GatewayServices, guard: ClientGuard, client: str, token: str) -> HTTPException:
    """A wrong token: 429 from a blocked client or for a throttled prefix, else counted and 401."""
    wait = guard.blocked_for(client)
    if wait > 0:
        return _too_many(wait)  # nothing more is written for a blocked client
    if guard.fail(client):
        services.alert("auth.client_blocked", {"client": client})
    if _count_prefix_failure(services, token, client):
        return _too_many(services.settings.lockout_seconds)
    return _unauthorized()


def _signed_in(services: GatewayServices, token: str, client: str) -> Principal | None:
    """The enabled user of ``token`` (its use audited at most hourly); None when it is wrong.

    The right token always signs in: neither its client's failures nor its public prefix's
    can lock it out (a stranger can produce both).
    """
    db, now = services.db, services.clock()
    with db.app_session() as session:
        tenant_id = tenant_of_token(session, token)
    if tenant_id is None:
        return None
    with db.tenant_session(tenant_id) as session:
        user = session.scalar(select(User).where(User.token_hash == hash_token(token)))
        if user is None or user.disabled:
            return None
        if user.expires_at is not None and user.expires_at <= now:
            raise _unauthorized("this token has expired")
        previous = user.last_used_at
        values: dict[str, object] = {"last_used_at": now}
        if user.failed_attempts or user.locked_until is not None:
            values.update(failed_attempts=0, locked_until=None)
        session.execute(update(User).where(User.id == user.id).values(**values))
        if previous is None or now - previous >= AUDIT_TOKEN_USE_EVERY:
            audit.append(
                session,
                tenant_id,
                actor=f"user:{user.id}",
                action="auth.token_used",
                subject=f"user:{user.id}",
                details={"client": client, "role": user.role},
                at=now,
            )
        return Principal(user.id, tenant_id, user.role, user.name, bool(user.can_read_bodies))


def still_signed_in(services: GatewayServices, who: Principal) -> bool:
    """Whether ``who`` may still act: the user exists, is enabled, keeps its role and its
    token has not expired (for long-lived requests such as event streams)."""
    with services.db.tenant_session(who.tenant_id) as session:
        user = session.scalar(select(User).where(User.id == who.user_id, User.tenant_id == who.tenant_id))
    if user is None or user.disabled or user.role != who.role:
        return False
    return user.expires_at is None or user.expires_at > services.clock()


def authenticate(services: GatewayServices, guard: ClientGuard, token: str | None, client: str) -> Principal:
    """The user of ``token``, or an HTTP error (401 bad or expired token, 429 too many failures)."""
    if not token:
        raise _unauthorized()
    found = _signed_in(services, token, client) if len(token) <= 200 else None
    if found is None:
        raise _fail(services, guard, client, token)
    return found


def principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    client = request.client.host if request.client else "unknown"
    token = credentials.credentials if credentials is not None else None
    who = authenticate(services_of(request), guard_of(request), token, client)
    request.state.principal = who
    return who


class Roles:
    """A dependency that lets only ``roles`` through (403 for the others)."""

    def __init__(self, *roles: str) -> None:
        self.roles = roles

    def __call__(self, who: Annotated[Principal, Depends(principal)]) -> Principal:
        if who.role not in self.roles:
            raise HTTPException(403, f"this needs the role {' or '.join(self.roles)}")
        return who


Admin = Annotated[Principal, Depends(Roles("admin"))]
Staff = Annotated[Principal, Depends(Roles("agent", "supervisor"))]
Supervisor = Annotated[Principal, Depends(Roles("supervisor"))]
Analyst = Annotated[Principal, Depends(Roles("analyst", "admin"))]
Services = Annotated[GatewayServices, Depends(services_of)]
