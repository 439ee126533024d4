"""Builds the long-lived services (receptionist, tracer) from settings."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from agent.checkpoints import CheckpointStore
from agent.llm.hosts import HostPolicy
from agent.tracing import LangfuseProject, LangfuseTracer, Tracer
from frontdesk.settings import VAR_DIR, LangfuseSettings, Settings
from store.db import Database
from store.repo import tracing as tracing_repo
from workers.privacy import PrivacyServices

if TYPE_CHECKING:  # the redactor pulls in presidio and spaCy (about 80 MB): imported when built,
    # so a process that never runs a turn (the gateway, for its privacy services) goes without
    from agent.receptionist import AlertSink, ProviderFactory, Receptionist
    from agent.redaction.redactor import Redactor


def redactor(settings: Settings, db: Database) -> Redactor:
    """The redactor over the database's vault; spaCy's pipeline loads only with ``redaction_ner``."""
    from agent.redaction.redactor import Redactor
    from agent.redaction.sql_vault import SqlVault

    return Redactor(SqlVault(db), use_ner=settings.redaction_ner)


def checkpoint_store(settings: Settings, db: Database) -> CheckpointStore:
    """Checkpoints next to the data: PostgreSQL in production, a SQLite file by default."""
    if settings.checkpoint_url:
        return CheckpointStore(settings.checkpoint_url)
    if db.is_postgres:
        return CheckpointStore(settings.database_url, schema=db.schema, pin=db.pin)
    return CheckpointStore(f"sqlite:///{VAR_DIR}/checkpoints.db")


def tracer(db: Database, langfuse: LangfuseSettings | None = None) -> Tracer:
    """Langfuse: the global project from ``LANGFUSE_*``, and tenants' own projects from the store."""
    langfuse = langfuse or LangfuseSettings()
    global_project = None
    if langfuse.public_key and langfuse.secret_key is not None:
        global_project = LangfuseProject(
            langfuse.public_key, langfuse.secret_key.get_secret_value(), langfuse.url
        )
    cache: dict[int, tuple[float, LangfuseProject | None]] = {}

    def tenant_project(tenant_id: int) -> LangfuseProject | None:
        hit = cache.get(tenant_id)
        if hit is None or time.monotonic() - hit[0] > 60:
            with db.tenant_session(tenant_id) as session:
                found = tracing_repo.project_of(session, db.keyring, tenant_id)
            project = LangfuseProject(found[0], found[1].reveal(), found[2]) if found else None
            hit = cache[tenant_id] = (time.monotonic(), project)
        return hit[1]

    return LangfuseTracer(
        global_project=global_project,
        tenant_project=tenant_project,
        environment=langfuse.tracing_environment,
        release=langfuse.release,
    )


def receptionist(
    settings: Settings,
    db: Database,
    *,
    alert: AlertSink | None = None,
    trace: Tracer | None = None,
    provider_factory: ProviderFactory | None = None,
    note_provider_errors: bool = True,
) -> Receptionist:
    """The receptionist every entry point runs (workers, chat, evals; evals pass a provider
    factory that records the calls or points them at the simulator)."""
    from agent.receptionist import Receptionist

    return Receptionist(
        db,
        redactor=redactor(settings, db),
        checkpoints=checkpoint_store(settings, db),
        tracer=trace or tracer(db),
        alert=alert or (lambda _kind, _detail: None),
        hosts=HostPolicy.from_spec(settings.provider_hosts),
        provider_factory=provider_factory,
        note_provider_errors=note_provider_errors,
    )


def privacy_services(
    settings: Settings, db: Database, langfuse: LangfuseSettings | None = None
) -> PrivacyServices:
    """Every store a privacy request reaches: checkpoints, Redis (if configured), Langfuse."""
    from workers.context import WorkerConfig
    from workers.runtime import redis_client

    langfuse = langfuse or LangfuseSettings()
    config = WorkerConfig.from_env()
    global_project = None
    if langfuse.public_key and langfuse.secret_key is not None:
        global_project = LangfuseProject(
            langfuse.public_key, langfuse.secret_key.get_secret_value(), langfuse.url
        )

    def own_project(tenant_id: int) -> LangfuseProject | None:
        with db.tenant_session(tenant_id) as session:
            found = tracing_repo.project_of(session, db.keyring, tenant_id)
        return LangfuseProject(found[0], found[1].reveal(), found[2]) if found else None

    return PrivacyServices(
        db=db,
        checkpoints=checkpoint_store(settings, db),
        redis=redis_client(config.redis_url, max_connections=5) if config.redis_url else None,
        redis_prefix=config.redis_prefix,
        project_of=lambda tenant_id: own_project(tenant_id) or global_project,
        own_project_of=own_project,
    )
