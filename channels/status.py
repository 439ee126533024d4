"""Delivery-status precedence: out-of-order callbacks never move a message backwards.

Meta sends ``sent``, ``delivered``, ``read`` (``played`` for voice notes) and ``failed`` on the
same webhook, in any order and sometimes twice. The rules:

* progress only moves forward: ``played`` > ``read`` > ``delivered`` > ``sent`` > anything we
  set locally (``pending``, ``accepted``, ``queued``...);
* ``failed`` overrides ``sent`` and the local states (the message did not arrive), but **not**
  ``delivered``/``read``/``played``: once the phone confirmed receipt, a late failure is
  contradictory and the positive evidence is kept (its error code is still recorded);
* ``delivered``/``read``/``played`` after ``failed`` win: Meta does send ``delivered`` after
  ``failed``, and the customer did receive the message;
* a repeated status changes nothing; unknown statuses (``deleted``, ``warning``...) never
  change the stored status.
"""

from __future__ import annotations

from channels.events import StatusUpdate
from store.models import Message

_RANK = {"sent": 1, "failed": 2, "delivered": 3, "read": 4, "played": 5}
KNOWN_STATUSES = frozenset(_RANK)


def rank(status: str | None) -> int:
    """Position of ``status`` in the order above (0 for local or unknown states)."""
    return _RANK.get((status or "").lower(), 0)


def should_apply(current: str | None, incoming: str) -> bool:
    """Whether a callback with ``incoming`` status moves a message currently at ``current``."""
    incoming = incoming.lower()
    if incoming not in _RANK:
        return False
    return rank(incoming) > rank(current)


def next_status(current: str | None, incoming: str) -> str | None:
    """The status to store after a callback (``current`` when it does not apply)."""
    return incoming.lower() if should_apply(current, incoming) else current


def apply_status(message: Message, update: StatusUpdate) -> bool:
    """Update the store's ``Message`` from a status callback; True when its status changed.

    A failure's error code is recorded even when the failure does not win (so a late
    ``failed`` after ``delivered`` stays visible), without changing the status.
    """
    if update.error_code is not None and message.error_code is None:
        message.error_code = str(update.error_code)
    if not should_apply(message.status, update.status):
        return False
    message.status = update.status.lower()
    if update.timestamp is not None:
        message.status_at = update.timestamp
    return True
