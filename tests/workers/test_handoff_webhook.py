"""The operator's signed handoff webhook: URL rules, signature, retries, no customer data."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agent.llm.hosts import is_public, resolve
from errors import UserError
from store.identity import new_contact
from store.models import Conversation, Tenant, TurnRow
from store.sealed import seal
from workers import handoffs


class Receiver:
    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.received = statuses, list[tuple[dict[str, str], bytes]]()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([503])
    yield r
    r.server.shutdown()


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://169.254.169.254/latest",
        "https://user:pw@hooks.example.com/x",
        "ftp://hooks.example.com/x",
        "https:///nohost",
    ],
)
def test_unfit_urls_are_refused(url: str) -> None:
    with pytest.raises(UserError):
        handoffs.validate_url(url)


def test_public_https_and_development_loopback_are_accepted() -> None:
    assert handoffs.validate_url("https://hooks.example.com/frontdesk")
    assert handoffs.validate_url("http://127.0.0.1:9000/x", allow_loopback=True)
    with pytest.raises(UserError):
        handoffs.validate_url("http://127.0.0.1:9000/x")


def test_a_host_name_that_resolves_to_a_private_address_is_refused() -> None:
    own = socket.gethostname()  # resolves to this machine (loopback or a private address)
    if all(is_public(a) for a in resolve(own, 443)):
        pytest.skip("this machine's name resolves to a public address")
    with pytest.raises(UserError, match="resolves to a private"):
        handoffs.validate_url(f"https://{own}/hooks")
    with pytest.raises(UserError, match="resolves to a private"):
        handoffs.validate_url("https://hooks.test/x", resolver=lambda _h, _p: ["93.184.215.14", "10.0.0.5"])
    assert handoffs.validate_url("https://hooks.test/x", resolver=lambda _h, _p: ["93.184.215.14"])
    assert handoffs.validate_url("https://not-yet.test/x", resolver=_unresolvable)  # checked at delivery


def _unresolvable(_host: str, _port: int) -> list[str]:
    raise OSError("no such name")


def test_delivery_connects_to_the_address_it_checked_never_to_a_second_lookup(receiver: Receiver) -> None:
    port = receiver.server.server_address[1]
    url = f"http://hooks.test:{port}/hooks"  # a name real DNS does not know: only our lookup finds it
    receiver.statuses.clear()
    assert handoffs.deliver(
        url, "s", {"event": "handoff"}, delays=(), allow_loopback=True, resolver=lambda _h, _p: ["127.0.0.1"]
    )
    assert receiver.received[0][0]["host"] == f"hooks.test:{port}"
    # Without the development switch a name answering 127.0.0.1 is refused, and not retried.
    lookups: list[str] = []

    def rebinding(host: str, _port: int) -> list[str]:
        lookups.append(host)
        return ["93.184.215.14"] if len(lookups) == 1 else ["127.0.0.1"]

    assert not handoffs.deliver(
        url, "s", {"event": "handoff"}, delays=(), resolver=lambda _h, _p: ["127.0.0.1"]
    )
    # A name that answers a public address to the check and 127.0.0.1 afterwards: the connection
    # goes to the checked (public) address, which this test machine may not reach.
    assert not handoffs.deliver(url, "s", {"event": "handoff"}, delays=(), resolver=rebinding)
    assert lookups == ["hooks.test"] and len(receiver.received) == 1


def test_delivery_is_signed_and_retried(receiver: Receiver) -> None:
    payload = {"event": "handoff", "conversation_id": 5}
    assert handoffs.deliver(receiver.url, "whsec_test", payload, delays=(0.05, 0.05), allow_loopback=True)
    assert len(receiver.received) == 2  # the 503 was retried
    headers, body = receiver.received[-1]
    expected = hmac.new(
        b"whsec_test", headers["x-frontdesk-timestamp"].encode() + b"." + body, hashlib.sha256
    )
    assert headers["x-frontdesk-signature"] == "sha256=" + expected.hexdigest()
    assert json.loads(body) == payload


def test_a_refused_delivery_is_not_retried() -> None:
    r = Receiver([400])
    try:
        assert not handoffs.deliver(r.url, "s", {"event": "handoff"}, delays=(0.05,), allow_loopback=True)
        assert len(r.received) == 1
    finally:
        r.server.shutdown()


def test_a_handoff_notifies_the_tenants_url_without_customer_data(
    sqlite_db: Any, make_tenant: Any, receiver: Receiver
) -> None:
    tenant_id = make_tenant(sqlite_db, "hooked")
    receiver.statuses.clear()
    with sqlite_db.tenant_session(tenant_id) as session:
        tenant = session.get(Tenant, tenant_id)
        assert tenant is not None
        setting = handoffs.setting_for(sqlite_db.keyring, tenant_id, receiver.url, "whsec_abc")
        assert "whsec_abc" not in json.dumps(setting)  # encrypted at rest
        tenant.settings = {**(tenant.settings or {}), handoffs.SETTING: setting}
        contact = new_contact(sqlite_db.keyring, tenant_id, "34600000999", profile_name="Ana Secreta")
        session.add(contact)
        session.flush()
        conversation = Conversation(tenant_id=tenant_id, contact_id=contact.id, mode="human")
        session.add(conversation)
        session.flush()
        turn = TurnRow(
            id="t-1", tenant_id=tenant_id, conversation_id=conversation.id, epoch=0, status="handoff"
        )
        session.add(turn)
        session.flush()
        seal(
            sqlite_db.keyring,
            turn,
            "handoff_summary_ciphertext",
            "Reason: customer asked for a person.\nWants: x",
        )
        cid = conversation.id
    assert handoffs.notify(sqlite_db, tenant_id, cid, allow_loopback=True)
    receiver.wait(1)
    headers, body = receiver.received[0]
    sent = json.loads(body)
    assert sent["reason"] == "customer asked for a person" and sent["conversation_id"] == cid
    assert sent["tenant"] == "hooked" and "Ana" not in body.decode() and "34600000999" not in body.decode()
    assert headers["x-frontdesk-signature"].startswith("sha256=")
    assert not handoffs.notify(sqlite_db, make_tenant(sqlite_db, "plain"), cid)  # no URL: nothing sent
