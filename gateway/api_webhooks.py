"""The operator's outgoing handoff webhook (admin): where Frontdesk POSTs each handoff, signed
with a secret shown once (see :mod:`workers.handoffs` for the payload and the signature)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from gateway import tenant_settings as ts
from gateway.deps import Admin, Services
from store.repo import tenants
from workers import handoffs

router = APIRouter(prefix="/api/settings/handoff-webhook", tags=["admin"])


class HandoffWebhookIn(BaseModel):
    url: str = Field(min_length=8, max_length=500, description="https://… of your own service.")
    rotate_secret: bool = Field(default=False, description="Issue a new signing secret.")


class HandoffWebhookOut(BaseModel):
    url: str | None
    secret: str | None = Field(default=None, description="Shown once, when it is issued; store it now.")
    signature_header: str = handoffs.SIGNATURE_HEADER
    timestamp_header: str = handoffs.TIMESTAMP_HEADER


@router.get("", response_model=HandoffWebhookOut)
def get_webhook(who: Admin, services: Services) -> HandoffWebhookOut:
    with services.db.tenant_session(who.tenant_id) as session:
        setting = (tenants.get(session, who.tenant_id).settings or {}).get(handoffs.SETTING) or {}
    return HandoffWebhookOut(url=setting.get("url"))


@router.put("", response_model=HandoffWebhookOut)
def put_webhook(body: HandoffWebhookIn, who: Admin, services: Services) -> HandoffWebhookOut:
    """Set the URL (HTTPS, a public host). A secret is issued the first time or on ``rotate_secret``."""
    url = handoffs.validate_url(body.url.strip(), allow_loopback=services.settings.loopback_webhooks)
    keyring = services.db.keyring
    with services.db.tenant_session(who.tenant_id) as session:
        tenant = tenants.get(session, who.tenant_id)
        current = (tenant.settings or {}).get(handoffs.SETTING) or {}
        issued = None
        if body.rotate_secret or not current.get("secret_ciphertext"):
            issued = handoffs.new_secret()
            secret = issued
        else:
            secret = handoffs.secret_of(keyring, who.tenant_id, current)
        ts.save(
            session,
            tenant,
            {handoffs.SETTING: handoffs.setting_for(keyring, who.tenant_id, url, secret)},
            actor=who.actor,
            action="config.handoff_webhook",
            details={"host": url.split("/")[2], "new_secret": issued is not None},
        )
    return HandoffWebhookOut(url=url, secret=issued)


@router.delete("", status_code=204)
def delete_webhook(who: Admin, services: Services) -> Response:
    with services.db.tenant_session(who.tenant_id) as session:
        tenant = tenants.get(session, who.tenant_id)
        if (tenant.settings or {}).get(handoffs.SETTING) is not None:
            ts.save(
                session,
                tenant,
                {handoffs.SETTING: None},
                actor=who.actor,
                action="config.handoff_webhook_removed",
                details={},
            )
    return Response(status_code=204)
