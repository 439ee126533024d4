"""The ``window`` scenario family: the turn's reply goes through the real sender, late.

The receptionist's reply (or handoff notice) is committed by the workers' drain in a scratch
database, as if the customer had written ``hours_after`` hours earlier, and the send task's
body (``workers.sending.send_once``, which applies ``workers.window_gate``) sends it with
``WhatsAppSender`` to a local ``channels.fake_cloud_api.FakeCloudApi``. The checks read what
reached the Cloud API and what the sender did to the conversation: a free-form text only
inside the 24-hour window; outside it an approved template in the customer's language, or the
conversation handed to a human; nothing at all for a customer who opted out.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from channels.cloud_api import CloudApiClient
from channels.fake_cloud_api import FakeCloudApi, SentMessage
from channels.window import REGISTRY_SETTING, parse_registry
from evals.environment import scratch_database
from evals.scenarios import Window
from evals.scorers import Check, TurnRecord
from store.db import Database
from store.identity import new_contact
from store.models import Conversation, OutboxItem, utcnow
from store.repo import channels, tenants
from workers import mailbox
from workers.context import WorkerConfig, WorkerContext
from workers.drain import drain
from workers.fairness import LocalFairness
from workers.lease import DatabaseLeases
from workers.sending import WhatsAppSender, send_once
from workers.testing import ListEnqueuer
from workers.turns import OpenedTurn, TurnResult

PHONE_NUMBER_ID = "100200300"
ACCESS_TOKEN = "EAAG-eval-window"  # noqa: S105 - the fake Cloud API's token, in a scratch database


@dataclass(frozen=True)
class LateSend:
    """What the sender did with the turn's message."""

    status: str
    """``send_once``'s outcome: sent, failed, cancelled…"""
    error: str | None
    sent: list[SentMessage]
    mode: str
    """The conversation's mode afterwards (``human`` once handed off)."""

    @property
    def action(self) -> str:
        """The window rule the sender applied, read from its effects."""
        if any(m.type == "template" for m in self.sent):
            return "send_template"
        if any(m.type == "text" for m in self.sent):
            return "send_text"
        if self.status == "cancelled" and self.error == "opted_out":
            return "suppress"
        if self.error == "outside_window" and self.mode == "human":
            return "handoff"
        return f"{self.status} ({self.error})"

    def describe(self) -> str:
        parts = [f"{m.type} {m.template_name or ''}".strip() for m in self.sent] or ["nothing sent"]
        return f"{self.action}: {', '.join(parts)}; outbox {self.status}, conversation {self.mode}"


class _RecordedTurn:
    """A turn runner that returns what the receptionist already answered."""

    def __init__(self, turn: TurnRecord) -> None:
        self.result = TurnResult(
            reply=turn.reply or None,
            handoff=turn.handoff,
            handoff_summary=turn.handoff_reason,
            citations=list(turn.citations),
            language=turn.language,
        )

    def run_turn(self, turn: OpenedTurn) -> TurnResult:
        return self.result


def _world(db: Database, window: Window, default_language: str, wa_id: str) -> tuple[int, int]:
    settings = {"default_language": default_language, REGISTRY_SETTING: window.templates}
    with db.admin_session() as session:
        tenant_id = tenants.create(session, "window", "Window", settings=settings).id
    with db.tenant_session(tenant_id) as session:
        channel = channels.add(
            session,
            db.keyring,
            tenant_id,
            phone_number_id=PHONE_NUMBER_ID,
            verify_token="eval-verify-token",  # noqa: S106 - a scratch database's channel
            app_secret="eval-app-secret",  # noqa: S106
            access_token=ACCESS_TOKEN,
        )
        channels.activate(session, channel)  # the scratch tenant's number, proven by fiat
        contact = new_contact(db.keyring, tenant_id, wa_id)
        contact.opted_out = window.opted_out
        session.add(contact)
        session.flush()
        conversation = Conversation(tenant_id=tenant_id, contact_id=contact.id, channel_id=channel.id)
        session.add(conversation)
        session.flush()
        return tenant_id, conversation.id


@contextmanager
def _context(db: Database, turn: TurnRecord, cloud_api: FakeCloudApi) -> Generator[WorkerContext]:
    config = WorkerConfig(debounce=0.0, inline_first_send=False)
    ctx = WorkerContext(
        db=db,
        runner=_RecordedTurn(turn),
        sender=WhatsAppSender(db, CloudApiClient(cloud_api.base_url, timeout=5)),
        leases=DatabaseLeases(db),
        fairness=LocalFairness(config.fairness),
        enqueue=ListEnqueuer(),
        config=config,
    )
    try:
        yield ctx
    finally:
        ctx.close()


def send_late(window: Window, turn: TurnRecord, default_language: str, wa_id: str) -> LateSend:
    """Commit ``turn`` as the drain does for a customer message ``hours_after`` hours old, then
    run the send task once against a fake Cloud API."""
    with scratch_database() as db, FakeCloudApi() as cloud_api:
        cloud_api.register(PHONE_NUMBER_ID, ACCESS_TOKEN)
        tenant_id, conversation_id = _world(db, window, default_language, wa_id)
        received = utcnow() - timedelta(hours=window.hours_after)
        text = " ".join(turn.customer) or "hola"
        mailbox.append_inbound(
            db, tenant_id, conversation_id, wa_message_id="wamid.eval-window", text=text, received_at=received
        )
        with _context(db, turn, cloud_api) as ctx:
            drain(ctx, tenant_id, conversation_id)
            assert isinstance(ctx.enqueue, ListEnqueuer)
            sends = ctx.enqueue.take_sends()
            status, error = "nothing queued", None
            for _, outbox_id, _ in sends:
                status = send_once(ctx, tenant_id, outbox_id)
                with db.tenant_session(tenant_id) as session:
                    error = session.scalar(select(OutboxItem.last_error).where(OutboxItem.id == outbox_id))
        with db.tenant_session(tenant_id) as session:
            mode = session.scalar(select(Conversation.mode).where(Conversation.id == conversation_id))
        return LateSend(status, error, list(cloud_api.sent), mode or "?")


def _same_language(a: str | None, b: str | None) -> bool:
    def base(code: str | None) -> str:
        return (code or "").replace("-", "_").lower().split("_", 1)[0]

    return bool(a and b) and base(a) == base(b)


def check_window(window: Window, turn: TurnRecord | None, default_language: str, wa_id: str) -> list[Check]:
    """The sender's action (and template) match the scenario's expectation."""
    if turn is None or not turn.reply:
        return [
            Check(f"window: {window.expect_action} after {window.hours_after:g} h", False, "no reply to send")
        ]
    late = send_late(window, turn, default_language, wa_id)
    detail = late.describe()
    checks = [
        Check(
            f"window: {window.expect_action} after {window.hours_after:g} h",
            late.action == window.expect_action,
            detail,
        )
    ]
    if window.hours_after >= 24:
        texts = [m for m in late.sent if m.type == "text"]
        checks.append(Check("window: no free-form text outside the window", not texts, detail))
    templates = [m for m in late.sent if m.type == "template"]
    if window.expect_template is not None:
        names = [m.template_name for m in templates]
        checks.append(
            Check(f"window: template {window.expect_template}", names == [window.expect_template], detail)
        )
    # the customer's language when the registry has one, else the tenant's default language
    offered = [t for t in parse_registry(window.templates) if t.approved]
    wanted = (
        turn.language if any(_same_language(t.language, turn.language) for t in offered) else default_language
    )
    for message in templates:
        language = message.payload["template"]["language"]["code"]
        checks.append(
            Check(
                "window: template in the customer's language",
                _same_language(language, wanted),
                f"template {message.template_name} in {language}, customer writes {turn.language}",
            )
        )
    if window.expect_action == "send_text":
        checks.append(
            Check(
                "window: the reply went out as plain text",
                [m.text for m in late.sent] == [turn.reply],
                detail,
            )
        )
    if late.sent:
        checks.append(Check("window: sent to the customer", all(m.to == wa_id for m in late.sent), detail))
    return checks
