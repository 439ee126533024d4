"""Settings from the environment (prefix ``FRONTDESK_``), with embedded defaults for a laptop."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path("var")


class Settings(BaseSettings):
    """Everything Frontdesk reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="FRONTDESK_", extra="ignore")

    env: Literal["development", "production"] = "development"
    """``production`` refuses to start without ``FRONTDESK_MASTER_KEYS``."""
    database_url: str = f"sqlite:///{VAR_DIR}/frontdesk.db"
    """What the application connects with (on PostgreSQL, ideally as ``frontdesk_app``)."""
    database_admin_url: str | None = None
    """Owner connection for migrations and key rotation; defaults to ``database_url``."""
    database_pool_size: int = 20
    """Connections each process keeps open (a worker's 200 threads share them: a transaction
    is short, and no thread holds one across a model call)."""
    database_max_overflow: int = 5
    """Extra connections for a burst, closed when returned (each costs a new login)."""
    broker_url: str = f"sqla+sqlite:///{VAR_DIR}/broker.db"
    """Celery broker: Redis in production, a file-backed broker needing no server by default."""
    redis_url: str | None = None
    """Redis for leases, fairness and the audit anchor; defaults to the broker URL if it is Redis."""
    checkpoint_url: str | None = None
    """Where graph checkpoints live; defaults to ``var/checkpoints.db`` (SQLite) or the database."""
    whatsapp_graph_url: str = "https://graph.facebook.com/v21.0"
    """Meta's Cloud API (a local fake in tests and the demo)."""
    master_keys: SecretStr | None = None
    """Encryption keys, newest first: ``id2:base64key,id1:base64key`` (32-byte keys)."""
    keystore_url: str | None = None
    """Where contacts' data keys live, outside the database and its backups: a SQLite file
    (default ``keys.db`` beside a SQLite database, so ``var/keys.db``; else ``var/keys.db``) or a
    separate PostgreSQL database, or schema (``postgresql+psycopg://…/db?schema=frontdesk_keys``)."""
    key_file: Path = Field(default=VAR_DIR / "master.key")
    """Development only: where the local key is kept when ``master_keys`` is unset."""
    provider_hosts: str = ""
    """Hosts (``name`` or ``name:port``, comma separated) tenant admins may point their model
    provider at; empty: any host whose addresses are all public."""
    trusted_proxies: str = ""
    """Addresses (comma separated) whose ``X-Forwarded-For`` gives the client; none by default."""
    api_docs: bool = True
    """Serve ``/docs`` and ``/openapi.json`` (``FRONTDESK_API_DOCS=0`` turns them off)."""
    body_timeout: float = 30.0
    """Seconds a client may take to send a request body before it is answered 408."""
    redaction_ner: bool = False
    """Run spaCy NER in the redactor as an extra name net (``FRONTDESK_REDACTION_NER=1``); off by
    default, and then spaCy's pipeline is never loaded (faster start-up, less memory)."""


def redis_url_of(settings: Settings) -> str | None:
    """The Redis the processes share, if any (``FRONTDESK_REDIS_URL``, else a Redis broker)."""
    broker = settings.broker_url
    return settings.redis_url or (broker if broker.startswith(("redis://", "rediss://")) else None)


def load_settings() -> Settings:
    return Settings()


def secure_write(path: Path, content: str) -> None:
    """Write a file only its owner can read (0600), creating parent folders."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.chmod(path, 0o600)


class LangfuseSettings(BaseSettings):
    """The global Langfuse project, from Langfuse's own ``LANGFUSE_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="LANGFUSE_", extra="ignore")

    public_key: str | None = None
    secret_key: SecretStr | None = None
    base_url: str | None = None
    host: str | None = None
    tracing_environment: str | None = None
    release: str | None = None

    @property
    def url(self) -> str:
        return self.base_url or self.host or "https://cloud.langfuse.com"

    @property
    def configured(self) -> bool:
        return bool(self.public_key and self.secret_key)
