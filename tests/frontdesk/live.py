"""A live deployment for end-to-end tests: ``frontdesk serve`` (one or more) and ``frontdesk
worker`` processes (the real command line), a fake of Meta's Cloud API, and a customer who
posts signed webhooks. The embedded defaults (SQLite, a broker needing no server) unless a
test passes PostgreSQL and Redis URLs. Used by the sandbox test and the console's browser test.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import knowledge
from channels.fake_cloud_api import FakeCloudApi, text_webhook
from channels.signature import sign
from store.crypto import Keyring
from store.db import Database, migrate
from store.repo import channels, providers, tenants

ROOT = Path(__file__).resolve().parents[2]
PHONE_NUMBER_ID = "100000000000077"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    """The processes this test started, and how to talk to them."""

    tmp: Path
    graph: FakeCloudApi
    database_url: str = ""
    broker_url: str = ""
    admin_url: str = ""
    """The owner's URL when ``database_url`` logs in as the application role (PostgreSQL)."""
    schema: str | None = None
    phone_number_id: str = PHONE_NUMBER_ID
    extra_env: dict[str, str] = field(default_factory=dict[str, str])
    keys: str = field(default_factory=lambda: Keyring.new_key_spec("k1"))
    app_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    access_token: str = field(default_factory=lambda: "EAAG" + secrets.token_urlsafe(24))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict[str, subprocess.Popen[bytes]])
    api: str = ""
    """The first gateway's base URL."""
    gateways: list[str] = field(default_factory=list[str])
    db: Database | None = None

    def __post_init__(self) -> None:
        self.database_url = self.database_url or f"sqlite:///{self.tmp}/frontdesk.db"
        self.broker_url = self.broker_url or f"sqla+sqlite:///{self.tmp}/broker.db"
        keyring = Keyring.from_spec(self.keys)
        self.db = Database(self.database_url, keyring, admin_url=self.admin_url or None, schema=self.schema)
        migrate(self.db)
        self.graph.register(self.phone_number_id, self.access_token)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FRONTDESK_", "LANGFUSE_"))}
        env.update(
            FRONTDESK_DATABASE_URL=self.database_url,
            FRONTDESK_BROKER_URL=self.broker_url,
            FRONTDESK_MASTER_KEYS=self.keys,
            FRONTDESK_WHATSAPP_GRAPH_URL=self.graph.base_url,
            FRONTDESK_WORKER_DEBOUNCE="0.2",
            FRONTDESK_LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
            **self.extra_env,
        )
        if self.admin_url:
            env["FRONTDESK_DATABASE_ADMIN_URL"] = self.admin_url
        return env

    def add_clinic(self, slug: str, name: str, kb: Path, settings: dict[str, Any] | None = None) -> int:
        """A tenant answered by the extractive provider on this deployment's number, its
        knowledge base ingested from the files in ``kb``; its id."""
        db = self.database
        with db.admin_session() as session:
            tenant = tenants.create(session, slug, name, settings=settings)
            providers.set_provider(session, db.keyring, tenant.id, "extractive")
            channel = channels.add(
                session,
                db.keyring,
                tenant.id,
                phone_number_id=self.phone_number_id,
                verify_token=f"{slug}-verify",
                app_secret=self.app_secret,
                access_token=self.access_token,
            )
            channels.activate(session, channel)  # the deployment's own number (the fake knows its token)
            tenant_id = tenant.id
        for path in sorted(kb.iterdir()):
            knowledge.ingest(db, tenant_id, path.name, path.read_bytes())
        return tenant_id

    @property
    def database(self) -> Database:
        assert self.db is not None
        return self.db

    def cli(self, *args: str, input: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``frontdesk ARGS`` to completion."""
        return subprocess.run(
            [sys.executable, "-m", "frontdesk.cli", *args],
            cwd=self.tmp,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def _spawn(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "frontdesk.cli", *args],
            cwd=self.tmp,
            env={**self.env, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / f"{name}.log", "wb"),  # noqa: SIM115 - handed to the child
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def worker(self, name: str = "worker", concurrency: int = 8, timeout: float = 120) -> int:
        """Start ``frontdesk worker`` and wait until it is ready; its pid."""
        ready = self.tmp / f"{name}.ready"
        process = self._spawn(
            name, "worker", "--concurrency", str(concurrency), env={"FRONTDESK_WORKER_READY_FILE": str(ready)}
        )
        self._wait(name, lambda: ready.exists(), timeout)
        return process.pid

    def serve(self, name: str = "serve", timeout: float = 60) -> str:
        """Start ``frontdesk serve`` on a free port and wait until it answers; its base URL."""
        port = free_port()
        self._spawn(name, "serve", "--port", str(port))
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        self._wait(name, up, timeout)
        self.gateways.append(url)
        self.api = self.api or url
        return url

    def _wait(self, name: str, ready: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.processes[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.tmp / f"{name}.log").read_text()[-3000:])
            time.sleep(0.1)

    def customer_says(self, wa_id: str, text: str, name: str = "Ana Pérez", gateway: int = 0) -> None:
        """A signed webhook with the customer's text, posted to one of the gateways."""
        wamid = f"wamid.live{secrets.token_hex(8)}"
        payload = text_webhook(self.phone_number_id, wa_id, text, name=name, wamid=wamid, waba_id="live-waba")
        body = json.dumps(payload).encode()
        answer = httpx.post(
            f"{self.gateways[gateway]}/webhooks/whatsapp",
            content=body,
            headers={"content-type": "application/json", "x-hub-signature-256": sign(body, self.app_secret)},
        )
        answer.raise_for_status()

    def texts(self) -> list[str]:
        """What the fake Cloud API was asked to send, in order."""
        return [m.text or "" for m in self.graph.sent]

    def wait_for_text(self, needle: str, timeout: float = 60) -> str:
        """The latest text sent that contains ``needle``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [t for t in self.texts() if needle in t]
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"the fake Cloud API never received {needle!r}; it got {self.texts()}")

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        if self.db is not None:
            self.db.dispose()
