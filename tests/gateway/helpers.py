"""Reading the store in the gateway tests (on the admin engine, across tenants)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from store.db import Database
from store.models import AuditEntry, Contact, Conversation, Message, OutboxItem, WebhookEvent


def count(db: Database, model: Any, **where: Any) -> int:
    with db.admin_session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(session.scalar(query) or 0)


def stored_total(db: Database) -> int:
    """Rows a webhook could have written anywhere."""
    return sum(count(db, m) for m in (Message, WebhookEvent, Contact, Conversation, OutboxItem, AuditEntry))


def rows(db: Database, model: Any, **where: Any) -> list[Any]:
    with db.admin_session() as session:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        found = list(session.scalars(query))
        for row in found:
            session.expunge(row)
        return found


def uniquify(body: dict[str, Any], suffix: str) -> dict[str, Any]:
    """A copy whose message and echo ids are unique to ``suffix`` (the corpus reuses ids)."""
    copy = json.loads(json.dumps(body))
    for entry in copy.get("entry", []):
        for change in entry.get("changes", []):
            value = change.get("value", {})
            for name in ("messages", "message_echoes"):
                for item in value.get(name, []) or []:
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        item["id"] = f"{item['id']}.{suffix}"
    return copy
