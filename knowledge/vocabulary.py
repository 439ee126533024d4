"""The capitalised words of a tenant's knowledge base: its brands, services and places.

The redactor treats them as the business's own words, so "¿Aceptáis Bizum?" or "¿Trabajáis
con Sanitas?" is not mistaken for a customer's name.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from knowledge.models import KbChunk
from store.db import Database
from textnorm import fold

_CAPITALISED = re.compile(r"(?<![\w@.])[A-ZÀ-ÖØ-Þ][\w'’-]+")


def business_vocabulary(db: Database, tenant_id: int, limit: int = 20_000) -> frozenset[str]:
    """Folded capitalised words found in the tenant's chunks and headings."""
    words: set[str] = set()
    with db.tenant_session(tenant_id) as session:
        rows = session.execute(
            select(KbChunk.heading, KbChunk.text).where(KbChunk.tenant_id == tenant_id).limit(limit)
        )
        for heading, text in rows:
            words.update(fold(w) for w in _CAPITALISED.findall(f"{heading} {text}"))
    return frozenset(words)
