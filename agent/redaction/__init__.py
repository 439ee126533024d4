"""Personal-data redaction with reversible, per-conversation placeholders.

    redactor = Redactor(SqlVault(db))            # once per process (loads spaCy once)
    ctx = RedactionContext(ConversationKey(tenant_id, conversation_id),
                           known_names=(profile_name, contact_name), business_words=services)
    red = redactor.redact(text, ctx)             # red.text goes to the model, traces, logs
    out = redactor.restore(model_reply, ctx)     # out.text to the customer; out.unknown reported

``SqlVault`` lives in ``agent.redaction.sql_vault`` (it needs the store); ``InMemoryVault`` serves
one process (the ``frontdesk redact`` stream, tests).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.redaction.redactor import Entity, Redacted, RedactionContext, Redactor, Restored, restore
    from agent.redaction.vault import ConversationKey, InMemoryVault, SecretValue, Vault, VaultItem

_HOME = {
    **dict.fromkeys(
        ("Entity", "Redacted", "RedactionContext", "Redactor", "Restored", "restore"), "redactor"
    ),
    **dict.fromkeys(("ConversationKey", "InMemoryVault", "SecretValue", "Vault", "VaultItem"), "vault"),
}


def __getattr__(name: str) -> Any:
    """Load the redactor (spaCy, presidio) only when it is used: ``agent.redaction.rules`` is
    imported by the gateway, which never redacts."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"agent.redaction.{module}"), name)


__all__ = [
    "ConversationKey",
    "Entity",
    "InMemoryVault",
    "Redacted",
    "RedactionContext",
    "Redactor",
    "Restored",
    "SecretValue",
    "Vault",
    "VaultItem",
    "restore",
]
