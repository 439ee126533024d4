"""Reading the store in the gateway tests (on the admin engine, across tenants)."""

from __future__ import annotations

import json
import socket
import time
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


SLOW_HEAD = (
    b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"X-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\nContent-Length: 4000\r\n\r\n{"
)
"""A webhook's head announcing 4000 bytes, and the body's first byte."""


def slow_body(port: int, source: str = "127.0.0.1") -> tuple[bytes, float]:
    """A slowloris body (a byte now and then) to the gateway on ``port``: what it answered
    within 6 s, and after how long."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as sock:
        sock.sendall(SLOW_HEAD)
        started, answer = time.monotonic(), b""
        sock.settimeout(0.3)
        while time.monotonic() - started < 6 and b"\r\n\r\n" not in answer:
            try:
                sock.sendall(b" ")
                answer += sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
        return answer, time.monotonic() - started
