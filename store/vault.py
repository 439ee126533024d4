"""Blind-index rules of the redaction vault, kept in the store so key rotation can rewrite them."""

from __future__ import annotations

import unicodedata

from store.crypto import Keyring


def normalize_value(value: str) -> str:
    """The form two mentions of one value share (case, accents' composition, spacing)."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


def value_digest(keyring: Keyring, entity_type: str, value: str) -> str:
    """The digest to write for a vault value."""
    return keyring.blind_index(f"{entity_type}:{normalize_value(value)}")


def value_digests(keyring: Keyring, entity_type: str, value: str) -> list[str]:
    """The digests to look a vault value up by (every configured key)."""
    return keyring.blind_indexes(f"{entity_type}:{normalize_value(value)}")
