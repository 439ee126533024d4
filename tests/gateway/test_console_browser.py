"""The console in a real browser (Debian's Chromium through Playwright) on the real stack:
two ``frontdesk serve`` processes and a ``frontdesk worker`` on PostgreSQL and Redis, the
receptionist graph (extractive provider), and the fake Cloud API.

Only the accessible names a new agent relies on are used: "API token", "Sign in", the
customer's name as a link, "Handoff summary", "Take over", "Reply", "Send", "Hand back".
Screenshots go to ``out/console/``. Without Chromium the module skips (fails in CI).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text

import knowledge
from agent.checkpoints import prepare_postgres
from channels.fake_cloud_api import FakeCloudApi
from channels.signature import sign
from store.crypto import Keyring
from store.db import Database, migrate
from store.models import Conversation
from store.repo import channels, providers, tenants, users
from tests.conftest import app_url_of

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "out" / "console"
KB = ROOT / "tests" / "data" / "kb_clinica_es"
PHONE_NUMBER_ID = "100000000000117"
CUSTOMER = ("34611000117", "Lucía Fernández")
LIVE = 30_000  # ms: what "appears without a reload" may take, worker turn included


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    tmp: Path
    cloud: FakeCloudApi
    db: Database
    env: dict[str, str]
    app_secret: str
    tokens: dict[str, str] = field(default_factory=dict[str, str])
    gateways: list[str] = field(default_factory=list[str])
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict[str, subprocess.Popen[bytes]])

    def spawn(self, name: str, *args: str, ready: Any, env: dict[str, str] | None = None) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "frontdesk.cli", *args],
            cwd=self.tmp,
            env={**self.env, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"{name}.log", "wb"),  # noqa: SIM115 - handed to the child
            start_new_session=True,
        )
        self.processes[name] = process
        deadline = time.monotonic() + 300  # a worker loads spaCy: slow on a busy machine
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.tmp / f"{name}.log").read_text()[-3000:])
            time.sleep(0.1)

    def serve(self, name: str) -> str:
        url = f"http://127.0.0.1:{free_port()}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        self.spawn(name, "serve", "--port", url.rsplit(":", 1)[1], ready=up)
        self.gateways.append(url)
        return url

    def worker(self) -> None:
        ready = self.tmp / "worker.ready"
        env = {"FRONTDESK_WORKER_READY_FILE": str(ready)}
        self.spawn("worker", "worker", "--concurrency", "4", ready=ready.exists, env=env)

    def customer_says(self, text_: str, gateway: int = 0) -> None:
        message = {
            "from": CUSTOMER[0],
            "id": f"wamid.console{secrets.token_hex(8)}",
            "timestamp": str(int(time.time())),
            "type": "text",
            "text": {"body": text_},
        }
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "34960000117", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": CUSTOMER[1]}, "wa_id": CUSTOMER[0]}],
            "messages": [message],
        }
        entry = {"id": "console-waba", "changes": [{"field": "messages", "value": value}]}
        body = json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()
        headers = {"content-type": "application/json", "x-hub-signature-256": sign(body, self.app_secret)}
        httpx.post(
            f"{self.gateways[gateway]}/webhooks/whatsapp", content=body, headers=headers
        ).raise_for_status()

    def texts(self) -> list[str]:
        return [m.text or "" for m in self.cloud.sent]

    def wait_for_text(self, needle: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [t for t in self.texts() if needle in t]
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"the fake Cloud API never received {needle!r}; it got {self.texts()}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def _setup(stack: Stack) -> None:
    db = stack.db
    with db.admin_session() as session:
        clinic = tenants.create(
            session, "console-clinic", "Clínica Sonrisa", settings={"default_language": "es"}
        )
        providers.set_provider(session, db.keyring, clinic.id, "extractive")
        channel = channels.add(
            session,
            db.keyring,
            clinic.id,
            phone_number_id=PHONE_NUMBER_ID,
            verify_token="console-verify",
            app_secret=stack.app_secret,
            access_token="EAAG-console-access",
        )
        channels.activate(session, channel)  # the stack's own number
        stack.tokens["marta"] = users.create(session, clinic.id, "agent", "Marta").token.reveal()
        stack.tokens["pablo"] = users.create(session, clinic.id, "agent", "Pablo").token.reveal()
        stack.tokens["sara"] = users.create(session, clinic.id, "supervisor", "Sara").token.reveal()
        other = tenants.create(session, "console-other", "Otra Clínica")
        stack.tokens["outsider"] = users.create(session, other.id, "agent", "Olga").token.reveal()
        clinic_id = clinic.id
    for path in sorted(KB.iterdir()):
        knowledge.ingest(db, clinic_id, path.name, path.read_bytes())


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str, redis_url: str
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("console")
    schema, prefix = f"t_{uuid.uuid4().hex[:12]}", f"test:{uuid.uuid4().hex[:10]}:"
    admin = create_engine(postgres_admin_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = (
        postgres_admin_url + ("&" if "?" in postgres_admin_url else "?") + f"options=-csearch_path%3D{schema}"
    )
    keys = Keyring.new_key_spec("k1")
    app_url = app_url_of(url)  # the application's login role, as in production
    db = Database(app_url, Keyring.from_spec(keys), admin_url=url, schema=schema)
    migrate(db)
    prepare_postgres(url, schema)  # LangGraph's tables, as `frontdesk migrate` makes them
    import redis

    client = redis.Redis.from_url(redis_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTDESK_", "LANGFUSE_"))}
    with FakeCloudApi() as cloud:
        cloud.register(PHONE_NUMBER_ID, "EAAG-console-access")
        env.update(
            FRONTDESK_DATABASE_URL=app_url,
            FRONTDESK_DATABASE_ADMIN_URL=url,
            FRONTDESK_BROKER_URL=redis_url,
            FRONTDESK_REDIS_URL=redis_url,
            FRONTDESK_REDIS_PREFIX=prefix,
            FRONTDESK_BROKER_PREFIX=prefix + "broker:",
            FRONTDESK_MASTER_KEYS=keys,
            FRONTDESK_WHATSAPP_GRAPH_URL=cloud.base_url,
            FRONTDESK_WORKER_DEBOUNCE="0.2",
            FRONTDESK_WORKER_SWEEP_INTERVAL="1",
            FRONTDESK_LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        running = Stack(tmp, cloud, db, env, secrets.token_hex(16))
        try:
            _setup(running)
            running.worker()
            running.serve("serve-a")
            running.serve("serve-b")  # a second gateway process: events must reach both
            yield running
        finally:
            running.stop()
            db.dispose()
            keys_left = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys_left:
                client.delete(*keys_left)
            client.close()
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def signed_in(browser: Any, gateway: str, token: str, **options: Any) -> Any:
    context = browser.new_context(
        locale="en-US", extra_http_headers={"Accept-Language": "en-US,en;q=0.9"}, **options
    )
    page = context.new_page()
    page.goto(f"{gateway}/console")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/inbox"))
    page.locator("#live-status.on").wait_for(timeout=LIVE)  # the event stream is open
    return page


def test_an_agent_takes_over_replies_and_hands_back_live(browser: Any, stack: Stack) -> None:
    from playwright.sync_api import expect

    OUT.mkdir(parents=True, exist_ok=True)
    a, b = stack.gateways
    marta = signed_in(browser, a, stack.tokens["marta"])
    pablo = signed_in(browser, b, stack.tokens["pablo"])  # on the other gateway process
    sara = signed_in(browser, b, stack.tokens["sara"])

    # A customer asks for a person: the conversation appears in both inboxes without a reload.
    stack.customer_says("Hola. Quiero hablar con una persona, por favor")
    stack.wait_for_text("persona")  # the bot's handoff notice reached the customer
    for page in (marta, pablo):
        needs = page.locator("section.group-needs_human")
        expect(needs.get_by_role("link", name=CUSTOMER[1])).to_be_visible(timeout=LIVE)
    assert marta.title().startswith("(1)")  # the title badge counts the new handoff
    marta.screenshot(path=str(OUT / "inbox.png"), full_page=True)

    # Marta opens it and reads the summary.
    marta.get_by_role("link", name=CUSTOMER[1]).click()
    summary = marta.get_by_role("region", name="Handoff summary")
    expect(summary).to_contain_text("Customer wants: Hola. Quiero hablar con una persona")
    expect(summary).to_contain_text("Reason:")

    # She takes over: the second agent sees it leave their inbox, the supervisor sees who has it.
    marta.get_by_role("button", name="Take over").click()
    expect(marta.get_by_role("button", name="Hand back")).to_be_visible()
    expect(pablo.get_by_role("link", name=CUSTOMER[1])).to_have_count(0, timeout=LIVE)
    expect(sara.locator("section.group-others")).to_contain_text("Marta", timeout=LIVE)

    # She replies; the fake Cloud API receives the text.
    marta.get_by_label("Reply").fill("Hola Lucía, soy Marta. Te llamo en cinco minutos.")
    marta.get_by_role("button", name="Send").click()
    assert stack.wait_for_text("soy Marta").startswith("Hola Lucía")
    marta.screenshot(path=str(OUT / "conversation.png"), full_page=True)
    marta.set_viewport_size({"width": 390, "height": 844})
    marta.screenshot(path=str(OUT / "conversation-phone.png"), full_page=True)
    marta.set_viewport_size({"width": 1280, "height": 800})

    # She hands back; the bot answers the customer's next message (and her page shows it live).
    marta.get_by_role("button", name="Hand back").click()
    expect(marta.get_by_role("button", name="Take over")).to_be_visible()
    before = len(stack.texts())
    stack.customer_says("¿Cuánto cuesta una limpieza dental?", gateway=1)
    answer = stack.wait_for_text("45 €")
    assert stack.texts().index(answer) >= before
    expect(marta.locator("ol.messages")).to_contain_text("45 €", timeout=LIVE)

    # A forged post (no valid CSRF token) from Marta's own signed-in browser is refused.
    cid = marta.url.rstrip("/").rsplit("/", 1)[1]
    forged = marta.context.request.post(f"{a}/console/c/{cid}/takeover", form={"csrf": "forged"})
    assert forged.status == 403
    with stack.db.tenant_session(_tenant_of(stack, int(cid))) as session:
        assert session.scalar(select(Conversation.mode).where(Conversation.id == int(cid))) == "bot"


def test_an_agent_of_another_tenant_sees_nothing(browser: Any, stack: Stack) -> None:
    outsider = signed_in(browser, stack.gateways[1], stack.tokens["outsider"])
    stack.customer_says("Otra pregunta: ¿abrís el sábado?")
    time.sleep(2)  # events of the other tenant would have arrived by now
    assert CUSTOMER[1] not in outsider.content()
    cid = _any_conversation(stack)
    response = outsider.goto(f"{stack.gateways[1]}/console/c/{cid}")
    assert response is not None and response.status == 404
    assert CUSTOMER[1] not in outsider.content()


def _any_conversation(stack: Stack) -> int:
    with stack.db.admin_session() as session:
        found = session.scalar(select(Conversation.id))
    assert found is not None
    return int(found)


def _tenant_of(stack: Stack, conversation_id: int) -> int:
    with stack.db.admin_session() as session:
        tenant = session.scalar(select(Conversation.tenant_id).where(Conversation.id == conversation_id))
    assert tenant is not None
    return int(tenant)
