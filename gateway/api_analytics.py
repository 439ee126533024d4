"""Analyst endpoints: runs (the workers' turns), trace links and eval results.

Metadata only; message bodies and handoff summaries only for users granted ``can_read_bodies``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, HTTPException, Path, Query
from sqlalchemy import select

from errors import NotFound
from gateway.deps import Analyst, Principal, Services
from gateway.schemas import EvalOut, RunDetailOut, RunMessageOut, RunOut
from gateway.services import GatewayServices
from store.models import EvalResult, Message, Tenant, TurnRow
from store.sealed import unseal

router = APIRouter(prefix="/api", tags=["analytics"])


def trace_url(services: GatewayServices, tenant_slug: str, turn: TurnRow) -> str | None:
    template = services.settings.trace_url_template
    if not template:
        return None
    return template.format(
        session_id=f"{tenant_slug}:{turn.conversation_id}",
        turn_id=turn.id,
        conversation_id=turn.conversation_id,
        tenant=tenant_slug,
    )


def _run_out(services: GatewayServices, slug: str, t: TurnRow) -> RunOut:
    return RunOut(
        id=t.id,
        conversation_id=t.conversation_id,
        status=t.status,
        epoch=t.epoch,
        attempts=t.attempts,
        message_count=t.message_count,
        started_at=t.started_at,
        finished_at=t.finished_at,
        last_error=t.last_error,
        trace_url=trace_url(services, slug, t),
    )


def _slug(services: GatewayServices, who: Principal) -> str:
    with services.db.tenant_session(who.tenant_id) as session:
        tenant = session.get(Tenant, who.tenant_id)
        return tenant.slug if tenant else str(who.tenant_id)


@router.get("/runs", response_model=list[RunOut])
def list_runs(
    who: Analyst,
    services: Services,
    status: Annotated[str | None, Query(max_length=16)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[RunOut]:
    if since is not None and since.tzinfo is None:
        raise HTTPException(422, "give times with a UTC offset")
    slug = _slug(services, who)
    with services.db.tenant_session(who.tenant_id) as session:
        query = select(TurnRow).where(TurnRow.tenant_id == who.tenant_id)
        if status:
            query = query.where(TurnRow.status == status)
        if since is not None:
            query = query.where(TurnRow.started_at >= since)
        rows = session.scalars(
            query.order_by(TurnRow.started_at.desc(), TurnRow.id).limit(limit).offset(offset)
        )
        return [_run_out(services, slug, t) for t in rows]


@router.get("/runs/{run_id}", response_model=RunDetailOut)
def get_run(run_id: Annotated[str, Path(max_length=64)], who: Analyst, services: Services) -> RunDetailOut:
    slug = _slug(services, who)
    keyring = services.db.keyring
    with services.db.tenant_session(who.tenant_id) as session:
        turn = session.scalar(select(TurnRow).where(TurnRow.id == run_id, TurnRow.tenant_id == who.tenant_id))
        if turn is None:
            raise NotFound("no such run")
        messages = session.scalars(
            select(Message)
            .where(Message.tenant_id == who.tenant_id, Message.turn_id == turn.id)
            .order_by(Message.created_at, Message.id)
        ).all()
        bodies = who.can_read_bodies
        return RunDetailOut(
            **_run_out(services, slug, turn).model_dump(),
            messages=[
                RunMessageOut(
                    id=m.id,
                    kind=m.kind,
                    created_at=m.created_at,
                    body=unseal(keyring, m, "body_ciphertext") if bodies else None,
                )
                for m in messages
            ],
            handoff_summary=unseal(keyring, turn, "handoff_summary_ciphertext") if bodies else None,
        )


@router.get("/evals", response_model=list[EvalOut])
def list_evals(
    who: Analyst,
    services: Services,
    run_name: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[EvalOut]:
    with services.db.tenant_session(who.tenant_id) as session:
        query = select(EvalResult).where(EvalResult.tenant_id == who.tenant_id)
        if run_name:
            query = query.where(EvalResult.run_name == run_name)
        rows = session.scalars(
            query.order_by(EvalResult.created_at.desc(), EvalResult.id.desc()).limit(limit).offset(offset)
        )
        return [_eval_out(r) for r in rows]


def _text(details: dict[str, Any], name: str) -> str | None:
    value = details.get(name)
    return value if isinstance(value, str) else None


def _eval_out(row: EvalResult) -> EvalOut:
    details: dict[str, Any] = row.details or {}
    failing = details.get("failing_checks")
    return EvalOut(
        id=row.id,
        run_name=row.run_name,
        scenario=row.scenario,
        metric=row.metric,
        score=row.score,
        passed=row.passed,
        trace_id=row.trace_id,
        trace_url=_text(details, "trace_url"),
        suite=_text(details, "suite"),
        provider=_text(details, "provider"),
        family=_text(details, "family"),
        status=_text(details, "status"),
        failing_checks=[str(c) for c in cast(list[Any], failing)] if isinstance(failing, list) else [],
        created_at=row.created_at,
    )
