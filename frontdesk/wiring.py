"""Wiring: builds the pieces from settings (the only place that reads configuration)."""

from __future__ import annotations

import sys

from frontdesk.settings import VAR_DIR, Settings, load_settings, redis_url_of, secure_write
from store.audit_anchor import AuditAnchor, FileAnchor, RedisAnchor, scope_of
from store.crypto import KeyConfigError, Keyring
from store.db import Database, check_url, private_sqlite_file
from store.keystore import KeyStore, default_store_url


def load_keyring(settings: Settings, *, announce: bool = True) -> Keyring:
    """The master keys from the environment, or in development the local key file."""
    if settings.master_keys is not None:
        return Keyring.from_spec(settings.master_keys.get_secret_value())
    if settings.env == "production":
        raise KeyConfigError("FRONTDESK_MASTER_KEYS is required in production (FRONTDESK_ENV=production)")
    path = settings.key_file
    if path.exists():
        return Keyring.from_spec(path.read_text().strip())
    secure_write(path, Keyring.new_key_spec("k1") + "\n")
    if announce:
        print(f"frontdesk: created a development master key at {path} (mode 0600)", file=sys.stderr)
    return Keyring.from_spec(path.read_text().strip())


def sqlite_files(settings: Settings) -> list[str]:
    """The SQLite files of the embedded default (broker, checkpoints) the settings name."""
    files: list[str] = []
    for url in (settings.broker_url, settings.checkpoint_url or ""):
        for scheme in ("sqla+sqlite:///", "sqlite:///"):
            if url.startswith(scheme) and len(url) > len(scheme):
                files.append(url[len(scheme) :].split("?", 1)[0])
    if settings.checkpoint_url is None and settings.database_url.startswith("sqlite"):
        files.append(str(VAR_DIR / "checkpoints.db"))
    return files


def open_database(settings: Settings | None = None) -> Database:
    """The database named by the settings, with the keyring; local files are private (0600)."""
    settings = settings or load_settings()
    check_url(settings.database_url)  # before a development key file is created for nothing
    for path in sqlite_files(settings):
        private_sqlite_file(path)
    db = Database(
        settings.database_url,
        load_keyring(settings),
        admin_url=settings.database_admin_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        keystore=KeyStore(settings.keystore_url or default_store_url(settings.database_url)),
    )
    db.audit_anchor = audit_anchor(settings, scope_of(db.url, db.schema))
    return db


def audit_anchor(settings: Settings, scope: str) -> AuditAnchor:
    """Audit chain heads in Redis when the processes share one, else in files beside the key."""
    redis_url = redis_url_of(settings)
    if redis_url:
        import redis

        return RedisAnchor(redis.Redis.from_url(redis_url), scope)
    return FileAnchor(settings.key_file.parent / "audit-anchor", scope)
