"""``/webhooks/whatsapp``: Meta's subscription handshake (GET) and event delivery (POST).

POST, in order: the body limit (413) and body timeout (408, in :mod:`gateway.security`), a
signature header of Meta's shape (401 before anything is parsed), JSON and envelope (400),
routing by ``metadata.phone_number_id`` (template updates by the account id) of at most
:data:`ROUTE_PROBE` numbers, the signature with each addressed channel's app secret (401;
nothing is stored before it), the rest of a signed body's numbers, then one transaction per
event. Answers 200 as soon as the events are stored; the bot's work is queued.

A body that addresses no number we know (or only *pending* channels, whose ownership is not
proven: :mod:`channels.ownership`) answers **200 with nothing stored** and a log line:
without a channel there is no secret to verify it with, and any other answer would make Meta
retry it for days. A stored event that fails to apply is recorded (``webhook_events``, kind
``error``) and still answers 200; only when even that cannot be written (the database is down)
does the webhook answer 503, so that Meta retries (duplicates are dropped on the retry). A
signed event holding a NUL character (which PostgreSQL cannot store) is recorded as an error.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool

from channels.errors import MalformedWebhook
from channels.events import Echo, Event, WebhookBatch
from channels.signature import SIGNATURE_HEADER, verify_signature, verify_subscription, well_formed
from channels.webhook import decode, parse_payload, phone_number_ids
from gateway.deps import services_of
from gateway.inbound import Arrival, Effects, apply_event, prepare_echo, record, store_echo
from gateway.routing import load_channels
from gateway.security import NUL_ESCAPE, has_nul, without_nul
from gateway.services import GatewayServices
from store import audit
from store.crypto import Secret
from store.models import Channel
from store.repo.channels import secrets_of
from store.repo.lookups import tenants_of_verify_token, tenants_of_waba
from workers.events import ConsoleEvent
from workers.takeover import take_over

log = logging.getLogger("frontdesk.gateway.webhook")

ROUTE_PROBE = 20
"""Numbers (and accounts) looked up before the signature is checked: a forged body naming
thousands of unknown numbers costs at most this many lookups."""
router = APIRouter(tags=["webhook"])


@dataclass
class _Routed:
    channels: dict[int, Channel] = field(default_factory=dict[int, Channel])
    """By channel id."""
    secrets: dict[int, Secret] = field(default_factory=dict[int, Secret])
    """App secrets by channel id."""
    by_number: dict[str, Channel] = field(default_factory=dict[str, Channel])
    by_waba: dict[str, list[Channel]] = field(default_factory=dict[str, list[Channel]])


def _route(
    services: GatewayServices, numbers: list[str], wabas: list[str], *, fresh: bool = False
) -> _Routed:
    """The channels of these phone number ids, and of these accounts (for events without one)."""
    routed = _Routed()
    for number, route in services.routes.routes(services.db, numbers, fresh=fresh).items():
        routed.by_number[number] = route.channel
        routed.channels[route.channel.id] = route.channel
        routed.secrets[route.channel.id] = route.app_secret
    if not wabas:
        return routed
    with services.db.app_session() as session:
        waba_tenants = {w: tenants_of_waba(session, w) for w in wabas}
    for waba, tenant_ids in waba_tenants.items():
        for tenant_id in tenant_ids:
            for channel in load_channels(services.db, tenant_id, waba_id=waba):
                routed.by_waba.setdefault(waba, []).append(channel)
                routed.channels[channel.id] = channel
                routed.secrets[channel.id] = secrets_of(services.db.keyring, channel).app_secret
    return routed


def _addressed(batch: WebhookBatch) -> tuple[list[str], list[str]]:
    """The numbers, and the accounts of events that name no number, a webhook addresses."""
    wabas = {e.waba_id: None for e in batch.events if not e.phone_number_id and e.waba_id}
    return batch.phone_number_ids, list(wabas)


def _addressed_raw(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Like :func:`_addressed`, read off the decoded body before its events are parsed."""
    wabas: dict[str, None] = {}
    for entry in data.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or []:  # type: ignore[reportUnknownVariableType]
            value = change.get("value") if isinstance(change, dict) else None  # type: ignore[reportUnknownMemberType]
            metadata = value.get("metadata") if isinstance(value, dict) else None  # type: ignore[reportUnknownMemberType]
            if not (isinstance(metadata, dict) and metadata.get("phone_number_id")):  # type: ignore[reportUnknownMemberType]
                wabas[str(entry.get("id"))] = None  # type: ignore[reportUnknownMemberType]
    return phone_number_ids(data), [w for w in wabas if w != "None"]


def _verified_route(
    services: GatewayServices, data: dict[str, Any], body: bytes, signature: str
) -> tuple[_Routed, bool]:
    """Route and verify, looking up at most :data:`ROUTE_PROBE` numbers before the signature.

    One Meta app signs every number it serves with one secret, so the first known numbers'
    secret settles the signature; only a signed body has its events parsed and the rest of
    its numbers looked up.
    """
    numbers, wabas = _addressed_raw(data)
    probe = _route(services, numbers[:ROUTE_PROBE], wabas[:ROUTE_PROBE])
    signed = _signed(probe, body, signature)
    if probe.channels and not signed:  # the app secret may have just changed: read it again
        probe = _route(services, numbers[:ROUTE_PROBE], wabas[:ROUTE_PROBE], fresh=True)
        signed = _signed(probe, body, signature)
    return probe, signed


def _complete(
    services: GatewayServices, probe: _Routed, batch: WebhookBatch, body: bytes, signature: str
) -> _Routed | None:
    """Every channel a signed body addresses; None when one of them does not verify it."""
    numbers, wabas = _addressed(batch)
    if set(numbers) <= set(probe.by_number) and set(wabas) <= set(probe.by_waba):
        return probe
    routed = _route(services, numbers, wabas)
    return routed if _signed(routed, body, signature) else None


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
        at = Arrival(session, db.keyring, channel, services.clock())
        record(at, event, "error", f"could not apply {event.kind}: {type(last_error).__name__}")
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


def _sample(values: list[str]) -> str:
    """A few of ``values`` and their count, for a log line of bounded size."""
    shown = ", ".join(v[:32] for v in values[:3])
    return f"{len(values)} ({shown}{', …' if len(values) > 3 else ''})"


def _record_unstorable(services: GatewayServices, channel: Channel, event: Event) -> Effects:
    """Keep an event holding a NUL character as an error (PostgreSQL cannot store it)."""
    db = services.db
    with db.tenant_session(channel.tenant_id) as session:
        at = Arrival(session, db.keyring, channel, services.clock())
        record(at, event, "error", f"could not apply {event.kind}: NUL character in the payload")
    return Effects(outcome="error")


def process(services: GatewayServices, body: bytes, signature: str | None) -> Response:
    """The POST handler's work (runs in a worker thread)."""
    if not well_formed(signature):  # not from Meta: nothing to look up
        return JSONResponse({"detail": "missing or malformed signature"}, status_code=401)
    assert signature is not None
    try:
        data = decode(body)
        tainted = NUL_ESCAPE in body and has_nul(data)
        if tainted:
            data = without_nul(data)
        routed, signed = _verified_route(services, data, body, signature)
        if not routed.channels:
            numbers, wabas = _addressed_raw(data)
            log.warning(
                "webhook for unknown numbers %s / accounts %s: ignored", _sample(numbers), _sample(wabas)
            )
            return JSONResponse({"status": "ignored", "reason": "unknown phone number id"})
        if not signed:
            log.warning("webhook with a bad signature for numbers %s", _sample(list(routed.by_number)))
            return JSONResponse({"detail": "invalid signature"}, status_code=401)
        batch = parse_payload(data)
    except MalformedWebhook as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    complete = _complete(services, routed, batch, body, signature)
    if complete is None:
        log.warning("webhook with a bad signature for numbers %s", _sample(batch.phone_number_ids))
        return JSONResponse({"detail": "invalid signature"}, status_code=401)
    routed = complete
    delivery = Delivery(events=len(batch.events))
    for event in batch.events:
        targets = _targets(routed, event)
        if not targets:
            delivery.unrouted += 1
            continue
        for channel in targets:
            if tainted:
                effects = _record_unstorable(services, channel, event)
            else:
                effects = _apply_one(services, channel, event)
            delivery.outcomes[effects.outcome] = delivery.outcomes.get(effects.outcome, 0) + 1
            _wake(services, channel.tenant_id, effects)
    if delivery.unrouted:
        log.warning("webhook: %d events for unknown numbers ignored", delivery.unrouted)
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
