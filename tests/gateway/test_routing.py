"""Webhook routing is cached for a few seconds, but never at the cost of a message."""

from __future__ import annotations

from store.crypto import Secret
from store.models import Channel
from store.repo import channels as channel_repo
from store.sealed import seal
from tests.gateway.conftest import Gateway, text_message


def test_a_rotated_app_secret_is_accepted_at_once(gw: Gateway) -> None:
    assert gw.post_webhook(text_message(gw.a, "hola", wamid="wamid.R1")).status_code == 200  # cached
    with gw.db.tenant_session(gw.a.id) as session:
        channel = session.get(Channel, gw.a.channel_id)
        assert channel is not None
        seal(gw.db.keyring, channel, "app_secret_ciphertext", "rotated-secret-0123456789")
    rotated = gw.post_webhook(
        text_message(gw.a, "hola", wamid="wamid.R2"), secret="rotated-secret-0123456789"
    )
    assert rotated.status_code == 200 and rotated.json()["outcomes"] == {"message": 1}
    # the old secret no longer verifies, even though it was cached
    stale = gw.post_webhook(text_message(gw.a, "hola", wamid="wamid.R3"))
    assert stale.status_code == 401


def test_a_number_connected_a_moment_ago_is_routed_at_once(gw: Gateway) -> None:
    body = text_message(gw.a, "hola", wamid="wamid.N1")
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "1000000077"
    assert gw.post_webhook(body).json()["status"] == "ignored"  # nobody has that number yet
    with gw.db.tenant_session(gw.a.id) as session:
        channel = channel_repo.add(
            session,
            gw.db.keyring,
            gw.a.id,
            phone_number_id="1000000077",
            verify_token="another-verify",
            app_secret=gw.a.app_secret,
            access_token="EAAG-second",
        )
    assert gw.post_webhook(body).json()["status"] == "ignored"  # pending: not routed
    with gw.db.tenant_session(gw.a.id) as session:
        channel_repo.activate(session, session.merge(channel))
    answer = gw.post_webhook(body)
    assert answer.status_code == 200 and answer.json()["outcomes"] == {"message": 1}


def test_the_cache_holds_the_secret_only_as_a_secret(gw: Gateway) -> None:
    gw.post_webhook(text_message(gw.a, "hola", wamid="wamid.S1"))
    services = gw.client.app.state.services  # type: ignore[attr-defined]
    routes = services.routes.routes(gw.db, [gw.a.phone_number_id])
    route = routes[gw.a.phone_number_id]
    assert isinstance(route.app_secret, Secret) and gw.a.app_secret not in repr(route)
