"""Issue 15 item 4: a tenant admin cannot squat another tenant's WhatsApp number or account.

Each attack runs on SQLite and on the real PostgreSQL (under row-level security). Tenant A
(acme) and tenant B (globex) each own a proven channel; the fake Graph API knows which token
owns which number and account.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store.models import AuditEntry, Channel, MessageTemplate
from tests.gateway.conftest import Gateway, corpus_cases, retarget, text_message
from tests.gateway.helpers import count, rows

A_TOKEN = "EAAG-acme-second-token"
A_SECRET = "acme-app-secret-2"


def _claim(gw: Gateway, number: str, *, token: str = A_TOKEN, waba: str | None = None) -> Any:
    body: dict[str, Any] = {
        "phone_number_id": number,
        "verify_token": "acme-verify-2",
        "app_secret": A_SECRET,
        "access_token": token,
    }
    if waba is not None:
        body["waba_id"] = waba
    return gw.client.post("/api/channels", json=body, headers=gw.a.auth("admin"))


def _generic(answer: Any, number: str) -> str:
    """The answer with the claimed number taken out: what must be the same for every refusal."""
    assert answer.status_code == 400, answer.text
    return answer.text.replace(number, "<number>")


def _actions(gw: Gateway, tenant_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [(e.action, e.details) for e in rows(gw.db, AuditEntry, tenant_id=tenant_id)]


def _mentions_b(gw: Gateway, text: str) -> bool:
    return any(s in text for s in ("globex", str(gw.b.id), "already", "in use", "another tenant"))


def test_claiming_another_tenants_number_is_refused_like_any_unproven_claim(gw: Gateway) -> None:
    gw.cloud_api.register("1000000050", A_TOKEN, waba_id="2000000050")  # A's token owns only this
    theirs = _claim(gw, gw.b.phone_number_id)
    unused = _claim(gw, "1000000099")  # nobody's number
    assert _generic(theirs, gw.b.phone_number_id) == _generic(unused, "1000000099")
    assert not _mentions_b(gw, theirs.text)
    assert "could not prove" in theirs.json()["detail"]
    assert count(gw.db, Channel, tenant_id=gw.a.id) == 1  # nothing saved
    refused = [d for a, d in _actions(gw, gw.a.id) if a == "config.channel_refused"]
    assert [d["reason"] for d in refused] == ["not_proven", "not_proven"]
    assert not _mentions_b(gw, str(refused))
    # B's number still reaches B, and only B.
    answer = gw.post_webhook(text_message(gw.b, "hola", wamid="wamid.B1"), gw.b)
    assert answer.status_code == 200 and answer.json()["outcomes"] == {"message": 1}


def test_even_a_token_that_owns_the_number_cannot_take_it_from_its_active_holder(gw: Gateway) -> None:
    gw.cloud_api.register(gw.b.phone_number_id, A_TOKEN)  # say B's number was shared with A's token
    taken = _claim(gw, gw.b.phone_number_id)
    unused = _claim(gw, "1000000098")
    assert _generic(taken, gw.b.phone_number_id) == _generic(unused, "1000000098")
    assert not _mentions_b(gw, taken.text)
    with gw.db.admin_session() as session:
        holders = session.scalars(
            select(Channel.tenant_id).where(Channel.phone_number_id == gw.b.phone_number_id)
        )
        assert list(holders) == [gw.b.id]
    # B's admin learns a claim was refused, never by whom; A's chain says only "not proven".
    told = [d for a, d in _actions(gw, gw.b.id) if a == "security.channel_claim_refused"]
    assert told == [{"phone_number_id": gw.b.phone_number_id, "waba_id": None}]
    assert "acme" not in str(_actions(gw, gw.b.id)) and str(gw.a.id) not in str(told)


def test_claiming_another_tenants_account_is_refused_and_their_template_updates_still_verify(
    gw: Gateway,
) -> None:
    gw.cloud_api.register("1000000051", A_TOKEN, waba_id="2000000051")  # A's own number and account
    stolen = _claim(gw, "1000000051", waba=gw.b.waba_id)  # A's token cannot read B's account
    assert stolen.status_code == 400 and not _mentions_b(gw, stolen.text)
    assert "could not prove" in stolen.json()["detail"]
    # Even with a token that can read B's account, the account stays B's.
    gw.cloud_api.register_waba(gw.b.waba_id, A_TOKEN, ["1000000051"])
    shared = _claim(gw, "1000000051", waba=gw.b.waba_id)
    assert shared.text == stolen.text
    assert count(gw.db, Channel, tenant_id=gw.a.id) == 1
    with gw.db.tenant_session(gw.b.id) as session:
        session.add(
            MessageTemplate(
                tenant_id=gw.b.id, name="order_confirmation", language="en_US", status="PENDING", purposes=[]
            )
        )
    update = retarget(dict(corpus_cases())["template_status_update:approved"], gw.b)
    assert gw.post_webhook(update, gw.b).status_code == 200  # not 401: A holds no secret for it
    (template,) = rows(gw.db, MessageTemplate, tenant_id=gw.b.id)
    assert template.status == "APPROVED"


def test_a_proven_channel_is_active_and_routed(gw: Gateway) -> None:
    gw.cloud_api.register("1000000052", A_TOKEN, waba_id="2000000001", display_phone_number="+34 960 000 052")
    created = _claim(gw, "1000000052", waba="2000000001")
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["status"] == "active" and out["verified_at"] and out["verification_error"] is None
    assert out["display_phone_number"] == "+34 960 000 052"
    actions = dict(_actions(gw, gw.a.id))
    assert actions["config.channel_added"]["status"] == "active"
    body = text_message(gw.a, "hola", wamid="wamid.P1")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "1000000052"
    answer = gw.post_webhook(body, secret=A_SECRET)
    assert answer.status_code == 200 and answer.json()["outcomes"] == {"message": 1}


def test_a_channel_meta_could_not_confirm_stays_pending_until_verified(gw: Gateway) -> None:
    gw.cloud_api.register("1000000053", A_TOKEN)
    gw.cloud_api.fail_next(2)  # Meta: service temporarily unavailable
    pending = _claim(gw, "1000000053")
    assert pending.status_code == 202, pending.text
    out = pending.json()
    assert out["status"] == "pending" and "pending" in out["verification_error"]
    body = text_message(gw.a, "hola", wamid="wamid.Q1")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "1000000053"
    assert gw.post_webhook(body, secret=A_SECRET).json()["status"] == "ignored"  # not routed
    handshake = {"hub.mode": "subscribe", "hub.verify_token": "acme-verify-2", "hub.challenge": "42"}
    assert gw.client.get("/webhooks/whatsapp", params=handshake).status_code == 403
    verified = gw.client.post(f"/api/channels/{out['id']}/verify", headers=gw.a.auth("admin"))
    assert verified.status_code == 200 and verified.json()["status"] == "active"
    assert "config.channel_verified" in dict(_actions(gw, gw.a.id))
    assert gw.post_webhook(body, secret=A_SECRET).json()["outcomes"] == {"message": 1}
    assert gw.client.get("/webhooks/whatsapp", params=handshake).text == "42"


def test_a_pending_claim_never_blocks_the_real_owner(gw: Gateway) -> None:
    gw.cloud_api.register("1000000054", "EAAG-globex-new")  # B's new number
    gw.cloud_api.fail_next(1)
    squat = _claim(gw, "1000000054")  # A tries while Meta is down: saved as pending
    assert squat.status_code == 202
    owner = gw.client.post(
        "/api/channels",
        json={
            "phone_number_id": "1000000054",
            "verify_token": "globex-verify-2",
            "app_secret": "globex-app-secret-2",
            "access_token": "EAAG-globex-new",
        },
        headers=gw.b.auth("admin"),
    )
    assert owner.status_code == 201 and owner.json()["status"] == "active"
    again = gw.client.post(f"/api/channels/{squat.json()['id']}/verify", headers=gw.a.auth("admin"))
    assert again.status_code == 400 and not _mentions_b(gw, again.text)
    listed = gw.client.get("/api/channels", headers=gw.a.auth("admin")).json()
    assert [c["status"] for c in listed if c["phone_number_id"] == "1000000054"] == ["pending"]


def test_a_revoked_token_is_named_as_such(gw: Gateway) -> None:
    refused = _claim(gw, "1000000055", token="EAAG-nobody-knows-this")
    assert refused.status_code == 400 and "access token" in refused.json()["detail"]
    assert [d["reason"] for a, d in _actions(gw, gw.a.id) if a == "config.channel_refused"] == [
        "token_invalid"
    ]
