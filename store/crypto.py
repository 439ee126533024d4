"""Encryption at rest: AES-256-GCM with key ids, bound to the row through associated data.

A ciphertext token is ``<key id>.<base64url(nonce || ciphertext+tag)>``. The associated data
names the table, the tenant and the row, so a token copied into another row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from errors import CryptoError

KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
NONCE_BYTES = 12
DATA_KEY_ID = re.compile(r"^dk[0-9]+$")
"""Key ids of contacts' data keys (:mod:`store.keystore`); master keys may not use them."""


class KeyConfigError(CryptoError):
    """The master-key configuration is missing or malformed."""


class DecryptionError(CryptoError):
    """A ciphertext could not be decrypted (unknown key id, wrong key, or moved to another row)."""


class Secret:
    """A value that prints as ``***``; read it with an explicit :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the plaintext. Call only right where the value is used."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(hashlib.sha256(self._value.encode()).digest())


def aad_for(table: str, tenant_id: int | None, row_key: object) -> str:
    """Associated data that binds a ciphertext to one row of one tenant."""
    return f"{table}|{tenant_id if tenant_id is not None else '-'}|{row_key}"


@dataclass(frozen=True)
class MasterKey:
    """One 256-bit master key and its id."""

    key_id: str
    key: bytes

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r}, key=***)"


class Keyring:
    """The master keys, newest first. Encrypts with the newest, decrypts with any."""

    def __init__(self, keys: list[MasterKey]) -> None:
        if not keys:
            raise KeyConfigError("no master key configured")
        ids = [k.key_id for k in keys]
        if len(set(ids)) != len(ids):
            raise KeyConfigError("duplicate master key id")
        self._keys = {k.key_id: k for k in keys}
        self._newest = keys[0]
        self._derived: dict[str, dict[str, bytes]] = {}

    def __repr__(self) -> str:
        return f"Keyring(key_ids={list(self._keys)!r})"

    @classmethod
    def from_spec(cls, spec: str) -> Keyring:
        """Parse ``"id2:base64key,id1:base64key"`` (newest first)."""
        keys: list[MasterKey] = []
        for position, part in enumerate(p.strip() for p in spec.split(",") if p.strip()):
            key_id, sep, encoded = part.partition(":")
            if not sep or not KEY_ID_PATTERN.match(key_id):
                raise KeyConfigError(f"master key #{position + 1}: expected 'id:base64key'")
            if DATA_KEY_ID.match(key_id):
                raise KeyConfigError(f"master key {key_id!r}: ids 'dk<digits>' name contacts' data keys")
            try:
                raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except ValueError:
                raise KeyConfigError(f"master key {key_id!r}: not valid base64") from None
            if len(raw) != 32:
                raise KeyConfigError(f"master key {key_id!r}: must be 32 bytes (AES-256)")
            keys.append(MasterKey(key_id, raw))
        return cls(keys)

    @classmethod
    def generate(cls, key_id: str = "k1") -> Keyring:
        """A keyring with one fresh random key (tests, the demo)."""
        return cls([MasterKey(key_id, os.urandom(32))])

    @staticmethod
    def new_key_spec(key_id: str) -> str:
        """A fresh ``id:base64key`` entry for configuration."""
        return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"

    def with_new_key(self, key_id: str) -> Keyring:
        """A keyring whose newest key is a fresh one, keeping the old ones for reading."""
        fresh = Keyring.from_spec(self.new_key_spec(key_id))
        return Keyring([fresh._newest, *self._keys.values()])

    def to_spec(self) -> str:
        """Serialize, newest first (for the local key file)."""
        ordered = [self._newest] + [k for k in self._keys.values() if k is not self._newest]
        return ",".join(f"{k.key_id}:{base64.urlsafe_b64encode(k.key).decode().rstrip('=')}" for k in ordered)

    @property
    def newest_id(self) -> str:
        return self._newest.key_id

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    @property
    def keys(self) -> list[MasterKey]:
        """The keys, newest first."""
        return [self._newest] + [k for k in self._keys.values() if k is not self._newest]

    def for_contact(self, tenant_id: int, contact_id: int) -> Keyring:
        """The keyring that seals one contact's data. Without a key store (this class), the
        master keys; :class:`store.keystore.DataKeyring` returns the contact's own data key."""
        return self

    def for_new_contact(self, tenant_id: int, contact_id: int) -> Keyring:
        """:meth:`for_contact` for a contact id just made (no key can exist yet: none is looked up)."""
        return self.for_contact(tenant_id, contact_id)

    def encrypt(self, plaintext: str, *, aad: str) -> str:
        """Encrypt under the newest key, bound to ``aad``."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._newest.key).encrypt(nonce, plaintext.encode(), aad.encode())
        return f"{self._newest.key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, aad: str) -> str:
        """Decrypt a token made by :meth:`encrypt` with the same ``aad``."""
        key_id, sep, body = token.partition(".")
        if not sep:
            raise DecryptionError("malformed ciphertext")
        key = self._keys.get(key_id)
        if key is None:
            raise DecryptionError(f"ciphertext uses key id {key_id!r}, which is not configured")
        try:
            blob = base64.urlsafe_b64decode(body)
            plain = AESGCM(key.key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad.encode())
        except (InvalidTag, ValueError):
            raise DecryptionError(
                f"ciphertext does not decrypt with key {key_id!r} (wrong key, or it belongs to another row)"
            ) from None
        return plain.decode()

    @staticmethod
    def key_id_of(token: str) -> str:
        """The key id a token was encrypted with."""
        return token.partition(".")[0]

    def needs_rotation(self, token: str) -> bool:
        """True when the token is not under the newest key."""
        return self.key_id_of(token) != self._newest.key_id

    def blind_index(self, value: str) -> str:
        """A keyed digest for equality lookups without decrypting, under the newest key.

        Write it with this; look it up with :meth:`blind_indexes`, which also matches rows
        written before a rotation (``frontdesk keys rotate`` rewrites them).
        """
        return _digest(self._newest.key, value)

    def derived_key(self, purpose: str, key_id: str | None = None) -> tuple[str, bytes]:
        """A 256-bit key for one purpose, derived from a master key (the newest by default).

        Returns the master key's id with it; raises :class:`KeyConfigError` for an id that is
        not configured.
        """
        master = self._newest if key_id is None else self._keys.get(key_id)
        if master is None:
            raise KeyConfigError(f"master key {key_id!r} is not configured")
        cache = self._derived.setdefault(purpose, {})
        if master.key_id not in cache:
            cache[master.key_id] = hmac.new(
                master.key, f"frontdesk {purpose}".encode(), hashlib.sha256
            ).digest()
        return master.key_id, cache[master.key_id]

    def blind_indexes(self, value: str) -> list[str]:
        """The digests of ``value`` under every configured key, newest first."""
        ordered = [self._newest] + [k for k in self._keys.values() if k is not self._newest]
        return [_digest(k.key, value) for k in ordered]


def _digest(key: bytes, value: str) -> str:
    index_key = hmac.new(key, b"frontdesk blind index", hashlib.sha256).digest()
    return hmac.new(index_key, value.encode(), hashlib.sha256).hexdigest()
