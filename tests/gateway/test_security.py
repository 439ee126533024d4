"""Lockout and alerts after failed sign-ins, CORS closed by default, secure headers, no
secrets or bodies in answers and logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.services import GatewayServices, GatewaySettings
from store.models import AuditEntry, User
from tests.gateway.conftest import Gateway, build, text_message
from tests.gateway.helpers import rows


def _wrong_token_for(token: str) -> str:
    return token[:10] + "X" * (len(token) - 10)


def test_wrong_tokens_sharing_a_prefix_never_lock_the_real_token_out(gw: Gateway) -> None:
    token = gw.a.tokens["agent"]
    wrong = {"Authorization": f"Bearer {_wrong_token_for(token)}"}
    for _ in range(5):
        assert gw.client.get("/api/conversations", headers=wrong).status_code == 401
    (user,) = rows(gw.db, User, id=gw.a.user_ids["agent"])
    assert user.locked_until is not None
    assert ("auth.prefix_throttled", {"tenant_id": gw.a.id, "user_id": user.id}) in gw.alerts
    # Further guesses at this prefix are refused without an audit entry each…
    for _ in range(10):
        assert gw.client.get("/api/conversations", headers=wrong).status_code == 429
    # …but the right token is never locked out, and resets the count…
    assert gw.client.get("/api/conversations", headers=gw.a.auth("agent")).status_code == 200
    (user,) = rows(gw.db, User, id=gw.a.user_ids["agent"])
    assert user.failed_attempts == 0 and user.locked_until is None
    actions = [e.action for e in rows(gw.db, AuditEntry, tenant_id=gw.a.id)]
    assert actions.count("auth.failed") == 5 and "auth.prefix_throttled" in actions
    assert "auth.token_used" in actions
    # …other users and tenants are not affected.
    assert gw.client.get("/api/conversations", headers=gw.a.auth("supervisor")).status_code == 200
    assert not [e for e in rows(gw.db, AuditEntry, tenant_id=gw.b.id) if e.action.startswith("auth.f")]


def test_the_token_prefix_is_shown_to_admins_only(sgw: Gateway) -> None:
    prefix = sgw.a.tokens["agent"][:10]
    sgw.client.get("/api/users", headers={"Authorization": f"Bearer {prefix}{'X' * 33}"})
    for role in ("supervisor", "agent", "analyst"):
        for path in ("/api/users", "/api/audit"):
            answer = sgw.client.get(path, headers=sgw.a.auth(role))
            assert answer.status_code == 403 and prefix not in answer.text
        for path in ("/api/conversations", "/api/runs", "/api/evals"):
            assert prefix not in sgw.client.get(path, headers=sgw.a.auth(role)).text
    admin = sgw.a.auth("admin")
    assert prefix in sgw.client.get("/api/users", headers=admin).text
    assert prefix in sgw.client.get("/api/audit", headers=admin).text


def test_an_expired_token_is_refused(gw: Gateway) -> None:
    admin = gw.a.auth("admin")
    soon = (gw.clock.now + timedelta(hours=1)).isoformat()
    made = gw.client.post(
        "/api/users", json={"name": "temp", "role": "agent", "expires_at": soon}, headers=admin
    )
    assert made.status_code == 201 and made.json()["expires_at"] is not None
    temp = {"Authorization": f"Bearer {made.json()['token']}"}
    assert gw.client.get("/api/conversations", headers=temp).status_code == 200
    gw.clock.advance(hours=1, seconds=1)
    expired = gw.client.get("/api/conversations", headers=temp)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    past = (gw.clock.now - timedelta(minutes=1)).isoformat()
    for when in (past, "2030-01-01T00:00:00"):  # in the past; without an offset
        answer = gw.client.post(
            "/api/users", json={"name": "x", "role": "agent", "expires_at": when}, headers=admin
        )
        assert answer.status_code == 422, when


def test_an_admin_can_unlock(sgw: Gateway) -> None:
    wrong = {"Authorization": f"Bearer {_wrong_token_for(sgw.a.tokens['agent'])}"}
    for _ in range(5):
        sgw.client.get("/api/conversations", headers=wrong)
    agent = sgw.a.user_ids["agent"]
    assert (
        sgw.client.patch(
            f"/api/users/{agent}", json={"unlock": True}, headers=sgw.a.auth("admin")
        ).status_code
        == 200
    )
    assert sgw.client.get("/api/conversations", headers=sgw.a.auth("agent")).status_code == 200


def test_a_client_spraying_tokens_is_blocked_but_a_right_token_still_signs_in(
    sqlite_db: Any, make_tenant: Any
) -> None:
    gw = build(sqlite_db, make_tenant, client_failure_limit=4)
    with gw.client:
        for n in range(4):
            assert (
                gw.client.get("/api/users", headers={"Authorization": f"Bearer fdk_random{n}"}).status_code
                == 401
            )
        blocked = gw.client.get("/api/users", headers={"Authorization": "Bearer fdk_random9"})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert any(kind == "auth.client_blocked" for kind, _ in gw.alerts)
        # the client's address may be shared (an office, a proxy): the right token is let in
        assert gw.client.get("/api/users", headers=gw.a.auth("admin")).status_code == 200


def test_secure_headers(sgw: Gateway) -> None:
    api = sgw.client.get("/api/users", headers=sgw.a.auth("admin"))
    for response in (api, sgw.client.get("/api/nothing-here"), sgw.post_webhook(text_message(sgw.a, "hola"))):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
    docs = sgw.client.get("/docs")
    assert docs.status_code == 200
    assert "cdn.jsdelivr.net" not in docs.headers["content-security-policy"]
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assert sgw.client.get("/openapi.json").status_code == 200


def test_cors_is_closed_by_default_and_opens_per_origin(sqlite_db: Any, make_tenant: Any) -> None:
    gw = build(sqlite_db, make_tenant)
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    with gw.client:
        response = gw.client.options("/api/users", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
        response = gw.client.get(
            "/api/users", headers={**gw.a.auth("admin"), "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in response.headers
    services = GatewayServices(
        db=sqlite_db,
        wake_drain=lambda *_: None,
        wake_send=lambda *_: None,
        settings=GatewaySettings(cors_origins=("https://console.example",)),
    )
    with TestClient(create_app(services)) as client:
        ok = client.options(
            "/api/users",
            headers={"Origin": "https://console.example", "Access-Control-Request-Method": "GET"},
        )
        assert ok.headers["access-control-allow-origin"] == "https://console.example"
        evil = client.options("/api/users", headers=preflight)
        assert "access-control-allow-origin" not in evil.headers


def _server_logs(caplog: Any) -> str:
    """What the server logged (the test client's own request log is not the server's)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("frontdesk", "uvicorn")))


def test_secrets_are_write_only_and_never_logged(sgw: Gateway, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    admin = sgw.a.auth("admin")
    body = {
        "phone_number_id": "5550001",
        "verify_token": "verify-SECRET-1",
        "app_secret": "appsecret-SECRET-2",
        "access_token": "EAAG-SECRET-3",
        "waba_id": "42",
    }
    sgw.cloud_api.register("5550001", "EAAG-SECRET-3", waba_id="42")
    created = sgw.client.post("/api/channels", json=body, headers=admin)
    assert created.status_code == 201 and created.json()["status"] == "active"
    provider = sgw.client.put(
        "/api/provider/primary", json={"provider": "openai", "api_key": "sk-SECRET-4"}, headers=admin
    )
    assert provider.status_code == 200 and provider.json()["api_key_set"] is True
    # Changing the model without a key keeps the key.
    kept = sgw.client.put(
        "/api/provider/primary", json={"provider": "openai", "model": "gpt-4o"}, headers=admin
    )
    assert kept.json()["api_key_set"] is True
    # A validation error does not echo the secret back.
    echoed = sgw.client.post("/api/channels", json={**body, "phone_number_id": "x"}, headers=admin)
    assert echoed.status_code == 422
    sgw.post_webhook(text_message(sgw.a, "my card is 4111 1111 1111 1111"))
    everything = " ".join(
        [created.text, provider.text, kept.text, echoed.text]
        + [sgw.client.get(p, headers=admin).text for p in ("/api/channels", "/api/provider", "/api/audit")]
        + [_server_logs(caplog)]
    )
    for secret in ("SECRET", "4111"):
        assert secret not in everything
    assert sgw.a.tokens["admin"] not in _server_logs(caplog)
    # Query strings (Meta's verify token) are not logged by the access log.
    sgw.client.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "verify-SECRET-1", "hub.challenge": "7"},
    )
    assert "/webhooks/whatsapp" in _server_logs(caplog)
    assert "SECRET" not in _server_logs(caplog)


def test_api_body_limit(sqlite_db: Any, make_tenant: Any) -> None:
    gw = build(sqlite_db, make_tenant, api_max_bytes=10_000)
    with gw.client:
        response = gw.client.post(
            "/api/conversations/1/notes", json={"body": "x" * 20_000}, headers=gw.a.auth("agent")
        )
        assert response.status_code == 413


def _stream_ends_after(gw: Gateway, monkeypatch: Any, revoke: Any) -> float:
    """Seconds an open ``/api/events`` stream of the agent lives on after ``revoke()``."""
    import time

    import gateway.api_conversations as api
    import gateway.live as live

    monkeypatch.setattr(api, "ACCESS_RECHECK_SECONDS", 0.0)
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.1)
    monkeypatch.setattr(live, "POLL_SECONDS", 0.1)
    with gw.client.stream("GET", "/api/events?seconds=20", headers=gw.a.auth("agent")) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines).startswith("retry:")
        revoke()
        revoked = time.monotonic()
        for _ in lines:
            pass
    return time.monotonic() - revoked


def test_an_open_event_stream_ends_when_its_user_is_disabled(gw: Gateway, monkeypatch: Any) -> None:
    from sqlalchemy import update

    def disable() -> None:
        with gw.db.tenant_session(gw.a.id) as session:
            session.execute(update(User).where(User.id == gw.a.user_ids["agent"]).values(disabled=True))

    assert _stream_ends_after(gw, monkeypatch, disable) < 10  # not the 20 s it asked for


def test_an_open_event_stream_ends_when_its_token_expires(gw: Gateway, monkeypatch: Any) -> None:
    from sqlalchemy import update

    with gw.db.tenant_session(gw.a.id) as session:
        expires = gw.clock.now + timedelta(minutes=1)
        session.execute(update(User).where(User.id == gw.a.user_ids["agent"]).values(expires_at=expires))
    assert _stream_ends_after(gw, monkeypatch, lambda: gw.clock.advance(minutes=2)) < 10
