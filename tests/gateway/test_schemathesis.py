"""Property-based fuzzing of the whole API from its OpenAPI spec (schemathesis): no request,
valid or not, from any role, makes a 5xx or shows another tenant's data. Bounded (~30 s)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from store.identity import new_contact
from store.models import Conversation, ConversationNote, Message, MessageTemplate
from store.sealed import seal
from tests.gateway.conftest import ROLES, Gateway, TenantFixture

MARKER = "globexmarker"
EXAMPLES = 12
BUDGET_SECONDS = 45.0


def _seed(gw: Gateway, t: TenantFixture, marker: str) -> None:
    """A conversation with a message, a note and a template whose texts carry ``marker``."""
    with gw.db.tenant_session(t.id) as session:
        contact = new_contact(gw.db.keyring, t.id, "34699000111")
        seal(gw.db.keyring, contact, "profile_name_ciphertext", f"{marker} name")
        session.add(contact)
        session.flush()
        conversation = Conversation(
            tenant_id=t.id,
            contact_id=contact.id,
            channel_id=t.channel_id,
            last_customer_message_at=gw.clock.now - timedelta(hours=1),
        )
        session.add(conversation)
        session.flush()
        message = Message(tenant_id=t.id, conversation_id=conversation.id, direction="in", author="customer")
        seal(gw.db.keyring, message, "body_ciphertext", f"{marker} body")
        note = ConversationNote(tenant_id=t.id, conversation_id=conversation.id)
        seal(gw.db.keyring, note, "body_ciphertext", f"{marker} note")
        session.add_all([message, note, MessageTemplate(tenant_id=t.id, name=f"{marker}_tpl", language="es")])


def test_fuzz_the_api(sgw: Gateway) -> None:
    _seed(sgw, sgw.a, "acmemarker")
    _seed(sgw, sgw.b, MARKER)
    schema = schemathesis.openapi.from_asgi("/openapi.json", sgw.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    started = time.monotonic()
    failures: list[str] = []
    calls = 0

    def fuzz(operation: Any) -> None:
        label = f"{operation.method.upper()} {operation.path}"
        strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
            GenerationMode.NEGATIVE
        )

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, role=st.sampled_from(ROLES))
        def run(case: Any, role: str) -> None:
            nonlocal calls
            headers = dict(case.headers or {})
            headers.update(sgw.a.auth(role))
            case.headers = headers
            try:
                response = case.call()
            except Exception as exc:  # the ASGI transport re-raises server errors
                failures.append(f"{label} as {role}: raised {type(exc).__name__}")
                return
            calls += 1
            if response.status_code >= 500:
                failures.append(f"{label} as {role}: {response.status_code} {response.text[:200]}")
            if MARKER in response.text.lower():
                failures.append(f"{label} as {role}: shows the other tenant's data")

        run()

    for operation in operations:
        if time.monotonic() - started > BUDGET_SECONDS:
            break
        fuzz(operation)
    assert calls > 100
    assert not failures, "\n".join(sorted(set(failures))[:20])
