"""Deleting an erased customer's traces from a Langfuse project, through its public API.

The traces are found by session (``<tenant slug>:<conversation id>``) and by user hash with the
real-time observations API (``GET /api/public/v2/observations``), then deleted in batches with
``DELETE /api/public/traces`` (body ``{"traceIds": [...]}``). Any failure raises
:class:`TraceErasureError`; the caller keeps the request queued and tries again later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from agent.tracing.langfuse_tracer import LangfuseProject
from errors import FrontdeskError
from store.db import Database
from store.models import TraceErasure, utcnow

PAGE = 1000
DELETE_BATCH = 100


class TraceErasureError(FrontdeskError):
    """Langfuse could not be reached or refused; the message carries no key and no personal data."""


def _client(project: LangfuseProject, timeout: float) -> httpx.Client:
    return httpx.Client(
        base_url=project.base_url.rstrip("/"),
        auth=(project.public_key, project.secret_key),
        timeout=timeout,
    )


def _trace_ids(client: httpx.Client, name: str, value: str) -> set[str]:
    found: set[str] = set()
    cursor: str | None = None
    while True:
        params = {name: value, "fields": "core", "limit": str(PAGE)}
        if cursor:
            params["cursor"] = cursor
        response = client.get("/api/public/v2/observations", params=params)
        _check(response, "list observations")
        body = response.json()
        for item in body.get("data", []):
            trace = item.get("traceId")
            if isinstance(trace, str) and trace:
                found.add(trace)
        cursor = (body.get("meta") or {}).get("cursor")
        if not cursor or not body.get("data"):
            return found


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code >= 300:
        raise TraceErasureError(f"Langfuse refused to {what}: HTTP {response.status_code}")


def delete_customer_traces(
    project: LangfuseProject,
    *,
    session_ids: Iterable[str],
    user_ids: Iterable[str],
    timeout: float = 10.0,
) -> int:
    """Delete every trace of these sessions and users; returns how many traces were deleted."""
    try:
        with _client(project, timeout) as client:
            traces: set[str] = set()
            for session in session_ids:
                traces |= _trace_ids(client, "sessionId", session)
            for user in user_ids:
                traces |= _trace_ids(client, "userId", user)
            return _delete_traces(client, traces)
    except httpx.HTTPError as exc:
        raise TraceErasureError(f"Langfuse is unreachable: {type(exc).__name__}") from None


def _delete_traces(client: httpx.Client, traces: set[str]) -> int:
    """Delete ``traces`` in batches of DELETE_BATCH; how many there were."""
    ordered = sorted(traces)
    for start in range(0, len(ordered), DELETE_BATCH):
        response = client.request(
            "DELETE", "/api/public/traces", json={"traceIds": ordered[start : start + DELETE_BATCH]}
        )
        _check(response, "delete traces")
    return len(ordered)


def delete_old_traces(project: LangfuseProject, older_than: datetime, *, timeout: float = 10.0) -> int:
    """Delete every trace of the project that started before ``older_than`` (retention)."""
    try:
        with _client(project, timeout) as client:
            return _delete_traces(
                client, _trace_ids(client, "toStartTime", older_than.astimezone(UTC).isoformat())
            )
    except httpx.HTTPError as exc:
        raise TraceErasureError(f"Langfuse is unreachable: {type(exc).__name__}") from None


ProjectOf = Callable[[int], LangfuseProject | None]
"""The Langfuse project a tenant's traces go to (its own, else the global one), or None."""

RETRY_BASE = 30.0
RETRY_MAX = 6 * 3600.0


def queue(
    db: Database,
    tenant_id: int,
    *,
    session_ids: list[str] | None = None,
    user_ids: list[str] | None = None,
    older_than: datetime | None = None,
) -> int:
    """Queue a deletion (processed by :func:`process_queue`); returns its id."""
    with db.tenant_session(tenant_id) as session:
        row = TraceErasure(
            tenant_id=tenant_id,
            session_ids=list(session_ids or []),
            user_ids=list(user_ids or []),
            older_than=older_than,
            status="pending",
            attempts=0,
            next_attempt_at=utcnow(),
            deleted_traces=0,
        )
        session.add(row)
        session.flush()
        return row.id


def process_queue(
    db: Database,
    project_of: ProjectOf,
    *,
    now: datetime | None = None,
    limit: int = 50,
    only: int | None = None,
    own_project_of: ProjectOf | None = None,
) -> dict[str, int]:
    """Run the due deletions (or just ``only``): done ones are marked, failed ones retried later
    with backoff (30 s doubling, at most 6 h apart; never given up). A retention deletion
    (``older_than``) runs only in the tenant's own project (``own_project_of``)."""
    moment = now or utcnow()
    query = select(TraceErasure.id, TraceErasure.tenant_id).where(TraceErasure.status == "pending")
    if only is not None:
        query = query.where(TraceErasure.id == only)
    else:
        query = query.where(TraceErasure.next_attempt_at <= moment)
    with db.admin_session() as session:
        due = list(session.execute(query.order_by(TraceErasure.next_attempt_at).limit(limit)))
    report = {"done": 0, "retry": 0, "traces": 0}
    for erasure_id, tenant_id in due:
        outcome = _run_one(db, project_of, own_project_of or _none, int(tenant_id), int(erasure_id), moment)
        report["done" if outcome >= 0 else "retry"] += 1
        report["traces"] += max(outcome, 0)
    return report


def _none(_tenant_id: int) -> LangfuseProject | None:
    return None


def _run_one(
    db: Database,
    project_of: ProjectOf,
    own_project_of: ProjectOf,
    tenant_id: int,
    erasure_id: int,
    now: datetime,
) -> int:
    with db.tenant_session(tenant_id) as session:
        row = session.get(TraceErasure, erasure_id)
        if row is None or row.status != "pending":
            return 0
        sessions, users, older = list(row.session_ids), list(row.user_ids), row.older_than
    project = own_project_of(tenant_id) if older is not None else project_of(tenant_id)
    error: str | None = None
    deleted = 0
    if project is not None:
        try:
            if older is not None:
                deleted = delete_old_traces(project, older)
            else:
                deleted = delete_customer_traces(project, session_ids=sessions, user_ids=users)
        except TraceErasureError as exc:
            error = str(exc)
    with db.tenant_session(tenant_id) as session:
        row = session.get(TraceErasure, erasure_id)
        if row is None:
            return 0
        row.attempts += 1
        if error is None:
            row.status, row.done_at, row.deleted_traces, row.last_error = "done", now, deleted, None
            if project is None:
                row.last_error = "no Langfuse project: nothing was traced"
            return deleted
        row.last_error = error[:200]
        wait = min(RETRY_BASE * 2 ** (row.attempts - 1), RETRY_MAX)
        row.next_attempt_at = now + timedelta(seconds=wait)
        return -1
