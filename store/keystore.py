"""Per-contact data keys, kept outside the database (crypto-shredding).

Each contact's personal data (number, name, messages, notes, vault values…) is sealed under a
data key of its own. The data key is wrapped by the master key and stored in a key store that
is not part of the database or its backups: a SQLite file (``var/keys.db`` by default) or a
separate PostgreSQL database or schema. Erasing a contact destroys its data key, so a backup of
the database taken before the erasure no longer yields that contact's data once restored.

A token sealed under a data key names it (key id ``dk<contact id>``); :class:`DataKeyring`
decrypts any token, under a master key or a data key, so readers need not know which it is.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    MetaData,
    Table,
    Text,
    create_engine,
    delete,
    event,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from store.crypto import DecryptionError, Keyring, MasterKey
from store.pooling import ping_when_idle

DATA_KEY_PREFIX = "dk"
CACHE_SIZE = 20_000
CACHE_TTL = 30.0
"""Seconds an unwrapped data key stays in a process's memory: an erasure evicts it at once in
the erasing process, other processes forget it within this time."""

_metadata = MetaData()
data_keys = Table(
    "data_keys",
    _metadata,
    Column("contact_id", BigInteger, primary_key=True, autoincrement=False),
    Column("tenant_id", BigInteger, nullable=False, index=True),
    Column("wrapped", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def data_key_id(contact_id: int) -> str:
    return f"{DATA_KEY_PREFIX}{contact_id}"


def contact_of_token(token: str) -> int | None:
    """The contact whose data key sealed ``token``, or None (a master-key token)."""
    key_id = Keyring.key_id_of(token)
    if key_id.startswith(DATA_KEY_PREFIX) and key_id[len(DATA_KEY_PREFIX) :].isdigit():
        return int(key_id[len(DATA_KEY_PREFIX) :])
    return None


def _wrap_aad(tenant_id: int, contact_id: int) -> str:
    return f"data_keys|{tenant_id}|{contact_id}"


class KeyStore:
    """The wrapped data keys: one row per contact, in SQLite or PostgreSQL (not the app database).

    ``url`` is a SQLAlchemy URL; a PostgreSQL URL may name a schema with ``?schema=NAME``.
    """

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        parsed = make_url(url)
        schema = schema or parsed.query.get("schema")  # type: ignore[assignment]
        parsed = parsed.difference_update_query(["schema"])
        self.url = parsed
        self.schema = str(schema) if schema else None
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        kwargs: dict[str, Any] = {}
        if not self.is_postgres:
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                if not Path(database).exists():
                    Path(database).touch(mode=0o600)
                os.chmod(database, 0o600)
            else:
                from sqlalchemy.pool import StaticPool

                kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_size=5, max_overflow=5)
        self.engine: Engine = create_engine(parsed, **kwargs)
        if self.is_postgres:
            ping_when_idle(self.engine)
        if self.is_postgres and self.schema:
            name = self.schema

            @event.listens_for(self.engine, "connect")
            def _search_path(dbapi_connection: Any, _record: Any) -> None:  # pyright: ignore[reportUnusedFunction]
                cursor = dbapi_connection.cursor()
                cursor.execute(f'SET search_path TO "{name}"')
                cursor.close()
                dbapi_connection.commit()
        elif not self.is_postgres:

            @event.listens_for(self.engine, "connect")
            def _sqlite(dbapi_connection: Any, _record: Any) -> None:  # pyright: ignore[reportUnusedFunction]
                cursor = dbapi_connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA secure_delete=ON")  # a destroyed key leaves no bytes behind
                cursor.close()

        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KeyStore({self.url.render_as_string(hide_password=True)!r})"

    def setup(self) -> None:
        """Create the table (and the schema) if missing."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            with self.engine.begin() as connection:
                if self.is_postgres and self.schema:
                    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
                    connection.execute(text(f'SET search_path TO "{self.schema}"'))
                _metadata.create_all(connection, checkfirst=True)
            self._ready = True

    def get(self, contact_id: int) -> tuple[int, str] | None:
        """The tenant and wrapped key of a contact, or None (never made, or destroyed)."""
        self.setup()
        with self.engine.connect() as connection:
            row = connection.execute(
                select(data_keys.c.tenant_id, data_keys.c.wrapped).where(data_keys.c.contact_id == contact_id)
            ).one_or_none()
        return None if row is None else (int(row[0]), str(row[1]))

    def put(self, tenant_id: int, contact_id: int, wrapped: str) -> bool:
        """Store a new wrapped key; False when the contact already has one (kept as it is)."""
        self.setup()
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    data_keys.insert().values(
                        contact_id=contact_id,
                        tenant_id=tenant_id,
                        wrapped=wrapped,
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            return False
        return True

    def destroy(self, contact_ids: list[int]) -> int:
        """Delete the keys of these contacts; what they sealed can never be read again."""
        if not contact_ids:
            return 0
        self.setup()
        with self.engine.begin() as connection:
            result = connection.execute(delete(data_keys).where(data_keys.c.contact_id.in_(contact_ids)))
        return int(getattr(result, "rowcount", 0) or 0)

    def contacts(self, older_than: timedelta | None = None) -> list[tuple[int, int]]:
        """Every (tenant, contact) with a key; with ``older_than``, only keys made before then."""
        self.setup()
        query = select(data_keys.c.tenant_id, data_keys.c.contact_id)
        if older_than is not None:
            query = query.where(data_keys.c.created_at < datetime.now(UTC) - older_than)
        with self.engine.connect() as connection:
            return [(int(t), int(c)) for t, c in connection.execute(query)]

    def rewrap(self, master: Keyring, batch_size: int = 500) -> int:
        """Re-wrap every data key under the newest master key (``frontdesk keys rotate``)."""
        self.setup()
        done = 0
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(data_keys.c.contact_id, data_keys.c.tenant_id, data_keys.c.wrapped)
            )
            stale = [(int(c), int(t), str(w)) for c, t, w in rows if master.needs_rotation(str(w))]
        for start in range(0, len(stale), batch_size):
            with self.engine.begin() as connection:
                for contact_id, tenant_id, wrapped in stale[start : start + batch_size]:
                    aad = _wrap_aad(tenant_id, contact_id)
                    fresh = master.encrypt(master.decrypt(wrapped, aad=aad), aad=aad)
                    result = connection.execute(
                        update(data_keys)
                        .where(data_keys.c.contact_id == contact_id, data_keys.c.wrapped == wrapped)
                        .values(wrapped=fresh)
                    )
                    done += int(getattr(result, "rowcount", 0) or 0)
        return done

    def dispose(self) -> None:
        self.engine.dispose()


class DataKeyring(Keyring):
    """The master keyring plus the key store: seals contact data under the contact's data key.

    :meth:`decrypt` opens master-key and data-key tokens alike; :meth:`for_contact` is the keyring
    to seal one contact's data with. Unwrapped data keys are cached briefly in memory.
    """

    def __init__(self, master: Keyring, store: KeyStore) -> None:
        super().__init__(master.keys)
        self.master = master
        self.store = store
        self._cache: OrderedDict[int, tuple[float, Keyring]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DataKeyring(key_ids={self.key_ids!r}, store={self.store!r})"

    def _cached(self, contact_id: int) -> Keyring | None:
        with self._cache_lock:
            hit = self._cache.get(contact_id)
            if hit is None:
                return None
            if hit[0] < time.monotonic():
                del self._cache[contact_id]
                return None
            self._cache.move_to_end(contact_id)
            return hit[1]

    def _remember(self, contact_id: int, keyring: Keyring) -> Keyring:
        with self._cache_lock:
            self._cache[contact_id] = (time.monotonic() + CACHE_TTL, keyring)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return keyring

    def _unwrap(self, contact_id: int, tenant_id: int, wrapped: str) -> Keyring:
        raw = base64.urlsafe_b64decode(self.master.decrypt(wrapped, aad=_wrap_aad(tenant_id, contact_id)))
        return Keyring([MasterKey(data_key_id(contact_id), raw)])

    def data_key(self, contact_id: int) -> Keyring | None:
        """The contact's data key as a keyring, or None when it does not exist (erased)."""
        cached = self._cached(contact_id)
        if cached is not None:
            return cached
        found = self.store.get(contact_id)
        if found is None:
            return None
        return self._remember(contact_id, self._unwrap(contact_id, found[0], found[1]))

    def for_contact(self, tenant_id: int, contact_id: int) -> Keyring:
        """The keyring that seals this contact's data (its data key, made on first use)."""
        existing = self.data_key(contact_id)
        if existing is not None:
            return existing
        return self._make(tenant_id, contact_id)

    def for_new_contact(self, tenant_id: int, contact_id: int) -> Keyring:
        """The data key of a contact whose id was just drawn: made without looking it up first
        (a key that exists after all is kept and returned, as :meth:`for_contact` does)."""
        cached = self._cached(contact_id)
        return cached if cached is not None else self._make(tenant_id, contact_id)

    def _make(self, tenant_id: int, contact_id: int) -> Keyring:
        raw = os.urandom(32)
        wrapped = self.master.encrypt(
            base64.urlsafe_b64encode(raw).decode(), aad=_wrap_aad(tenant_id, contact_id)
        )
        if not self.store.put(tenant_id, contact_id, wrapped):  # another process made it first
            found = self.data_key(contact_id)
            if found is None:
                raise DecryptionError("the contact's data key vanished while it was being made")
            return found
        return self._remember(contact_id, Keyring([MasterKey(data_key_id(contact_id), raw)]))

    def forget(self, contact_ids: list[int]) -> None:
        """Drop these contacts' data keys from this process's memory."""
        with self._cache_lock:
            for contact_id in contact_ids:
                self._cache.pop(contact_id, None)

    def destroy(self, contact_ids: list[int]) -> int:
        """Destroy these contacts' data keys (crypto-shredding)."""
        self.forget(contact_ids)
        return self.store.destroy(contact_ids)

    def decrypt(self, token: str, *, aad: str) -> str:
        contact_id = contact_of_token(token)
        if contact_id is None:
            return self.master.decrypt(token, aad=aad)
        key = self.data_key(contact_id)
        if key is None:
            raise DecryptionError("this value's data key was destroyed (the contact was erased)")
        return key.decrypt(token, aad=aad)

    def needs_rotation(self, token: str) -> bool:
        """Data-key tokens never do: their key is re-wrapped instead (:meth:`KeyStore.rewrap`)."""
        return contact_of_token(token) is None and self.master.needs_rotation(token)


def default_store_url(database_url: str) -> str:
    """Where the key store goes when none is configured: beside a SQLite database file
    (``var/keys.db`` for the default ``var/frontdesk.db``), else ``var/keys.db``."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            return "sqlite://"
        return f"sqlite:///{Path(database).parent / 'keys.db'}"
    return "sqlite:///var/keys.db"
