"""What a turn needs from a tenant's settings, kept in memory per process.

A turn used to read the tenant's row, its provider settings and its business vocabulary
(three transactions, pydantic models rebuilt) on every message. :class:`TenantRuntimes`
keeps them per tenant and trusts an entry for at most ``revalidate_s`` (1 s): after that one
small statement compares the tenant's ``settings_version``, which the database bumps on
every change to the tenant's row or its provider settings (migration 0008), and reloads on
a difference. So a settings change reaches every worker within a second. A worker's turn
reads the version with the turn itself (``workers.mailbox.open_turn``) and passes it in: no
statement of its own, and the change is seen by the next turn.

Provider keys stay sealed in the cache: :meth:`TenantRuntime.keys` unseals them for the
turn that calls the provider, bound to the tenant's own rows.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from agent.llm.types import Price, ProviderSettings
from agent.tenant import TenantProfile
from errors import NotFound
from knowledge.vocabulary import business_vocabulary
from store.crypto import Keyring
from store.db import Database
from store.models import ProviderSetting, Tenant
from store.repo import providers
from textnorm import fold

DEFAULT_MODELS = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "gemini": "gemini-2.0-flash",
    "openai-compatible": "llama3.1",
    "extractive": "extractive",
}
REVALIDATE_S = 1.0
"""How long an entry is trusted before its version is compared again."""
VOCABULARY_TTL_S = 60.0
"""The knowledge vocabulary is read again after this long (documents carry no version here)."""


@dataclass(frozen=True)
class TenantRuntime:
    """One version of a tenant's settings, as a turn uses them."""

    tenant_id: int
    version: int
    slug: str
    profile: TenantProfile
    provider: ProviderSettings
    """The primary provider, with its fallback (if any) in ``provider.fallback``."""
    business_words: frozenset[str]
    """Folded words of the business: its knowledge vocabulary and its configured words."""
    _sealed: tuple[ProviderSetting | None, ProviderSetting | None]
    """The primary and fallback rows as stored (keys sealed), detached from their session."""

    def __repr__(self) -> str:
        return f"TenantRuntime(tenant_id={self.tenant_id}, version={self.version}, slug={self.slug!r})"

    def configs(
        self, keyring: Keyring
    ) -> tuple[providers.ProviderConfig | None, providers.ProviderConfig | None]:
        """The primary and fallback settings with their keys unsealed now, for the turn that
        calls the provider (a key sealed for another endpoint than the row's is withheld)."""
        primary, fallback = self._sealed
        return tuple(None if row is None else providers.unsealed(keyring, row) for row in (primary, fallback))  # type: ignore[return-value]

    @property
    def primary_row(self) -> ProviderSetting | None:
        """The primary provider's stored row (its ``last_error`` for operators)."""
        return self._sealed[0]

    def keys(self, keyring: Keyring) -> tuple[str | None, str | None]:
        """The primary and fallback keys, unsealed now for the turn that calls the provider."""
        primary, fallback = self.configs(keyring)
        return _reveal(primary), _reveal(fallback)


def _reveal(config: providers.ProviderConfig | None) -> str | None:
    return config.api_key.reveal() if config is not None and config.api_key is not None else None


@dataclass
class _Entry:
    runtime: TenantRuntime
    checked: float
    vocabulary: frozenset[str]
    vocabulary_at: float


class TenantRuntimes:
    """A process's tenant runtimes, keyed by tenant id (least recently used go first)."""

    def __init__(
        self,
        db: Database,
        *,
        revalidate_s: float = REVALIDATE_S,
        vocabulary_ttl_s: float = VOCABULARY_TTL_S,
        maxsize: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.revalidate_s = revalidate_s
        self.vocabulary_ttl_s = vocabulary_ttl_s
        self.maxsize = maxsize
        self._clock = clock
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant_id: int, *, version: int | None = None) -> TenantRuntime:
        """The tenant's current runtime: from memory while its version is unchanged.

        ``version``: the tenant's ``settings_version`` as the caller just read it (in its own
        transaction); an entry of that version or newer is current without a read.
        """
        now = self._clock()
        with self._lock:
            entry = self._entries.get(tenant_id)
            if entry is not None:
                self._entries.move_to_end(tenant_id)
        if version is None and entry is not None and now - entry.checked < self.revalidate_s:
            return entry.runtime
        fresh_words = entry is not None and now - entry.vocabulary_at < self.vocabulary_ttl_s
        if entry is not None and fresh_words and self._current(tenant_id, entry, version):
            entry.checked = now
            return entry.runtime
        entry = self._load(tenant_id, now, entry if fresh_words else None)
        with self._lock:
            self._entries[tenant_id] = entry
            self._entries.move_to_end(tenant_id)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return entry.runtime

    def forget(self, tenant_id: int | None = None) -> None:
        """Drop one tenant's entry (or all): the next turn reads the store."""
        with self._lock:
            if tenant_id is None:
                self._entries.clear()
            else:
                self._entries.pop(tenant_id, None)

    def _current(self, tenant_id: int, entry: _Entry, version: int | None) -> bool:
        if version is not None:
            return entry.runtime.version >= version  # versions only grow
        return self._version(tenant_id) == entry.runtime.version

    def _version(self, tenant_id: int) -> int | None:
        with self.db.tenant_connection(tenant_id) as connection:
            return connection.scalar(select(Tenant.settings_version).where(Tenant.id == tenant_id))

    def _load(self, tenant_id: int, now: float, words_from: _Entry | None) -> _Entry:
        with self.db.tenant_session(tenant_id) as session:
            tenant = session.get(Tenant, tenant_id)
            if tenant is None:
                raise NotFound(f"no tenant {tenant_id}")
            rows = providers.stored(session, tenant_id)
            version, slug = tenant.settings_version, tenant.slug
            profile = TenantProfile.from_settings(tenant.name, tenant.settings)
            session.expunge_all()  # the rows live on in the cache, detached
        if words_from is not None:
            vocabulary, vocabulary_at = words_from.vocabulary, words_from.vocabulary_at
        else:
            vocabulary, vocabulary_at = business_vocabulary(self.db, tenant_id), now
        primary, fallback = rows.get("primary"), rows.get("fallback")
        settings = _settings(primary)
        if fallback is not None:
            settings = settings.model_copy(update={"fallback": _settings(fallback)})
        configured = frozenset(fold(w) for phrase in profile.business_words for w in phrase.split())
        runtime = TenantRuntime(
            tenant_id=tenant_id,
            version=version,
            slug=slug,
            profile=profile,
            provider=settings,
            business_words=vocabulary | configured,
            _sealed=(primary, fallback),
        )
        return _Entry(runtime, now, vocabulary, vocabulary_at)


def _settings(row: ProviderSetting | None) -> ProviderSettings:
    """Provider settings from a stored row (none: the offline extractive provider)."""
    if row is None:
        return ProviderSettings.model_validate({"provider": "extractive", "model": "extractive"})
    prices = {name: Price.model_validate(price) for name, price in (row.prices or {}).items()}
    return ProviderSettings.model_validate(
        {
            "provider": row.provider,
            "model": row.model or DEFAULT_MODELS[row.provider],
            "base_url": row.base_url,
            "prices": prices,
        }
    )
