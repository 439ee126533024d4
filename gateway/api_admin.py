"""Admin endpoints: channels, provider, knowledge, templates, users, audit (settings: ``api_settings``).

Every handler runs in the signed-in user's tenant session; ids of other tenants are simply
not found (404). Configuration changes are audited (metadata only; secrets never).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Response, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels import ownership
from errors import NotFound, UserError
from gateway.deps import Admin, Principal, Services
from gateway.schemas import (
    AuditOut,
    AuditPage,
    ChainOut,
    ChainProblemOut,
    ChannelIn,
    ChannelOut,
    DocumentOut,
    IdPath,
    IngestOut,
    NewUserOut,
    ProviderIn,
    ProviderOut,
    TemplateIn,
    TemplateOut,
    UserIn,
    UserOut,
    UserPatch,
)
from gateway.services import GatewayServices
from gateway.templates import sync_settings_registry
from knowledge import service as kb
from store import audit
from store.models import AuditEntry, Channel, MessageTemplate, ProviderSetting, User
from store.repo import conversations
from store.repo import providers as provider_repo
from store.repo import users as user_repo
from store.repo.providers import ProviderConfig

router = APIRouter(prefix="/api", tags=["admin"])


def _audit(session: Session, who: Principal, action: str, subject: str | None = None, **details: Any) -> None:
    audit.append(session, who.tenant_id, actor=who.actor, action=action, subject=subject, details=details)


# --- channels ------------------------------------------------------------------------------------


def _channel_out(c: Channel) -> ChannelOut:
    return ChannelOut(
        id=c.id,
        phone_number_id=c.phone_number_id,
        display_phone_number=c.display_phone_number,
        waba_id=c.waba_id,
        created_at=c.created_at,
        status="active" if c.verified_at is not None else "pending",
        verified_at=c.verified_at,
        verification_error=c.verification_error,
    )


def _find_channel(session: Session, who: Principal, channel_id: int) -> Channel:
    channel = session.scalar(
        select(Channel).where(Channel.id == channel_id, Channel.tenant_id == who.tenant_id)
    )
    if channel is None:
        raise NotFound("no such channel")
    return channel


def _channel(services: GatewayServices, who: Principal, channel_id: int) -> ChannelOut:
    with services.db.tenant_session(who.tenant_id) as session:
        return _channel_out(_find_channel(session, who, channel_id))


@router.get("/channels", response_model=list[ChannelOut])
def list_channels(who: Admin, services: Services) -> list[ChannelOut]:
    with services.db.tenant_session(who.tenant_id) as session:
        rows = session.scalars(select(Channel).where(Channel.tenant_id == who.tenant_id).order_by(Channel.id))
        return [_channel_out(c) for c in rows]


_REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"description": "Ownership not proven (the same answer whoever holds the number)."}
}


@router.post(
    "/channels",
    response_model=ChannelOut,
    status_code=201,
    responses={202: {"description": "Saved as pending: the Graph API could not be asked."}, **_REFUSED},
)
def add_channel(body: ChannelIn, who: Admin, services: Services, response: Response) -> ChannelOut:
    """Connect a number once its access token proves it owns the number and account (the
    Graph API is asked with that token); a refused claim is not saved."""
    claim = ownership.Claim(**body.model_dump())
    verified = ownership.connect(services.db, who.tenant_id, claim, services.graph, actor=who.actor)
    if verified.status == "pending":
        response.status_code = 202
    return _channel(services, who, verified.channel_id)


@router.post("/channels/{channel_id}/verify", response_model=ChannelOut, responses=_REFUSED)
def verify_channel(channel_id: IdPath, who: Admin, services: Services) -> ChannelOut:
    """Prove the channel's ownership again (a pending channel becomes active)."""
    ownership.reverify(services.db, who.tenant_id, channel_id, services.graph, actor=who.actor)
    return _channel(services, who, channel_id)


@router.delete("/channels/{channel_id}", status_code=204)
def remove_channel(channel_id: IdPath, who: Admin, services: Services) -> Response:
    with services.db.tenant_session(who.tenant_id) as session:
        session.delete(_find_channel(session, who, channel_id))
        _audit(session, who, "config.channel_removed", f"channel:{channel_id}")
    return Response(status_code=204)


# --- provider ------------------------------------------------------------------------------------


@router.get("/provider", response_model=list[ProviderOut])
def get_provider(who: Admin, services: Services) -> list[ProviderOut]:
    with services.db.tenant_session(who.tenant_id) as session:
        rows = session.scalars(
            select(ProviderSetting)
            .where(ProviderSetting.tenant_id == who.tenant_id)
            .order_by(ProviderSetting.slot)
        )
        return [_provider_out(r) for r in rows]


def _provider_out(row: ProviderSetting) -> ProviderOut:
    return ProviderOut(
        slot=row.slot,
        provider=row.provider,
        model=row.model,
        base_url=row.base_url,
        api_key_set=row.api_key_ciphertext is not None,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
    )


def _check_host(services: GatewayServices, body: ProviderIn, current: ProviderConfig | None) -> bool:
    """Whether the URL stays operator-trusted; 422 when the policy refuses its host."""
    if body.base_url is None:
        return False
    if current is not None and current.base_url_trusted and current.base_url == body.base_url:
        return True  # the operator's own URL, unchanged
    try:
        services.provider_hosts.check(body.base_url)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    return False


@router.put("/provider/{slot}", response_model=ProviderOut)
def set_provider(
    slot: Literal["primary", "fallback"], body: ProviderIn, who: Admin, services: Services
) -> ProviderOut:
    """Set the provider; a new provider or host needs its key again (a key is bound to its host)."""
    db = services.db
    with db.tenant_session(who.tenant_id) as session:
        try:
            current: ProviderConfig | None = provider_repo.get(session, db.keyring, who.tenant_id, slot)
        except NotFound:
            current = None
        trusted = _check_host(services, body, current)
        key = body.api_key
        moved = current is not None and provider_repo.binding(
            current.provider, current.base_url
        ) != provider_repo.binding(body.provider, body.base_url)
        if (
            key is None
            and current is not None
            and current.api_key is not None
            and body.provider != "extractive"
        ):
            if moved:
                raise HTTPException(
                    422,
                    "changing the provider or its base URL needs the API key again: send api_key "
                    "(a stored key is only ever sent to the host it was entered for)",
                )
            key = current.api_key.reveal()
        row = provider_repo.set_provider(
            session,
            db.keyring,
            who.tenant_id,
            body.provider,
            model=body.model,
            base_url=body.base_url,
            api_key=key,
            slot=slot,
            trusted=trusted,
        )
        _audit(
            session,
            who,
            "config.provider",
            f"provider:{slot}",
            provider=body.provider,
            model=body.model,
            key_changed=body.api_key is not None,
            old_host=provider_repo.host_of(current.base_url) if current is not None else None,
            new_host=provider_repo.host_of(body.base_url),
        )
        return _provider_out(row)


# --- knowledge -----------------------------------------------------------------------------------


@router.get("/knowledge/documents", response_model=list[DocumentOut])
def list_documents(who: Admin, services: Services) -> list[DocumentOut]:
    return [
        DocumentOut(
            id=d.id,
            title=d.title,
            source_name=d.source_name,
            format=d.format,
            language=d.language,
            size_bytes=d.size_bytes,
            pages=d.pages,
            chunks=d.chunks,
        )
        for d in kb.list_documents(services.db, who.tenant_id)
    ]


@router.post("/knowledge/documents", response_model=IngestOut, status_code=201)
def upload_document(
    file: Annotated[UploadFile, File(description="Markdown, text, HTML, PDF or DOCX")],
    who: Admin,
    services: Services,
    title: Annotated[str | None, Form(max_length=300)] = None,
) -> IngestOut:
    if "\x00" in (file.filename or "") or "\x00" in (title or ""):
        raise HTTPException(422, "NUL characters are not allowed in the file name or the title")
    data = file.file.read(services.settings.api_max_bytes + 1)
    if len(data) > services.settings.api_max_bytes:
        raise HTTPException(413, "document too large")
    result = kb.ingest(services.db, who.tenant_id, file.filename or "document", data, title=title)
    with services.db.tenant_session(who.tenant_id) as session:
        _audit(
            session,
            who,
            "config.document_added",
            f"document:{result.document_id}",
            status=result.status,
            format=result.format,
            chunks=result.chunks,
            flagged=result.flagged,
        )
    return IngestOut(
        document_id=result.document_id,
        status=result.status,
        title=result.title,
        format=result.format,
        language=result.language,
        chunks=result.chunks,
        pages=result.pages,
        flagged=result.flagged,
    )


@router.delete("/knowledge/documents/{document_id}", status_code=204)
def remove_document(document_id: IdPath, who: Admin, services: Services) -> Response:
    kb.remove(services.db, who.tenant_id, document_id)
    with services.db.tenant_session(who.tenant_id) as session:
        _audit(session, who, "config.document_removed", f"document:{document_id}")
    return Response(status_code=204)


# --- templates -----------------------------------------------------------------------------------


def _template_out(t: MessageTemplate) -> TemplateOut:
    return TemplateOut(
        id=t.id,
        name=t.name,
        language=t.language,
        category=t.category,
        status=t.status,
        body_params=t.body_params,
        purposes=list(t.purposes or []),
        updated_at=t.updated_at,
    )


def _template(session: Session, who: Principal, template_id: int) -> MessageTemplate:
    row = session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.id == template_id, MessageTemplate.tenant_id == who.tenant_id
        )
    )
    if row is None:
        raise NotFound("no such template")
    return row


def _same_name(session: Session, who: Principal, body: TemplateIn, except_id: int | None = None) -> bool:
    query = select(MessageTemplate.id).where(
        MessageTemplate.tenant_id == who.tenant_id,
        MessageTemplate.name == body.name,
        MessageTemplate.language == body.language,
    )
    if except_id is not None:
        query = query.where(MessageTemplate.id != except_id)
    return session.scalar(query) is not None


@router.get("/templates", response_model=list[TemplateOut])
def list_templates(who: Admin, services: Services) -> list[TemplateOut]:
    with services.db.tenant_session(who.tenant_id) as session:
        rows = session.scalars(
            select(MessageTemplate)
            .where(MessageTemplate.tenant_id == who.tenant_id)
            .order_by(MessageTemplate.name, MessageTemplate.language)
        )
        return [_template_out(t) for t in rows]


@router.post("/templates", response_model=TemplateOut, status_code=201)
def add_template(body: TemplateIn, who: Admin, services: Services) -> TemplateOut:
    with services.db.tenant_session(who.tenant_id) as session:
        if _same_name(session, who, body):
            raise HTTPException(409, "a template with this name and language exists")
        now = services.clock()
        row = MessageTemplate(tenant_id=who.tenant_id, created_at=now, updated_at=now, **body.model_dump())
        session.add(row)
        session.flush()
        sync_settings_registry(session, who.tenant_id)
        _audit(
            session, who, "config.template_added", f"template:{row.id}", name=body.name, status=body.status
        )
        return _template_out(row)


@router.put("/templates/{template_id}", response_model=TemplateOut)
def update_template(template_id: IdPath, body: TemplateIn, who: Admin, services: Services) -> TemplateOut:
    with services.db.tenant_session(who.tenant_id) as session:
        row = _template(session, who, template_id)
        if _same_name(session, who, body, except_id=template_id):
            raise HTTPException(409, "a template with this name and language exists")
        for name, value in body.model_dump().items():
            setattr(row, name, value)
        row.updated_at = services.clock()
        session.flush()
        sync_settings_registry(session, who.tenant_id)
        _audit(
            session, who, "config.template_changed", f"template:{row.id}", name=body.name, status=body.status
        )
        return _template_out(row)


@router.delete("/templates/{template_id}", status_code=204)
def remove_template(template_id: IdPath, who: Admin, services: Services) -> Response:
    with services.db.tenant_session(who.tenant_id) as session:
        session.delete(_template(session, who, template_id))
        session.flush()
        sync_settings_registry(session, who.tenant_id)
        _audit(session, who, "config.template_removed", f"template:{template_id}")
    return Response(status_code=204)


# --- users ---------------------------------------------------------------------------------------


def _user_out(u: User) -> UserOut:
    return UserOut(
        id=u.id,
        name=u.name,
        role=u.role,
        disabled=u.disabled,
        can_read_bodies=u.can_read_bodies,
        token_prefix=u.token_prefix,
        locked_until=u.locked_until,
        last_used_at=u.last_used_at,
        created_at=u.created_at,
        expires_at=u.expires_at,
    )


@router.get("/users", response_model=list[UserOut])
def list_users(who: Admin, services: Services) -> list[UserOut]:
    with services.db.tenant_session(who.tenant_id) as session:
        return [_user_out(u) for u in user_repo.list_for_tenant(session, who.tenant_id)]


@router.post("/users", response_model=NewUserOut, status_code=201)
def add_user(body: UserIn, who: Admin, services: Services) -> NewUserOut:
    if body.expires_at is not None and body.expires_at <= services.clock():
        raise HTTPException(422, "expires_at must be in the future")
    with services.db.tenant_session(who.tenant_id) as session:
        created = user_repo.create(session, who.tenant_id, body.role, body.name, expires_at=body.expires_at)
        created.user.can_read_bodies = body.can_read_bodies
        session.flush()
        expires = body.expires_at.isoformat() if body.expires_at else None
        _audit(
            session, who, "config.user_added", f"user:{created.user.id}", role=body.role, expires_at=expires
        )
        return NewUserOut(**_user_out(created.user).model_dump(), token=created.token.reveal())


@router.patch("/users/{user_id}", response_model=UserOut)
def change_user(user_id: IdPath, body: UserPatch, who: Admin, services: Services) -> UserOut:
    with services.db.tenant_session(who.tenant_id) as session:
        user = session.scalar(select(User).where(User.id == user_id, User.tenant_id == who.tenant_id))
        if user is None:
            raise NotFound("no such user")
        changes = body.model_dump(exclude_none=True, exclude={"unlock"})
        disabling = bool(body.disabled) and not user.disabled
        for name, value in changes.items():
            setattr(user, name, value)
        if body.unlock:
            user.failed_attempts, user.locked_until = 0, None
            changes["unlock"] = True
        session.flush()
        admins = session.scalars(
            select(User.id).where(
                User.tenant_id == who.tenant_id, User.role == "admin", User.disabled.is_(False)
            )
        ).all()
        if not admins:
            raise HTTPException(409, "the tenant must keep at least one enabled admin")
        _audit(session, who, "config.user_changed", f"user:{user_id}", changes=sorted(changes))
        if disabling:  # their conversations go back to the queue, where other agents can claim them
            for conversation_id in conversations.return_to_queue(session, user_id):
                _audit(
                    session,
                    who,
                    "conversation.returned_to_queue",
                    f"conversation:{conversation_id}",
                    reason="agent disabled",
                    agent_id=user_id,
                )
        return _user_out(user)


# --- audit ---------------------------------------------------------------------------------------


@router.get("/audit", response_model=AuditPage, tags=["audit"])
def read_audit(
    who: Admin,
    services: Services,
    since: datetime | None = None,
    until: datetime | None = None,
    action: Annotated[
        str | None, Query(max_length=64, description="exact, or a prefix ending in '.'")
    ] = None,
    after_seq: Annotated[int, Query(ge=0, le=2**31)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise HTTPException(422, "give times with a UTC offset (e.g. 2026-01-01T00:00:00Z)")
    with services.db.tenant_session(who.tenant_id) as session:
        query = select(AuditEntry).where(AuditEntry.tenant_id == who.tenant_id, AuditEntry.seq > after_seq)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        if action:
            if action.endswith("."):
                query = query.where(AuditEntry.action.startswith(action, autoescape=True))
            else:
                query = query.where(AuditEntry.action == action)
        rows = list(session.scalars(query.order_by(AuditEntry.seq).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        page = AuditPage(
            entries=[
                AuditOut(
                    seq=r.seq,
                    at=r.at,
                    actor=r.actor,
                    action=r.action,
                    subject=r.subject,
                    details=dict(r.details or {}),
                    hash=r.hash,
                )
                for r in rows
            ],
            next_after_seq=rows[-1].seq if more and rows else None,
        )
        _audit(session, who, "audit.export", None, entries=len(rows), filter=action)
        return page


@router.get("/audit/verify", response_model=ChainOut, tags=["audit"])
def verify_audit(who: Admin, services: Services) -> ChainOut:
    with services.db.tenant_session(who.tenant_id) as session:
        report = audit.verify_in(session, who.tenant_id, services.db.audit_anchor)
    return ChainOut(
        ok=not report.problems,
        entries=report.entries,
        head=report.head,
        problems=[ChainProblemOut(seq=p.seq, kind=p.kind, detail=p.detail) for p in report.problems],
    )
