"""Builds the long-lived services (receptionist, tracer) from settings."""

from __future__ import annotations

from functools import cache

from agent.checkpoints import CheckpointStore
from agent.receptionist import AlertSink, Receptionist
from agent.redaction.redactor import Redactor, load_ner_pipeline
from agent.redaction.sql_vault import SqlVault
from agent.tracing import LangfuseProject, LangfuseTracer, NoopTracer, Tracer
from frontdesk.settings import VAR_DIR, LangfuseSettings, Settings
from store.db import Database


@cache
def ner_pipeline() -> object:
    """spaCy's pipeline, loaded once per process."""
    return load_ner_pipeline()


def checkpoint_store(settings: Settings, db: Database) -> CheckpointStore:
    """Checkpoints next to the data: PostgreSQL in production, a SQLite file by default."""
    if settings.checkpoint_url:
        return CheckpointStore(settings.checkpoint_url)
    if db.is_postgres:
        return CheckpointStore(settings.database_admin_url or settings.database_url, schema=db.schema)
    return CheckpointStore(f"sqlite:///{VAR_DIR}/checkpoints.db")


def tracer(langfuse: LangfuseSettings | None = None) -> Tracer:
    """Langfuse when its variables are set, otherwise no tracing."""
    langfuse = langfuse or LangfuseSettings()
    if not langfuse.configured or langfuse.secret_key is None or langfuse.public_key is None:
        return NoopTracer()
    project = LangfuseProject(langfuse.public_key, langfuse.secret_key.get_secret_value(), langfuse.url)
    return LangfuseTracer(
        global_project=project, environment=langfuse.tracing_environment, release=langfuse.release
    )


def receptionist(
    settings: Settings, db: Database, *, alert: AlertSink | None = None, trace: Tracer | None = None
) -> Receptionist:
    """The receptionist every entry point runs (workers, chat, evals)."""
    return Receptionist(
        db,
        redactor=Redactor(SqlVault(db), nlp=ner_pipeline()),
        checkpoints=checkpoint_store(settings, db),
        tracer=trace or tracer(),
        alert=alert or (lambda _kind, _detail: None),
    )
