"""Reading and writing the encrypted columns of a row, bound to that row."""

from __future__ import annotations

from store.crypto import Keyring, Secret, aad_for
from store.models import Base


def _aad(row: Base, column: str) -> str:
    if column not in type(row).encrypted_columns:
        raise ValueError(f"{type(row).__name__}.{column} is not an encrypted column")
    tenant_id = getattr(row, "tenant_id", None)
    row_id = getattr(row, "id", None)
    if row_id is None:
        raise ValueError("the row needs its id before a value can be sealed into it")
    return aad_for(f"{row.__tablename__}.{column}", tenant_id, row_id)


def seal(keyring: Keyring, row: Base, column: str, plaintext: str | None) -> None:
    """Encrypt ``plaintext`` into ``row.column`` (``None`` clears it)."""
    value = None if plaintext is None else keyring.encrypt(plaintext, aad=_aad(row, column))
    setattr(row, column, value)


def unseal(keyring: Keyring, row: Base, column: str) -> str | None:
    """Decrypt ``row.column``; raises :class:`store.crypto.DecryptionError` on tampering."""
    token: str | None = getattr(row, column)
    if token is None:
        return None
    return keyring.decrypt(token, aad=_aad(row, column))


def unseal_secret(keyring: Keyring, row: Base, column: str) -> Secret | None:
    """Like :func:`unseal`, wrapped so it prints as ``***``."""
    value = unseal(keyring, row, column)
    return None if value is None else Secret(value)


def reseal(keyring: Keyring, row: Base, column: str) -> bool:
    """Re-encrypt under the newest key if needed; True when the row changed."""
    token: str | None = getattr(row, column)
    if token is None or not keyring.needs_rotation(token):
        return False
    seal(keyring, row, column, unseal(keyring, row, column))
    return True
