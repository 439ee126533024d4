"""A wire-compatible simulator of the OpenAI, Anthropic and Gemini HTTP APIs on 127.0.0.1.

The official SDKs work against it unchanged (point their base URL at ``Simulator.url``).
Behaviour is injectable: scripted rules over the last user message, queued or random
faults, a latency distribution, the set of valid keys. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import random
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import uvicorn
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.llm.simulator_wire import (
    FaultKind,
    Reply,
    Vendor,
    WireRequest,
    gemini_embeddings,
    openai_embeddings,
    parse_anthropic,
    parse_gemini,
    parse_openai,
    render_anthropic,
    render_error,
    render_gemini,
    render_openai,
)

_AUTH_HEADERS = {"authorization", "x-api-key", "x-goog-api-key"}


class Rule(BaseModel):
    """When the last user message matches ``pattern``: reply, or call a tool first."""

    model_config = ConfigDict(extra="forbid")

    pattern: str
    """Regular expression, searched case-insensitively in the last user message."""
    reply: str = ""
    tool: str | None = None
    """Tool to call (only when the request offers it); ``reply`` is then the text beside it."""
    arguments: dict[str, Any] = Field(default_factory=dict[str, Any])
    """Tool arguments; the string ``$message`` is replaced by the last user message."""
    after_tool: str | None = None
    """Reply once the tool result is back; ``{result}`` is replaced by it."""
    vendor: Vendor | None = None
    times: int | None = None
    """How many times the rule may fire (``None``: always)."""

    def matches(self, req: WireRequest) -> bool:
        """Whether this rule applies to ``req``."""
        if (self.vendor and self.vendor != req.vendor) or self.times == 0:
            return False
        return re.search(self.pattern, req.last_user, re.IGNORECASE | re.DOTALL) is not None


class Fault(BaseModel):
    """One simulated failure."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    vendor: Vendor | None = None
    retry_after: float | None = None
    """Seconds sent in ``Retry-After`` with a ``rate_limit`` fault (``None``: no header)."""


class Latency(BaseModel):
    """Delay before each answer."""

    model_config = ConfigDict(extra="forbid")

    distribution: Literal["fixed", "uniform", "normal", "lognormal", "exponential"] = "fixed"
    mean_s: float = 0.0
    spread_s: float = 0.0
    """Half-width (uniform) or standard deviation (normal, lognormal)."""

    def sample(self, rng: random.Random) -> float:
        """One delay in seconds (never negative)."""
        m, s = self.mean_s, self.spread_s
        if m <= 0 and s <= 0:
            return 0.0
        match self.distribution:
            case "fixed":
                value = m
            case "uniform":
                value = rng.uniform(m - s, m + s)
            case "normal":
                value = rng.gauss(m, s)
            case "lognormal":
                sigma2 = (s / m) ** 2 if m > 0 else 0.0
                value = rng.lognormvariate(_ln(m) - _ln(1 + sigma2) / 2, _ln(1 + sigma2) ** 0.5)
            case "exponential":
                value = rng.expovariate(1 / m) if m > 0 else 0.0
        return max(0.0, value)


def _ln(x: float) -> float:
    import math

    return math.log(x) if x > 0 else 0.0


class SimulatorScript(BaseModel):
    """Behaviour from a JSON/YAML file (``frontdesk simulator serve --script``)."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list[Rule])
    faults: list[Fault] = Field(default_factory=list[Fault])
    """Queued, served in order to the first matching requests."""
    fault_rates: dict[FaultKind, float] = Field(default_factory=dict[FaultKind, float])
    """Probability of each fault on any request."""
    latency: Latency = Latency()
    valid_keys: list[str] | None = None
    """Keys accepted (``None``: any non-empty key)."""
    timeout_s: float = 30.0
    """How long a ``timeout`` fault keeps the request hanging."""
    seed: int = 0
    embedding_dim: int = 64


@dataclass
class RecordedRequest:
    """One request as received (auth header values removed; the key kept apart)."""

    vendor: Vendor
    path: str
    headers: dict[str, str]
    api_key: str | None
    body: dict[str, Any]
    at: float
    status: int = 0
    """Status answered (0 while the answer is pending)."""

    @property
    def key_hash(self) -> str:
        """sha256 prefix of the key that was used."""
        return hashlib.sha256((self.api_key or "").encode()).hexdigest()[:16]

    @property
    def body_text(self) -> str:
        """The body as JSON text, for ``in`` assertions."""
        return json.dumps(self.body, ensure_ascii=False)


class Simulator:
    """The simulator's behaviour and records; thread-safe, shared with the server thread."""

    def __init__(self, script: SimulatorScript | None = None) -> None:
        script = script or SimulatorScript()
        self._lock = threading.Lock()
        self.rules: list[Rule] = list(script.rules)
        self._faults: deque[Fault] = deque(script.faults)
        self.fault_rates: dict[FaultKind, float] = dict(script.fault_rates)
        self.latency = script.latency
        self.valid_keys: set[str] | None = set(script.valid_keys) if script.valid_keys is not None else None
        self.timeout_s = script.timeout_s
        self.embedding_dim = script.embedding_dim
        self._rng = random.Random(script.seed)
        self._ids = itertools.count(1)
        self.requests: list[RecordedRequest] = []
        self.url = ""
        """Base URL once served (``http://127.0.0.1:PORT``)."""

    # --- behaviour API --------------------------------------------------------------------

    def add_rule(self, pattern: str, reply: str = "", **kwargs: Any) -> Rule:
        """Add a scripted rule (first match wins, in insertion order)."""
        rule = Rule(pattern=pattern, reply=reply, **kwargs)
        with self._lock:
            self.rules.append(rule)
        return rule

    def enqueue_fault(
        self,
        kind: FaultKind,
        *,
        vendor: Vendor | None = None,
        retry_after: float | None = None,
        count: int = 1,
    ) -> None:
        """Fail the next ``count`` matching requests with ``kind``."""
        with self._lock:
            for _ in range(count):
                self._faults.append(Fault(kind=kind, vendor=vendor, retry_after=retry_after))

    def set_latency(self, mean_s: float, spread_s: float = 0.0, distribution: str = "fixed") -> None:
        """Delay every answer by a sample of this distribution."""
        self.latency = Latency.model_validate(
            {"distribution": distribution, "mean_s": mean_s, "spread_s": spread_s}
        )

    def reset(self) -> None:
        """Forget rules, faults, latency, key restrictions and records."""
        with self._lock:
            self.rules.clear()
            self._faults.clear()
            self.fault_rates.clear()
            self.latency = Latency()
            self.valid_keys = None
            self.requests.clear()

    def requests_for(self, vendor: Vendor | None = None, path_contains: str = "") -> list[RecordedRequest]:
        """Recorded requests, filtered."""
        with self._lock:
            items = list(self.requests)
        return [r for r in items if (vendor is None or r.vendor == vendor) and path_contains in r.path]

    # --- internals ------------------------------------------------------------------------

    def _next_fault(self, vendor: Vendor) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.vendor in (None, vendor):
                    self._faults.remove(fault)
                    return fault
            for kind, rate in self.fault_rates.items():
                if rate > 0 and self._rng.random() < rate:
                    return Fault(kind=kind, retry_after=1.0 if kind == "rate_limit" else None)
            return None

    def _delay(self) -> float:
        with self._lock:
            return self.latency.sample(self._rng)

    def _reply(self, req: WireRequest) -> Reply:
        with self._lock:
            rule = next((r for r in self.rules if r.matches(req)), None)
            if rule is not None and rule.times is not None and req.tool_result is None:
                rule.times -= 1
        if req.tool_result is not None:
            if rule is not None and rule.after_tool is not None:
                return Reply(text=rule.after_tool.replace("{result}", req.tool_result))
            return Reply(text=f"Here is what I found: {req.tool_result[:300]}")
        if rule is None:
            return Reply(
                text=f"You said: {req.last_user[:200]}" if req.last_user else "Hello! How can I help?"
            )
        if rule.tool and rule.tool in req.tools:
            args = {k: (req.last_user if v == "$message" else v) for k, v in rule.arguments.items()}
            return Reply(text=rule.reply, tool_name=rule.tool, tool_args=args)
        return Reply(text=rule.reply or f"You said: {req.last_user[:200]}")

    def _record(
        self, vendor: Vendor, request: Request, key: str | None, body: dict[str, Any]
    ) -> RecordedRequest:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _AUTH_HEADERS}
        item = RecordedRequest(vendor, request.url.path, headers, key, body, time.time())
        with self._lock:
            self.requests.append(item)
        return item

    # --- HTTP -----------------------------------------------------------------------------

    def app(self) -> Starlette:
        """The ASGI app."""
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai_chat, methods=["POST"]),
                Route("/v1/embeddings", self._openai_embed, methods=["POST"]),
                Route("/v1/messages", self._anthropic_messages, methods=["POST"]),
                Route("/{version:str}/models/{target:str}", self._gemini, methods=["POST"]),
                Route("/health", self._health, methods=["GET"]),
            ]
        )

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def _handle(self, vendor: Vendor, request: Request, key: str | None, work: Any) -> Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = {}
        if not isinstance(body, dict):
            body = {"_": body}
        record = self._record(vendor, request, key, body)
        fault: Fault | None = None
        if not key or (self.valid_keys is not None and key not in self.valid_keys):
            fault = Fault(kind="unauthorized")
        else:
            fault = self._next_fault(vendor)
        delay = self._delay()
        if fault is not None and fault.kind == "timeout":
            delay = max(delay, self.timeout_s)
        if delay:
            await asyncio.sleep(delay)
        if fault is not None:
            status, payload = render_error(vendor, fault.kind)
            headers = {}
            if fault.kind == "rate_limit" and fault.retry_after is not None:
                headers["retry-after"] = f"{fault.retry_after:g}"
            record.status = status
            return JSONResponse(payload, status_code=status, headers=headers)
        record.status = 200
        return JSONResponse(work(body))

    async def _openai_chat(self, request: Request) -> Response:
        key = _bearer(request.headers.get("authorization"))

        def work(body: dict[str, Any]) -> dict[str, Any]:
            req = parse_openai(body)
            return render_openai(req, self._reply(req), f"call_{next(self._ids)}")

        return await self._handle("openai", request, key, work)

    async def _openai_embed(self, request: Request) -> Response:
        key = _bearer(request.headers.get("authorization"))
        return await self._handle("openai", request, key, lambda b: openai_embeddings(b, self.embedding_dim))

    async def _anthropic_messages(self, request: Request) -> Response:
        key = request.headers.get("x-api-key") or _bearer(request.headers.get("authorization"))

        def work(body: dict[str, Any]) -> dict[str, Any]:
            req = parse_anthropic(body)
            return render_anthropic(req, self._reply(req), str(next(self._ids)))

        return await self._handle("anthropic", request, key, work)

    async def _gemini(self, request: Request) -> Response:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        target: str = request.path_params["target"]
        model, _, method = target.partition(":")

        def work(body: dict[str, Any]) -> dict[str, Any]:
            if method in ("batchEmbedContents", "embedContent"):
                return gemini_embeddings(body, self.embedding_dim)
            req = parse_gemini(model, body)
            return render_gemini(req, self._reply(req), str(next(self._ids)))

        if method not in ("generateContent", "batchEmbedContents", "embedContent"):
            return JSONResponse(
                {"error": {"code": 404, "message": f"unknown method {method}"}}, status_code=404
            )
        return await self._handle("gemini", request, key, work)


def _bearer(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip() or None
    return None


class SimulatorServer:
    """Runs a ``Simulator`` with uvicorn in a background thread on 127.0.0.1."""

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.simulator = simulator
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        simulator.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(
            simulator.app(),
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=1,
            backlog=4096,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self) -> None:
        """Start serving and wait until the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("simulator did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        """Stop serving (hanging requests are abandoned)."""
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(timeout=5)
        self._sock.close()


def load_script(path: str | Path) -> SimulatorScript:
    """A script from a ``.json`` or ``.yaml``/``.yml`` file."""
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith((".yaml", ".yml")):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    return SimulatorScript.model_validate(data)


def serve(host: str, port: int, script_path: str | None) -> None:
    """Serve the simulator in the foreground until interrupted (``frontdesk simulator serve``)."""
    simulator = Simulator(load_script(script_path) if script_path else None)
    simulator.url = f"http://{host}:{port}"
    print(
        f"Frontdesk model simulator on {simulator.url}  (OpenAI: {simulator.url}/v1, "
        f"Anthropic: {simulator.url}, Gemini: {simulator.url}/)",
        flush=True,
    )
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    config = uvicorn.Config(simulator.app(), log_level="info", lifespan="off", backlog=4096, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
