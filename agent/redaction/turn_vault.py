"""One turn's view of its conversation's vault: the entries read once, not at every step.

A turn reads its conversation's entries to redact, again in the guard and again to restore
the reply: each a transaction of its own. The view keeps what it read for the turn and
reads again only after it assigned a new placeholder, unless the vault hands back the entry
it assigned (``SqlVault.assign_item``), which joins the view. It lives for one turn, so an
entry erased or expired between turns is never served from it; a worker may hand it the
entries it read when it opened the turn (``OpenedTurn.vault_items``), so none is read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agent.redaction.vault import ConversationKey, Vault, VaultItem


class TurnVault:
    """``inner`` as seen by one turn of ``conversation`` (other conversations pass through)."""

    def __init__(
        self, inner: Vault, conversation: ConversationKey, items: Sequence[VaultItem] | None = None
    ) -> None:
        """``items``: the conversation's entries as ``inner`` holds them, read by the caller for
        this turn (a worker opening it, in the same transaction): the view starts from them."""
        self.inner = inner
        self.conversation = conversation
        self._items: list[VaultItem] | None = None if items is None else list(items)

    def __repr__(self) -> str:
        return f"TurnVault({self.inner!r})"

    def assign(self, conversation: ConversationKey, entity_type: str, value: str) -> str:
        if conversation != self.conversation:
            return self.inner.assign(conversation, entity_type, value)
        assign_item = getattr(self.inner, "assign_item", None)
        if assign_item is None or self._items is None:
            self._items = None
            return self.inner.assign(conversation, entity_type, value)
        item: VaultItem = assign_item(conversation, entity_type, value)
        self._items = [i for i in self._items if i.placeholder != item.placeholder] + [item]
        return item.placeholder

    def items(self, conversation: ConversationKey) -> Sequence[VaultItem]:
        if conversation != self.conversation:
            return self.inner.items(conversation)
        if self._items is None:
            self._items = list(self.inner.items(conversation))
        return list(self._items)

    def purge_expired(self, now: datetime | None = None) -> int:
        return self.inner.purge_expired(now)
