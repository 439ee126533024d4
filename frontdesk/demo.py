"""``make demo``: a scripted WhatsApp conversation end to end, on the embedded defaults.

Real pieces all the way: a signed webhook into the gateway, the mailbox and a Celery worker
(serverless SQLite broker), the receptionist graph (extractive provider: no model, nothing
leaves the machine), the fenced outbox and a local fake of Meta's Cloud API. A human agent
takes over through the REST API, replies, and hands back.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import typer

import knowledge
from channels import ownership
from channels.cloud_api import CloudApiClient
from channels.fake_cloud_api import FakeCloudApi
from channels.signature import sign
from errors import NotFound
from frontdesk.settings import load_settings, secure_write
from frontdesk.wiring import open_database
from store import db as store_db
from store.db import Database
from store.repo import channels, providers, tenants, users

DEMO_SLUG = "demo-clinic"
PHONE_NUMBER_ID = "100000000000001"
WABA_ID = "100000000000009"
CUSTOMER = ("34611222333", "Lucía Fernández")
KB_DIR = Path(__file__).parent / "demo_kb"
SETTINGS = {
    "timezone": "Europe/Madrid",
    "default_language": "es",
    "opening_hours": {d: [["09:00", "19:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": [["10:00", "14:00"]]},
}
STEP_TIMEOUT_S = 90.0


@dataclass
class Demo:
    """The running pieces and what the customer saw."""

    db: Database
    tenant_id: int
    app_secret: str
    agent_token: str
    cloud_api: FakeCloudApi
    api: str
    transcript: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])

    def customer_says(self, text: str) -> str:
        """Post a signed webhook as Meta would, and wait for the reply to reach the Cloud API."""
        self.transcript.append((f"customer ({CUSTOMER[1]})", text))
        before = len(self.cloud_api.sent)
        body = _webhook(text).encode()
        answer = httpx.post(
            f"{self.api}/webhooks/whatsapp",
            content=body,
            headers={"content-type": "application/json", "x-hub-signature-256": sign(body, self.app_secret)},
        )
        answer.raise_for_status()
        return self._wait_for_send(before)

    def agent(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method, f"{self.api}{path}", headers={"authorization": f"Bearer {self.agent_token}"}, **kwargs
        )
        response.raise_for_status()
        return response.json()

    def _wait_for_send(self, before: int, author: str = "bot") -> str:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while time.monotonic() < deadline:
            if len(self.cloud_api.sent) > before:
                text = _text_of(self.cloud_api.sent[before])
                self.transcript.append((author, text))
                return text
            time.sleep(0.1)
        raise RuntimeError("no reply reached the Cloud API in time (is the worker running?)")

    def agent_replies(self, conversation_id: int, text: str) -> str:
        before = len(self.cloud_api.sent)
        self.agent("POST", f"/api/conversations/{conversation_id}/reply", json={"text": text})
        return self._wait_for_send(before, author="human agent")


def _webhook(text: str) -> str:
    import json

    from channels.fake_cloud_api import text_webhook

    wamid = f"wamid.demo{secrets.token_hex(8)}"
    return json.dumps(
        text_webhook(
            PHONE_NUMBER_ID,
            CUSTOMER[0],
            text,
            name=CUSTOMER[1],
            wamid=wamid,
            waba_id=WABA_ID,
            display_phone_number="34960000000",
        )
    )


def _text_of(sent: Any) -> str:
    payload = getattr(sent, "payload", sent)
    if isinstance(payload, dict):
        text = payload.get("text")
        if isinstance(text, dict):
            return str(text.get("body", ""))
    return str(payload)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(db: Database, cloud_api: FakeCloudApi) -> tuple[int, str, str]:
    """The demo tenant with its knowledge, provider, channel and an agent (fresh secrets each run).

    The channel is connected as a tenant admin would: its access token proves to the (fake)
    Graph API that it owns the number and the account, and only then is it active."""
    with db.admin_session() as session:
        try:
            tenant = tenants.get_by_slug(session, DEMO_SLUG)
        except NotFound:
            tenant = tenants.create(session, DEMO_SLUG, "Clínica Sonrisa (demo)", settings=SETTINGS)
        providers.set_provider(session, db.keyring, tenant.id, "extractive")
        tenant_id = tenant.id
        app_secret, access_token = secrets.token_hex(16), "EAAG" + secrets.token_urlsafe(24)
        while (existing := channels.by_phone_number_id(session, PHONE_NUMBER_ID)) is not None:
            session.delete(existing)
            session.flush()
        agent = users.create(session, tenant_id, "agent", "Marta (recepción)")
    cloud_api.register(PHONE_NUMBER_ID, access_token, waba_id=WABA_ID, verified_name="Clínica Sonrisa")
    claim = ownership.Claim(
        phone_number_id=PHONE_NUMBER_ID,
        verify_token=secrets.token_urlsafe(12),
        app_secret=app_secret,
        access_token=access_token,
        waba_id=WABA_ID,
    )
    ownership.connect(db, tenant_id, claim, lambda: CloudApiClient(cloud_api.base_url), actor="demo")
    for path in sorted(KB_DIR.iterdir()):
        knowledge.ingest(db, tenant_id, path.name, path.read_bytes())
    return tenant_id, app_secret, agent.token.reveal()


def _start_worker(cloud_api_url: str, workdir: str) -> subprocess.Popen[bytes]:
    ready = Path(workdir) / "worker.ready"
    env = dict(os.environ)
    env.update(
        FRONTDESK_WHATSAPP_GRAPH_URL=cloud_api_url,
        FRONTDESK_WORKER_READY_FILE=str(ready),
        FRONTDESK_WORKER_DEBOUNCE="0.3",
        FRONTDESK_LOG_LEVEL="ERROR",
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "frontdesk.cli", "worker", "--concurrency", "8"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(Path(workdir) / "worker.log", "wb"),  # noqa: SIM115 - handed to the child
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start; see {Path(workdir) / 'worker.log'}")
        time.sleep(0.2)
    return worker


def _start_api(db: Database) -> tuple[str, Any]:
    import uvicorn

    from frontdesk.gateway_app import build_app, server_config

    port = _free_port()
    server = uvicorn.Server(server_config(build_app(db), "127.0.0.1", port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def run() -> None:
    """Run the scripted conversation and print the transcript."""
    settings = load_settings()
    db = open_database(settings)
    store_db.migrate(db)
    say = typer.echo
    say("Frontdesk demo: a dental clinic's WhatsApp receptionist, end to end on this machine.")
    say("Starting a fake WhatsApp Cloud API, the gateway and a worker…")
    workdir = tempfile.mkdtemp(prefix="frontdesk-demo-")
    with FakeCloudApi() as cloud_api:
        tenant_id, app_secret, agent_token = _prepare(db, cloud_api)
        worker = _start_worker(cloud_api.base_url, workdir)
        api, server = _start_api(db)
        try:
            demo = Demo(db, tenant_id, app_secret, agent_token, cloud_api, api)
            demo.customer_says("Hola, soy Lucía Fernández. ¿Cuánto cuesta una limpieza dental?")
            demo.customer_says("Quiero hablar con una persona, por favor")
            conversation = demo.agent("GET", "/api/conversations")[0]["id"]
            demo.agent("POST", f"/api/conversations/{conversation}/takeover")
            demo.agent_replies(conversation, "Hola Lucía, soy Marta. Te he reservado el jueves a las 10:00.")
            demo.agent("POST", f"/api/conversations/{conversation}/handback")
            demo.transcript.append(("—", "Marta hands the conversation back to the bot"))
            demo.customer_says("Gracias. ¿Y cuánto cuesta un empaste?")
        finally:
            server.should_exit = True
            worker.terminate()
            worker.wait(timeout=60)
    say("\nTranscript (as the customer saw it on WhatsApp):\n")
    for who, text in demo.transcript:
        say(f"  {who}:")
        for line in text.splitlines():
            say(f"      {line}")
    say(
        "\nWhat just ran: signed webhook → gateway → mailbox → worker → receptionist graph "
        "(redaction, knowledge search, extractive answer, handoff) → fenced outbox → Cloud API.\n"
        "The customer's name and number never reached a model or a trace; they were replaced by placeholders.\n"
        "\nTry next:\n"
        f"  uv run frontdesk chat --tenant {DEMO_SLUG}            talk to the receptionist yourself\n"
        "  uv run frontdesk serve                               the webhook and the API docs at http://127.0.0.1:8000/docs\n"
        f"  uv run frontdesk tenants set-provider {DEMO_SLUG} --provider openai --model gpt-4o-mini   (key on stdin)\n"
        "  uv run frontdesk eval run --suite smoke --provider simulator   the evals report\n"
    )
    secure_write(Path(workdir) / "agent.token", agent_token + "\n")
