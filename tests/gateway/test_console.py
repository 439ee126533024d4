"""The console over HTTP (no browser): sign-in, session cookie, CSRF, roles, tenants, words."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from gateway.console import session as cookies
from store.models import Conversation, Message, OutboxItem, TurnRow, User
from store.repo import users as user_repo
from store.sealed import seal
from tests.gateway.conftest import Gateway, TenantFixture, text_message


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(gw: Gateway, token: str, **headers: str) -> Any:
    page = gw.client.get("/console", headers=headers)
    return gw.client.post(
        "/console/signin",
        data={"api_token": token, "csrf": csrf_of(page.text)},
        headers=headers,
        follow_redirects=False,
    )


def new_client(gw: Gateway) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(gw.client.app, raise_server_exceptions=False)


def handed_off(gw: Gateway, t: TenantFixture, name: str = "Ana López", wamid: str = "wamid.C1") -> int:
    assert (
        gw.post_webhook(text_message(t, "quiero hablar con una persona", wamid=wamid, name=name)).status_code
        == 200
    )
    with gw.db.tenant_session(t.id) as session:
        conversation = session.scalars(select(Conversation).order_by(Conversation.created_at.desc())).first()
        assert conversation is not None
        conversation.mode = "human"
        turn = TurnRow(
            id=f"{conversation.id}-x",
            tenant_id=t.id,
            conversation_id=conversation.id,
            epoch=1,
            status="handoff",
        )
        session.add(turn)
        session.flush()
        seal(
            gw.db.keyring,
            turn,
            "handoff_summary_ciphertext",
            "Reason: the customer asked for a person.\nWants: a person",
        )
        return conversation.id


def test_sign_in_sets_a_strict_httponly_expiring_cookie_without_the_token(sgw: Gateway) -> None:
    token = sgw.a.tokens["agent"]
    answer = sign_in(sgw, token)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/inbox"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(cookies.SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=" in cookie
    assert token not in cookie and token[:12] not in cookie
    inbox = sgw.client.get("/console/inbox")
    assert inbox.status_code == 200 and "agent-acme" in inbox.text
    assert "script-src 'self'" in inbox.headers["content-security-policy"]
    # sign out ends it
    out = sgw.client.post("/console/signout", data={"csrf": csrf_of(inbox.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert sgw.client.get("/console/inbox", follow_redirects=False).status_code == 303


def test_bad_token_wrong_role_and_forged_posts_are_refused(sgw: Gateway) -> None:
    bad = sign_in(sgw, "fdk_not-a-real-token")
    assert bad.status_code == 401 and "That token is not valid." in bad.text
    assert sign_in(sgw, sgw.a.tokens["analyst"]).status_code == 403
    # a sign-in post without the form's CSRF token
    forged = new_client(sgw).post("/console/signin", data={"api_token": sgw.a.tokens["agent"], "csrf": "x"})
    assert forged.status_code == 403
    cid = handed_off(sgw, sgw.a)
    assert sign_in(sgw, sgw.a.tokens["agent"]).status_code == 303
    for action in ("takeover", "handback", "reply", "notes", "assign"):
        for data in ({}, {"csrf": "forged"}):
            answer = sgw.client.post(
                f"/console/c/{cid}/{action}", data={**data, "text": "hi"}, follow_redirects=False
            )
            assert answer.status_code == 403, (action, data)
    with sgw.db.tenant_session(sgw.a.id) as session:
        assert session.get(Conversation, cid).assigned_agent_id is None  # type: ignore[union-attr]
        assert session.scalar(select(OutboxItem.id)) is None


def test_take_over_reply_and_hand_back_through_the_forms(sgw: Gateway) -> None:
    cid = handed_off(sgw, sgw.a)
    assert sign_in(sgw, sgw.a.tokens["agent"]).status_code == 303
    inbox = sgw.client.get("/console/inbox").text
    assert f'href="/console/c/{cid}">Ana López</a>' in inbox and "Needs a human" in inbox
    page = sgw.client.get(f"/console/c/{cid}").text
    assert "Handoff summary" in page and "the customer asked for a person" in page
    csrf = csrf_of(page)
    assert sgw.client.post(f"/console/c/{cid}/takeover", data={"csrf": csrf}).status_code == 200
    with sgw.db.tenant_session(sgw.a.id) as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None and conversation.assigned_agent_id == sgw.a.user_ids["agent"]
    page = sgw.client.get(f"/console/c/{cid}").text
    assert 'id="reply"' in page and "Hand back" in page
    sent = sgw.client.post(
        f"/console/c/{cid}/reply", data={"csrf": csrf, "text": "Hola Ana, soy yo", "key": "k1"}
    )
    assert sent.status_code == 200 and "Hola Ana, soy yo" in sent.text
    sgw.client.post(f"/console/c/{cid}/reply", data={"csrf": csrf, "text": "Hola Ana, soy yo", "key": "k1"})
    assert len(sgw.sends) == 1  # the form's key makes a double submit one message
    assert sgw.client.post(f"/console/c/{cid}/handback", data={"csrf": csrf}).status_code == 200
    with sgw.db.tenant_session(sgw.a.id) as session:
        conversation = session.get(Conversation, cid)
        assert (
            conversation is not None and conversation.mode == "bot" and conversation.assigned_agent_id is None
        )
    detail = sgw.client.get(f"/api/conversations/{cid}", headers=sgw.a.auth("agent")).json()
    assert detail["handoff"]["reason"] == "the customer asked for a person"
    assert detail["handoff"]["summary"] == "Wants: a person"


def test_closed_window_offers_the_approved_templates_with_the_reason(sgw: Gateway) -> None:
    cid = handed_off(sgw, sgw.a)
    admin = sgw.a.auth("admin")
    template = {"name": "follow_up", "language": "es", "status": "APPROVED", "body_params": 1}
    assert sgw.client.post("/api/templates", json=template, headers=admin).status_code in (200, 201)
    assert sign_in(sgw, sgw.a.tokens["agent"]).status_code == 303
    csrf = csrf_of(sgw.client.get(f"/console/c/{cid}").text)
    sgw.client.post(f"/console/c/{cid}/takeover", data={"csrf": csrf})
    sgw.clock.advance(hours=25)
    page = sgw.client.get(f"/console/c/{cid}").text
    assert "more than 24 hours ago" in page and 'id="reply"' not in page and "follow_up" in page
    refused = sgw.client.post(f"/console/c/{cid}/reply", data={"csrf": csrf, "text": "hola"})
    assert "more than 24 hours ago" in refused.text
    sent = sgw.client.post(
        f"/console/c/{cid}/reply", data={"csrf": csrf, "template": "follow_up|es", "params": "Ana"}
    )
    assert sent.status_code == 200 and len(sgw.sends) == 1


def test_another_tenants_agent_sees_nothing(sgw: Gateway) -> None:
    cid = handed_off(sgw, sgw.a)
    assert sign_in(sgw, sgw.b.tokens["agent"]).status_code == 303
    assert "Ana López" not in sgw.client.get("/console/inbox").text
    assert sgw.client.get(f"/console/c/{cid}").status_code == 404
    assert sgw.client.get(f"/console/c/{cid}/live").status_code == 404


def test_words_follow_the_browser_or_the_users_choice(sgw: Gateway) -> None:
    page = sgw.client.get("/console", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "API-Token" in page.text and 'lang="de"' in page.text
    assert "Token de API" in sgw.client.get("/console", headers={"Accept-Language": "pt-BR"}).text
    assert sign_in(sgw, sgw.a.tokens["agent"], **{"Accept-Language": "es"}).status_code == 303
    inbox = sgw.client.get("/console/inbox", headers={"Accept-Language": "es"}).text
    assert "Bandeja" in inbox
    sgw.client.post(
        "/console/language", data={"lang": "de", "csrf": csrf_of(inbox), "back": "/console/inbox"}
    )
    assert "Posteingang" in sgw.client.get("/console/inbox", headers={"Accept-Language": "es"}).text


def test_a_new_api_token_ends_the_console_session(sgw: Gateway) -> None:
    assert sign_in(sgw, sgw.a.tokens["agent"]).status_code == 303
    assert sgw.client.get("/console/inbox", follow_redirects=False).status_code == 200
    with sgw.db.tenant_session(sgw.a.id) as session:
        user = session.get(User, sgw.a.user_ids["agent"])
        assert user is not None
        user.token_hash = user_repo.hash_token("fdk_another")
    assert sgw.client.get("/console/inbox", follow_redirects=False).status_code == 303
    sgw.client.cookies.set(cookies.SESSION_COOKIE, "forged.value", path="/console")
    assert sgw.client.get("/console/inbox", follow_redirects=False).status_code == 303


def test_a_session_ends_when_its_token_expires_and_the_cookie_says_so(sgw: Gateway) -> None:
    made = sgw.client.post(
        "/api/users",
        json={
            "name": "temp",
            "role": "agent",
            "expires_at": (sgw.clock.now + timedelta(hours=1)).isoformat(),
        },
        headers=sgw.a.auth("admin"),
    )
    answer = sign_in(sgw, made.json()["token"])
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(cookies.SESSION_COOKIE))
    assert "Max-Age=3600" in cookie  # not the 8 hours of a session: never past the token's expiry
    assert sgw.client.get("/console/inbox", follow_redirects=False).status_code == 200
    sgw.clock.advance(hours=1, seconds=1)
    assert sgw.client.get("/console/inbox", follow_redirects=False).status_code == 303


def test_wrong_tokens_sharing_the_public_prefix_never_sign_the_user_out(sgw: Gateway) -> None:
    token = sgw.a.tokens["agent"]
    assert sign_in(sgw, token).status_code == 303
    stranger, wrong = new_client(sgw), {"Authorization": f"Bearer {token[:10]}{'X' * (len(token) - 10)}"}
    answers = [stranger.get("/api/conversations", headers=wrong).status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]  # the prefix is throttled…
    assert sgw.client.get("/console/inbox", follow_redirects=False).status_code == 200  # …not the user


def test_the_handoff_webhook_secret_is_shown_once_and_urls_are_checked(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    url = "/api/settings/handoff-webhook"
    refused = sgw.client.put(url, json={"url": "http://127.0.0.1:9/x"}, headers=admin)
    assert refused.status_code == 400 and "https://" in refused.json()["detail"]
    first = sgw.client.put(url, json={"url": "https://hooks.example.com/fd"}, headers=admin).json()
    assert first["secret"].startswith("whsec_")
    again = sgw.client.put(url, json={"url": "https://hooks.example.com/v2"}, headers=admin).json()
    assert again["secret"] is None and again["url"] == "https://hooks.example.com/v2"
    shown = sgw.client.get(url, headers=admin)
    assert shown.json()["url"] == "https://hooks.example.com/v2" and first["secret"] not in shown.text
    assert (
        sgw.client.put(url, json={"url": "https://x.example.com"}, headers=sgw.a.auth("agent")).status_code
        == 403
    )


def test_events_are_published_where_things_happen(sgw: Gateway) -> None:
    heard: list[tuple[int, int, str]] = []
    services = sgw.client.app.state.services  # type: ignore[attr-defined]
    services.events.publish = lambda e: heard.append((e.tenant_id, e.conversation_id, e.kind))
    cid = handed_off(sgw, sgw.a)
    assert (sgw.a.id, cid, "message") in heard
    with sgw.db.tenant_session(sgw.a.id) as session:
        session.add(
            Message(
                tenant_id=sgw.a.id, conversation_id=cid, direction="out", author="agent",
                wa_message_id="wamid.OUT1", status="sent",
            )
        )  # fmt: skip
    status = text_message(sgw.a, "x")
    value = status["entry"][0]["changes"][0]["value"]
    del value["messages"], value["contacts"]
    value["statuses"] = [
        {"id": "wamid.OUT1", "status": "delivered", "timestamp": "1767225700", "recipient_id": "34600111222"}
    ]
    assert sgw.post_webhook(status).status_code == 200
    assert (sgw.a.id, cid, "status") in heard
    assert sign_in(sgw, sgw.a.tokens["supervisor"]).status_code == 303
    csrf = csrf_of(sgw.client.get(f"/console/c/{cid}").text)
    sgw.client.post(f"/console/c/{cid}/takeover", data={"csrf": csrf})
    sgw.client.post(f"/console/c/{cid}/assign", data={"csrf": csrf, "agent": str(sgw.a.user_ids["agent"])})
    sgw.client.post(f"/console/c/{cid}/notes", data={"csrf": csrf, "body": "VIP"})
    kinds = [k for t, c, k in heard if c == cid]
    assert kinds[-3:] == ["takeover", "assigned", "note"]
