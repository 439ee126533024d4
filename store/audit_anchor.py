"""The audit chains' heads, kept outside the database so that cutting a chain's tail shows.

After each committed append the chain's head (``seq`` and HMAC) is written to the anchor;
:func:`store.audit.verify_chain` then checks that the table still holds that entry, unchanged.
The anchor only moves forward (a late writer never lowers it). An anchor may lag behind the
table (a process that died between commit and anchor write): that is not a truncation.

Two kinds: Redis (production, shared by every process) and a folder of small files (one per
chain, the embedded default, next to the key file).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any, Protocol

Head = tuple[int, str]


class AuditAnchor(Protocol):
    """Where chain heads are kept; ``chain`` is the tenant id, None for the system chain."""

    def advance(self, chain: int | None, seq: int, digest: str) -> None: ...

    def head(self, chain: int | None) -> Head | None: ...


def _field(chain: int | None) -> str:
    return "system" if chain is None else str(chain)


def _parse(value: str | bytes | None) -> Head | None:
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    seq, _, digest = text.partition(":")
    return (int(seq), digest) if seq.isdigit() and digest else None


def scope_of(url: Any, schema: str | None) -> str:
    """A short name for one database (host, port, name and schema; never the credentials)."""
    where = f"{url.get_backend_name()}|{url.host}|{url.port}|{url.database}|{schema or ''}"
    return hashlib.sha256(where.encode()).hexdigest()[:16]


# Sets the head only when it is newer: KEYS[1] hash, ARGV[1] field, ARGV[2] seq, ARGV[3] digest.
_ADVANCE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local seq = tonumber(string.match(current, '^(%d+):'))
  if seq and seq >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
return 1
"""


class RedisAnchor:
    """Heads in one Redis hash per database (``<prefix>audit-anchor:<scope>``)."""

    def __init__(self, client: Any, scope: str, *, prefix: str = "frontdesk:") -> None:
        self._client = client
        self._key = f"{prefix}audit-anchor:{scope}"
        self._advance = client.register_script(_ADVANCE)

    def advance(self, chain: int | None, seq: int, digest: str) -> None:
        self._advance(keys=[self._key], args=[_field(chain), seq, digest])

    def head(self, chain: int | None) -> Head | None:
        return _parse(self._client.hget(self._key, _field(chain)))


class FileAnchor:
    """Heads in ``<folder>/<scope>/<chain>`` (mode 0600), each replaced atomically under a lock."""

    def __init__(self, folder: Path, scope: str) -> None:
        self._folder = folder / scope

    def _path(self, chain: int | None) -> Path:
        return self._folder / _field(chain)

    def advance(self, chain: int | None, seq: int, digest: str) -> None:
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(chain)
        lock_fd = os.open(f"{path}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            current = self.head(chain)
            if current is not None and current[0] >= seq:
                return
            temporary = f"{path}.{os.getpid()}.tmp"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{seq}:{digest}\n")
            os.replace(temporary, path)
        finally:
            os.close(lock_fd)

    def head(self, chain: int | None) -> Head | None:
        try:
            return _parse(self._path(chain).read_text().strip())
        except FileNotFoundError:
            return None
