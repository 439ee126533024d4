"""Out-of-order delivery callbacks never move a message backwards."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from channels.events import ContactRef, ErrorInfo, StatusUpdate
from channels.status import apply_status, next_status, should_apply
from store.models import Message


def update(status: str, second: int = 0, code: int | None = None) -> StatusUpdate:
    return StatusUpdate(
        field="messages",
        wa_message_id="wamid.1",
        status=status,
        timestamp=datetime(2025, 1, 1, 12, 0, second, tzinfo=UTC),
        recipient=ContactRef(wa_id="34600000000"),
        errors=[ErrorInfo(code=code)] if code else [],
    )


def message(status: str = "accepted") -> Message:
    return Message(tenant_id=1, conversation_id=1, direction="out", author="bot", status=status)


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        ("accepted", "sent", "sent"),
        ("sent", "delivered", "delivered"),
        ("delivered", "sent", "delivered"),
        ("read", "delivered", "read"),
        ("read", "sent", "read"),
        ("read", "played", "played"),
        ("played", "read", "played"),
        ("sent", "failed", "failed"),
        ("accepted", "failed", "failed"),
        ("delivered", "failed", "delivered"),
        ("read", "failed", "read"),
        ("failed", "delivered", "delivered"),
        ("failed", "read", "read"),
        ("failed", "sent", "failed"),
        ("delivered", "delivered", "delivered"),
        ("sent", "deleted", "sent"),
        ("sent", "SENT", "sent"),
        (None, "sent", "sent"),
    ],
)
def test_precedence(current: str | None, incoming: str, expected: str) -> None:
    assert next_status(current, incoming) == expected


def test_unknown_status_never_applies() -> None:
    assert not should_apply("accepted", "warning")


def test_every_arrival_order_ends_at_the_furthest_status() -> None:
    for order in itertools.permutations(["sent", "delivered", "read"]):
        row = message()
        for second, status in enumerate(order):
            apply_status(row, update(status, second))
        assert row.status == "read", order


def test_failed_then_delivered_ends_delivered_and_keeps_the_code() -> None:
    row = message("sent")
    assert apply_status(row, update("failed", 1, code=131026))
    assert row.status == "failed"
    assert row.error_code == "131026"
    assert apply_status(row, update("delivered", 2))
    assert row.status == "delivered"
    assert row.error_code == "131026"


def test_late_failure_is_recorded_without_moving_back() -> None:
    row = message("read")
    assert not apply_status(row, update("failed", 5, code=130472))
    assert row.status == "read"
    assert row.error_code == "130472"


def test_status_time_follows_the_applied_status() -> None:
    row = message()
    apply_status(row, update("delivered", 7))
    apply_status(row, update("sent", 3))
    assert row.status_at == datetime(2025, 1, 1, 12, 0, 7, tzinfo=UTC)
