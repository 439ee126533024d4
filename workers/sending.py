"""Sending: the send task's body (:func:`send_once`) and the WhatsApp sender, which puts
:class:`channels.cloud_api.CloudApiClient` behind :class:`workers.outbox.OutboundSender`.

The channel's access token is unsealed just for the call and never logged. Meta's errors reach
the outbox as they are (:class:`errors.SendError`): retryable (429, pair rate limit, 5xx,
network) with their ``retry_after``, or permanent (outside the window, opted out, invalid
token, bad request).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy import select

from channels.cloud_api import CloudApiClient, SendResult
from errors import PermanentSendError
from store.crypto import Secret
from store.db import Database
from store.models import Channel, Conversation
from store.repo.channels import secrets_of
from workers.context import WorkerContext
from workers.outbox import Claim, deliver, send_item


def send_once(ctx: WorkerContext, tenant_id: int, outbox_id: int, claim: Claim | None = None) -> str:
    """One send attempt (of an item claimed already, or claimed now); a retry or a pacing
    wait is re-enqueued with its countdown."""
    policy = ctx.config.send
    if claim is None:
        outcome = send_item(ctx.db, ctx.sender, tenant_id, outbox_id, policy=policy, pacer=ctx.fairness)
    else:
        outcome = deliver(ctx.db, ctx.sender, tenant_id, outbox_id, claim, policy)
    ctx.metrics.sends.labels(str(tenant_id), outcome.status).inc()
    if outcome.status == "failed":
        ctx.metrics.failures.labels(str(tenant_id), f"send:{outcome.error}").inc()
    if outcome.status == "retry" and outcome.retry_in is not None:
        ctx.enqueue.send(tenant_id, outbox_id, countdown=outcome.retry_in + random.uniform(0, 0.05))
    return outcome.status


class WhatsAppSender:
    """Sends through the conversation's WhatsApp channel with that channel's token."""

    def __init__(self, db: Database, client: CloudApiClient) -> None:
        self.db = db
        self.client = client

    def send_text(
        self, *, tenant_id: int, conversation_id: int, to: str, text: str, idempotency_key: str
    ) -> str:
        def send(phone_number_id: str, token: Secret) -> SendResult:
            return self.client.send_text(
                phone_number_id=phone_number_id,
                access_token=token,
                to=to,
                text=text,
                idempotency_key=idempotency_key,
            )

        return self._send(tenant_id, conversation_id, send)

    def send_template(
        self,
        *,
        tenant_id: int,
        conversation_id: int,
        to: str,
        name: str,
        language: str,
        parameters: list[str],
        idempotency_key: str,
    ) -> str:
        def send(phone_number_id: str, token: Secret) -> SendResult:
            return self.client.send_template(
                phone_number_id=phone_number_id,
                access_token=token,
                to=to,
                template_name=name,
                language=language,
                parameters=parameters,
                idempotency_key=idempotency_key,
            )

        return self._send(tenant_id, conversation_id, send)

    def _send(self, tenant_id: int, conversation_id: int, send: Callable[[str, Secret], SendResult]) -> str:
        with self.db.tenant_session(tenant_id) as session:
            channel = session.scalar(
                select(Channel)
                .join(Conversation, Conversation.channel_id == Channel.id)
                .where(Conversation.id == conversation_id)
            )
            if channel is None:
                raise PermanentSendError("the conversation has no WhatsApp channel", reason="no_channel")
            if channel.verified_at is None:  # ownership not proven: nothing leaves from it
                raise PermanentSendError("the channel's ownership is not proven", reason="channel_pending")
            phone_number_id = channel.phone_number_id
            token = secrets_of(self.db.keyring, channel).access_token
        return send(phone_number_id, token).wa_message_id
