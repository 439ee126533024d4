"""``/webhooks/whatsapp``: Meta's subscription handshake (GET) and event delivery (POST).

POST, in order: the body limit (413, in :mod:`gateway.security`), JSON and envelope (400),
routing by ``metadata.phone_number_id`` (template updates by the account id), the signature
with each addressed channel's app secret (401; nothing is stored before it), then one
transaction per event. Answers 200 as soon as the events are stored; the bot's work is queued.

A body that addresses no number we know answers **200 with nothing stored** and a log line:
without a channel there is no secret to verify it with, and any other answer would make Meta
retry it for days. A stored event that fails to apply is recorded (``webhook_events``, kind
``error``) and still answers 200; only when even that cannot be written (the database is down)
does the webhook answer 503, so that Meta retries (duplicates are dropped on the retry).
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool

from channels.errors import MalformedWebhook
from channels.events import Echo, Event, WebhookBatch
from channels.signature import SIGNATURE_HEADER, verify_signature, verify_subscription
from channels.webhook import decode, parse_payload
from gateway.deps import services_of
from gateway.inbound import Effects, apply_event, prepare_echo, record, store_echo
from gateway.routing import load_channels
from gateway.services import GatewayServices
from store import audit
from store.crypto import Secret
from store.models import Channel
from store.repo.channels import secrets_of
from store.repo.lookups import tenants_of_verify_token, tenants_of_waba
from workers.events import ConsoleEvent
from workers.takeover import take_over

log = logging.getLogger("frontdesk.gateway.webhook")
router = APIRouter(tags=["webhook"])


@dataclass
class _Routed:
    channels: dict[int, Channel] = field(default_factory=dict[int, Channel])
    """By channel id."""
    secrets: dict[int, Secret] = field(default_factory=dict[int, Secret])
    """App secrets by channel id."""
    by_number: dict[str, Channel] = field(default_factory=dict[str, Channel])
    by_waba: dict[str, list[Channel]] = field(default_factory=dict[str, list[Channel]])


def _route(services: GatewayServices, batch: WebhookBatch, *, fresh: bool = False) -> _Routed:
    routed = _Routed()
    for number, route in services.routes.routes(services.db, batch.phone_number_ids, fresh=fresh).items():
        routed.by_number[number] = route.channel
        routed.channels[route.channel.id] = route.channel
        routed.secrets[route.channel.id] = route.app_secret
    unrouted_wabas = {e.waba_id for e in batch.events if not e.phone_number_id and e.waba_id}
    if not unrouted_wabas:
        return routed
    with services.db.app_session() as session:
        waba_tenants = {w: tenants_of_waba(session, w) for w in unrouted_wabas}
    for waba, tenant_ids in waba_tenants.items():
        for tenant_id in tenant_ids:
            for channel in load_channels(services.db, tenant_id, waba_id=waba):
                routed.by_waba.setdefault(waba, []).append(channel)
                routed.channels[channel.id] = channel
                routed.secrets[channel.id] = secrets_of(services.db.keyring, channel).app_secret
    return routed


def _signed(routed: _Routed, body: bytes, header: str | None) -> bool:
    """Every addressed channel's app secret must verify the body (one Meta app, one secret)."""
    results = [verify_signature(body, header, secret) for secret in routed.secrets.values()]
    return bool(results) and all(results)


def _targets(routed: _Routed, event: Event) -> list[Channel]:
    if event.phone_number_id:
        channel = routed.by_number.get(event.phone_number_id)
        return [channel] if channel else []
    if event.waba_id:
        # One channel per tenant: the event is the account's, not a number's.
        seen: dict[int, Channel] = {}
        for channel in routed.by_waba.get(event.waba_id, []):
            seen.setdefault(channel.tenant_id, channel)
        return list(seen.values())
    return []


def _apply_echo(services: GatewayServices, channel: Channel, event: Echo) -> Effects:
    db, now = services.db, services.clock()
    with db.tenant_session(channel.tenant_id) as session:
        prepared = prepare_echo(session, db.keyring, channel, event)
    if prepared is None:
        return Effects(outcome="duplicate")
    conversation_id, mode = prepared
    if mode == "bot":
        # The owner answered from the phone: the human wins before the echo is even stored.
        change = take_over(db, channel.tenant_id, conversation_id, None, wait=0.0)
        with db.tenant_session(channel.tenant_id) as session:
            audit.append(
                session,
                channel.tenant_id,
                actor="whatsapp:business-app",
                action="conversation.takeover",
                subject=f"conversation:{conversation_id}",
                details={"epoch": change.epoch, "cancelled_outbox": change.cancelled_outbox, "via": "echo"},
                at=now,
            )
    with db.tenant_session(channel.tenant_id) as session:
        effects = store_echo(session, db.keyring, channel, event, conversation_id, now)
    if mode == "bot":
        effects.takeover = conversation_id
    return effects


def _apply_one(services: GatewayServices, channel: Channel, event: Event) -> Effects:
    db = services.db
    last_error: Exception | None = None
    for _attempt in range(3):  # a concurrent delivery may have created the same contact
        try:
            if isinstance(event, Echo):
                return _apply_echo(services, channel, event)
            with db.tenant_session(channel.tenant_id) as session:
                return apply_event(session, db.keyring, channel, event, services.clock())
        except IntegrityError as exc:
            last_error = exc
        except OperationalError:
            raise
        except Exception as exc:
            last_error = exc
            break
    log.error(
        "webhook event %s for tenant %s failed: %s", event.kind, channel.tenant_id, type(last_error).__name__
    )
    with db.tenant_session(channel.tenant_id) as session:
        record(
            session,
            db.keyring,
            channel.tenant_id,
            channel,
            event,
            "error",
            f"could not apply {event.kind}: {type(last_error).__name__}",
            services.clock(),
        )
    return Effects(outcome="error")


def _wake(services: GatewayServices, tenant_id: int, effects: Effects) -> None:
    """Tell the consoles; wake the drain and the sender (a lost wake-up is recovered by the sweeper)."""
    for conversation_id in dict.fromkeys(effects.drains):
        services.events.publish(ConsoleEvent(tenant_id, conversation_id, "message"))
    if effects.takeover is not None:
        services.events.publish(ConsoleEvent(tenant_id, effects.takeover, "takeover"))
    if effects.status_of is not None:
        services.events.publish(ConsoleEvent(tenant_id, effects.status_of, "status"))
    try:
        for conversation_id in dict.fromkeys(effects.drains):
            services.wake_drain(tenant_id, conversation_id)
        for outbox_id in effects.sends:
            services.wake_send(tenant_id, outbox_id)
    except Exception as exc:
        log.error("webhook: could not wake the workers (%s); the sweeper will", type(exc).__name__)


@dataclass
class Delivery:
    """What one POST did (also the JSON answer, without personal data)."""

    events: int = 0
    outcomes: dict[str, int] = field(default_factory=dict[str, int])
    unrouted: int = 0


def process(services: GatewayServices, body: bytes, signature: str | None) -> Response:
    """The POST handler's work (runs in a worker thread)."""
    try:
        batch = parse_payload(decode(body))
    except MalformedWebhook as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    routed = _route(services, batch)
    signed = _signed(routed, body, signature)
    if routed.channels and not signed:  # the app secret may have just changed: read it again
        routed = _route(services, batch, fresh=True)
        signed = _signed(routed, body, signature)
    if not routed.channels:
        log.warning(
            "webhook for unknown numbers %s / accounts %s: ignored", batch.phone_number_ids, batch.waba_ids
        )
        return JSONResponse({"status": "ignored", "reason": "unknown phone number id"})
    if not signed:
        log.warning("webhook with a bad or missing signature for numbers %s", list(routed.by_number))
        return JSONResponse({"detail": "invalid signature"}, status_code=401)
    delivery = Delivery(events=len(batch.events))
    for event in batch.events:
        targets = _targets(routed, event)
        if not targets:
            delivery.unrouted += 1
            log.warning("webhook event %s for an unknown number: ignored", event.kind)
            continue
        for channel in targets:
            effects = _apply_one(services, channel, event)
            delivery.outcomes[effects.outcome] = delivery.outcomes.get(effects.outcome, 0) + 1
            _wake(services, channel.tenant_id, effects)
    return JSONResponse(
        {
            "status": "ok",
            "events": delivery.events,
            "outcomes": delivery.outcomes,
            "unrouted": delivery.unrouted,
        }
    )


@router.post("/webhooks/whatsapp", summary="WhatsApp Cloud API events (signed by Meta)")
async def receive(request: Request) -> Response:
    services = services_of(request)
    body = await request.body()
    try:
        return await run_in_threadpool(process, services, body, request.headers.get(SIGNATURE_HEADER))
    except OperationalError:
        log.error("webhook: the database is unavailable; asking Meta to retry")
        return JSONResponse({"detail": "temporarily unavailable"}, status_code=503)


def _handshake(
    services: GatewayServices, mode: str | None, token: str | None, challenge: str | None
) -> str | None:
    if mode != "subscribe" or not token or not challenge:
        return None
    db = services.db
    with db.app_session() as session:
        tenant_ids = tenants_of_verify_token(session, db.keyring, token)
    digests = set(db.keyring.blind_indexes(token))
    for tenant_id in tenant_ids:
        for channel in load_channels(db, tenant_id):
            if channel.verify_token_digest not in digests:
                continue
            expected = secrets_of(db.keyring, channel).verify_token
            answer = verify_subscription(mode, token, challenge, expected)
            if answer is not None and hmac.compare_digest(answer, challenge):
                return answer
    return None


@router.get("/webhooks/whatsapp", summary="Meta's subscription handshake", response_class=PlainTextResponse)
def verify(
    request: Request,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> Response:
    answer = _handshake(services_of(request), mode, token, challenge)
    if answer is None:
        return PlainTextResponse("forbidden", status_code=403)
    return PlainTextResponse(answer)
