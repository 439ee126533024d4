"""A local fake of the Cloud API's messages endpoint, for tests, ``make demo`` and benchmarks.

It serves ``POST /{version}/{phone_number_id}/messages`` on 127.0.0.1 (random port) from a
background thread, and the two reads of the ownership proof: ``GET /{version}/{phone_number_id}``
and ``GET /{version}/{waba_id}/phone_numbers``, which answer only a token that owns the number
(registered for it, or for its WhatsApp Business Account) or the account, and otherwise Meta's
``(#100)`` "does not exist, cannot be loaded due to missing permissions" error (an unknown
token: 190). It checks the bearer token against the tokens registered per number,
validates the payload's shape like Meta does (``messaging_product``, ``to``, ``type`` text or
template with the right nested fields, read receipts), records every accepted message and
answers with a fresh ``wamid.``. It can be scripted to fail with Meta's real error codes, for
the next N requests or for one recipient, and to add latency. It deduplicates nothing: the
sender must.

    with FakeCloudApi() as cloud_api:
        cloud_api.register("1234", "token", waba_id="5678")   # the token owns the number and account
        client = CloudApiClient(cloud_api.base_url)

Standalone: ``python -m channels.fake_cloud_api --port 8089 --token 1234:token [--waba 5678]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs

import httpx

VERSION = "v21.0"
IN_PROCESS_URL = f"http://fake-cloud-api.invalid/{VERSION}"
"""The base URL to give a client that uses :meth:`FakeCloudApi.transport`."""
TEXT_LIMIT = 4096

# code -> (HTTP status, message, details) as Meta answers them.
ERRORS: dict[int, tuple[int, str, str]] = {
    1: (500, "An unknown error occurred", "Please retry your request later."),
    2: (503, "Service temporarily unavailable", "Please retry your request later."),
    100: (400, "Invalid parameter", "A required parameter is missing or invalid."),
    190: (401, "Error validating access token", "The access token is invalid or has expired."),
    130429: (400, "Rate limit hit", "Cloud API message throughput has been reached."),
    131000: (500, "Something went wrong", "Message failed to send because of an unknown error."),
    131026: (400, "Message Undeliverable", "Unable to deliver message."),
    131047: (
        400,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last "
        "replied to this number.",
    ),
    131050: (400, "Unable to deliver the message", "The user has stopped marketing messages."),
    131056: (
        400,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone number "
        "in a short period of time.",
    ),
    132001: (404, "Template name does not exist in the translation", "Template does not exist."),
}

_PATH = re.compile(r"^/(v\d+\.\d+)/([0-9A-Za-z_-]{1,64})/messages/?$")
_READ_PATH = re.compile(r"^/(v\d+\.\d+)/([0-9]{1,64})(/phone_numbers)?/?$")
_UNSUPPORTED_GET = (
    "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to "
    "missing permissions, or does not support this operation."
)


@dataclass
class FakeNumber:
    """A business number: its account and what the Graph API says about it."""

    waba_id: str | None = None
    display_phone_number: str = "15550000000"
    verified_name: str = "Test Business"


class PayloadError(ValueError):
    """A request body Meta would reject (code 100); the message names the field."""


@dataclass(frozen=True)
class SentMessage:
    """One accepted request, in arrival order."""

    phone_number_id: str
    wa_message_id: str
    to: str = field(repr=False)
    type: str
    payload: dict[str, Any] = field(repr=False)
    idempotency_key: str | None
    at: float

    @property
    def text(self) -> str | None:
        body = self.payload.get("text")
        return cast(str, body.get("body")) if isinstance(body, dict) else None

    @property
    def template_name(self) -> str | None:
        template = self.payload.get("template")
        return cast(str, template.get("name")) if isinstance(template, dict) else None

    @property
    def template_parameters(self) -> list[str]:
        template = self.payload.get("template")
        if not isinstance(template, dict):
            return []
        params: list[str] = []
        for component in cast(dict[str, Any], template).get("components") or []:
            for parameter in component.get("parameters") or []:
                params.append(parameter.get("text", ""))
        return params


@dataclass
class Fault:
    """A scripted failure: Meta error ``code`` for ``remaining`` matching requests (None: always)."""

    code: int
    remaining: int | None = 1
    to: str | None = None
    types: frozenset[str] | None = None
    http_status: int | None = None

    def matches(self, to: str, kind: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        return (self.to is None or self.to == to) and (self.types is None or kind in self.types)


def error_body(code: int, http_status: int | None = None) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of a Cloud API error with ``code``."""
    status, message, details = ERRORS.get(code, (400, "Error", "Request failed."))
    error: dict[str, Any] = {
        "message": f"(#{code}) {message}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": "A" + secrets.token_urlsafe(15),
    }
    if code == 190:
        error["error_subcode"] = 463
    return http_status or status, {"error": error}


def _check_text(payload: dict[str, Any]) -> None:
    text = payload.get("text")
    if not isinstance(text, dict):
        raise PayloadError("text: object required")
    body = cast(dict[str, Any], text).get("body")
    if not isinstance(body, str) or not body.strip():
        raise PayloadError("text.body: non-empty string required")
    if len(body.encode("utf-16-le")) // 2 > TEXT_LIMIT:
        raise PayloadError("text.body: longer than 4096 characters")


def _check_template(payload: dict[str, Any]) -> None:
    template = payload.get("template")
    if not isinstance(template, dict):
        raise PayloadError("template: object required")
    template = cast(dict[str, Any], template)
    if not isinstance(template.get("name"), str) or not template["name"]:
        raise PayloadError("template.name: string required")
    language = template.get("language")
    if not isinstance(language, dict) or not isinstance(cast(dict[str, Any], language).get("code"), str):
        raise PayloadError("template.language.code: string required")
    components = template.get("components", [])
    if not isinstance(components, list):
        raise PayloadError("template.components: list required")
    for component in cast(list[Any], components):
        if not isinstance(component, dict) or not isinstance(component.get("type"), str):
            raise PayloadError("template.components[].type: string required")
        for parameter in component.get("parameters", []):
            if not isinstance(parameter, dict) or parameter.get("type") != "text":
                raise PayloadError("template parameter: type 'text' required")
            value = parameter.get("text")
            if not isinstance(value, str) or not value or re.search(r"[\n\t]| {5,}", value):
                raise PayloadError("template parameter: text without newlines, tabs or 5 spaces required")


def validate_payload(payload: Any) -> tuple[str, str]:
    """``(kind, to)`` of a valid send request (kind ``read`` for read receipts)."""
    if not isinstance(payload, dict):
        raise PayloadError("body: JSON object required")
    payload = cast(dict[str, Any], payload)
    if payload.get("messaging_product") != "whatsapp":
        raise PayloadError("messaging_product: must be 'whatsapp'")
    if payload.get("status") == "read":
        if not isinstance(payload.get("message_id"), str):
            raise PayloadError("message_id: string required")
        return "read", ""
    to = payload.get("to")
    if not isinstance(to, str) or not to.strip():
        raise PayloadError("to: string required")
    if payload.get("recipient_type", "individual") != "individual":
        raise PayloadError("recipient_type: must be 'individual'")
    kind = payload.get("type", "text")
    if kind == "text":
        _check_text(payload)
    elif kind == "template":
        _check_template(payload)
    else:
        raise PayloadError("type: only 'text' and 'template' are supported by the fake")
    callback = payload.get("biz_opaque_callback_data")
    if callback is not None and (not isinstance(callback, str) or len(callback) > 512):
        raise PayloadError("biz_opaque_callback_data: string of at most 512 characters")
    return kind, to


def new_wamid() -> str:
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x11" + secrets.token_bytes(24)).decode()


def text_webhook(
    phone_number_id: str,
    wa_id: str,
    text: str,
    *,
    name: str = "Ana",
    wamid: str | None = None,
    waba_id: str = "1",
    timestamp: str | None = None,
    display_phone_number: str = "15550000000",
) -> dict[str, Any]:
    """The body Meta POSTs when customer ``wa_id`` writes ``text`` to ``phone_number_id``
    (a fresh ``wamid`` and the current time unless given)."""
    message = {
        "from": wa_id,
        "id": wamid or new_wamid(),
        "timestamp": timestamp or str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [message],
    }
    entry = {"id": waba_id, "changes": [{"field": "messages", "value": value}]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


class FakeCloudApi:
    """The fake Cloud API. Thread-safe; start with ``with FakeCloudApi() as cloud_api`` or :meth:`start`."""

    def __init__(self, *, latency: float = 0.0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.latency = latency
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._tokens: dict[str, set[str]] = {}
        self._numbers: dict[str, FakeNumber] = {}
        self._waba_tokens: dict[str, set[str]] = {}
        self._templates: dict[str, set[str]] = {}
        self._faults: list[Fault] = []
        self._sent: list[SentMessage] = []
        self._requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"FakeCloudApi({self.base_url if self._server else 'stopped'})"

    # --- scripting --------------------------------------------------------------------------

    def register(
        self,
        phone_number_id: str,
        token: str,
        *,
        waba_id: str | None = None,
        display_phone_number: str | None = None,
        verified_name: str | None = None,
    ) -> None:
        """``token`` owns ``phone_number_id`` (sends from it, reads it); with ``waba_id`` the
        number belongs to that account and the token owns the account too. Several tokens per
        number are allowed."""
        with self._lock:
            self._tokens.setdefault(phone_number_id, set()).add(token)
            number = self._numbers.setdefault(phone_number_id, FakeNumber())
            if waba_id is not None:
                number.waba_id = waba_id
                self._waba_tokens.setdefault(waba_id, set()).add(token)
            if display_phone_number is not None:
                number.display_phone_number = display_phone_number
            if verified_name is not None:
                number.verified_name = verified_name

    def register_waba(self, waba_id: str, token: str, numbers: Iterable[str] = ()) -> None:
        """``token`` owns the account ``waba_id`` (and so every number in it); ``numbers``
        join the account."""
        with self._lock:
            self._waba_tokens.setdefault(waba_id, set()).add(token)
            for phone_number_id in numbers:
                self._numbers.setdefault(phone_number_id, FakeNumber()).waba_id = waba_id

    def _owns(self, token: str, phone_number_id: str) -> bool:
        if token in self._tokens.get(phone_number_id, ()):
            return True
        number = self._numbers.get(phone_number_id)
        return (
            number is not None
            and number.waba_id is not None
            and token in self._waba_tokens.get(number.waba_id, ())
        )

    def _known(self, token: str) -> bool:
        pools = [*self._tokens.values(), *self._waba_tokens.values()]
        return any(token in pool for pool in pools)

    def register_templates(self, phone_number_id: str, names: Iterable[str]) -> None:
        """Once called for a number, templates not listed fail with 132001."""
        with self._lock:
            self._templates.setdefault(phone_number_id, set()).update(names)

    def fail_next(self, code: int, times: int = 1, *, http_status: int | None = None) -> None:
        """The next ``times`` valid requests fail with Meta error ``code``."""
        with self._lock:
            self._faults.append(Fault(code, times, http_status=http_status))

    def fail_for(
        self,
        to: str,
        code: int,
        *,
        times: int | None = None,
        types: Iterable[str] | None = None,
        http_status: int | None = None,
    ) -> None:
        """Requests to ``to`` (optionally only of ``types``, e.g. ``{"text"}``) fail with ``code``.

        ``fail_for(to, 131047, types={"text"})`` simulates a closed 24-hour window: texts
        fail, templates pass.
        """
        kinds = frozenset(types) if types is not None else None
        with self._lock:
            self._faults.append(Fault(code, times, to=to, types=kinds, http_status=http_status))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget faults, sent messages and the request count (tokens stay)."""
        with self._lock:
            self._faults.clear()
            self._sent.clear()
            self._requests = 0

    @property
    def sent(self) -> list[SentMessage]:
        """A snapshot of the accepted messages, in order."""
        with self._lock:
            return list(self._sent)

    @property
    def requests(self) -> int:
        """How many requests arrived (accepted or not)."""
        with self._lock:
            return self._requests

    def sent_to(self, to: str) -> list[SentMessage]:
        return [m for m in self.sent if m.to == to]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[SentMessage]:
        """Wait until at least ``count`` messages were accepted; returns the snapshot."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = self.sent
            if len(sent) >= count:
                return sent
            time.sleep(0.005)
        raise TimeoutError(f"fake Cloud API got {len(self.sent)} messages, expected {count}")

    # --- the endpoint, as a plain function ---------------------------------------------------

    def handle(
        self, method: str, path: str, authorization: str | None, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Answer one request: ``(HTTP status, JSON body)``."""
        with self._lock:
            self._requests += 1
        if self.latency > 0:
            time.sleep(self.latency)
        token = (authorization or "").removeprefix("Bearer ").strip()
        if method == "GET":
            return self._read(path, token)
        match = _PATH.match(path.split("?", 1)[0])
        if method != "POST" or match is None:
            return error_body(100, 404)
        pnid = match.group(2)
        with self._lock:
            known = pnid in self._tokens or pnid in self._numbers
            authorised = bool(token) and self._owns(token, pnid)
        if not authorised:
            return error_body(190) if known or not token else error_body(100, 400)
        try:
            payload = json.loads(body)
            kind, to = validate_payload(payload)
        except (ValueError, RecursionError) as exc:
            status, error = error_body(100)
            error["error"]["error_data"]["details"] = (
                str(exc) if isinstance(exc, PayloadError) else "invalid JSON"
            )
            return status, error
        payload = cast(dict[str, Any], payload)
        if kind == "read":
            return 200, {"success": True}
        with self._lock:
            fault = self._take_fault(to, kind)
            if fault is not None:
                return error_body(fault.code, fault.http_status)
            names = self._templates.get(pnid)
            if kind == "template" and names is not None and payload["template"]["name"] not in names:
                return error_body(132001)
            message = SentMessage(
                phone_number_id=pnid,
                wa_message_id=new_wamid(),
                to=to,
                type=kind,
                payload=payload,
                idempotency_key=payload.get("biz_opaque_callback_data"),
                at=time.time(),
            )
            self._sent.append(message)
        wa_id = re.sub(r"\D", "", to) or to
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id}],
            "messages": [{"id": message.wa_message_id, "message_status": "accepted"}],
        }

    def _take_fault(self, to: str, kind: str) -> Fault | None:
        """The first scripted fault matching this request, counted down (under the lock)."""
        for fault in self._faults:
            if fault.matches(to, kind):
                if fault.remaining is not None:
                    fault.remaining -= 1
                self._faults = [f for f in self._faults if f.remaining is None or f.remaining > 0]
                return fault
        return None

    def _read(self, path: str, token: str) -> tuple[int, dict[str, Any]]:
        """The Graph API reads: a number's fields, or an account's numbers (paged)."""
        route, _, query = path.partition("?")
        match = _READ_PATH.match(route)
        if match is None:
            return error_body(100, 404)
        object_id, listing = match.group(2), match.group(3) is not None
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        with self._lock:
            fault = self._take_fault("", "read")  # fail_next(...) covers the reads too
            if fault is not None:
                return error_body(fault.code, fault.http_status)
            if not token or not self._known(token):
                return error_body(190)
            if listing:
                allowed = token in self._waba_tokens.get(object_id, ())
                found = sorted(n for n, info in self._numbers.items() if info.waba_id == object_id)
            else:
                allowed = object_id in self._numbers and self._owns(token, object_id)
                found = [object_id]
            described = {n: self._describe(n, params.get("fields")) for n in found} if allowed else {}
        if not allowed:
            status, body = error_body(100)
            body["error"]["message"] = "(#100) " + _UNSUPPORTED_GET.format(id=object_id)
            body["error"]["error_subcode"] = 33
            return status, body
        if not listing:
            return 200, described[object_id]
        return _page(list(described.values()), params)

    def _describe(self, phone_number_id: str, fields: str | None) -> dict[str, Any]:
        number = self._numbers[phone_number_id]
        full: dict[str, Any] = {
            "id": phone_number_id,
            "display_phone_number": number.display_phone_number,
            "verified_name": number.verified_name,
            "quality_rating": "GREEN",
            "code_verification_status": "VERIFIED",
        }
        wanted = {f.strip() for f in (fields or "id,display_phone_number,verified_name").split(",")} | {"id"}
        return {k: v for k, v in full.items() if k in wanted}

    def transport(self) -> httpx.MockTransport:
        """The fake in-process, without a server: ``CloudApiClient(IN_PROCESS_URL, transport=...)``."""

        def answer(request: httpx.Request) -> httpx.Response:
            status, data = self.handle(
                request.method,
                request.url.raw_path.decode(),
                request.headers.get("authorization"),
                request.content,
            )
            return httpx.Response(status, json=data)

        return httpx.MockTransport(answer)

    # --- the server ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (the server must be running)."""
        if self._server is None:
            raise RuntimeError("the fake Cloud API is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """The ``CloudApiClient`` base URL: ``http://127.0.0.1:<port>/v21.0``."""
        return f"{self.url}/{VERSION}"

    def start(self) -> FakeCloudApi:
        if self._server is not None:
            return self
        server = _Server((self._host, self._port), _handler_for(self))
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-cloud_api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeCloudApi:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode()


def _page(items: list[dict[str, Any]], params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """One page of a Graph API edge, with ``paging.cursors`` and ``next`` while more remain."""
    try:
        limit = max(1, min(int(params.get("limit", "25")), 100))
        start = int(base64.urlsafe_b64decode(params["after"]).decode()) if "after" in params else 0
    except (ValueError, UnicodeDecodeError):
        return error_body(100)
    chunk = items[start : start + limit]
    body: dict[str, Any] = {"data": chunk}
    if chunk:
        paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(chunk))}}
        if start + len(chunk) < len(items):
            paging["next"] = "https://graph.facebook.com/next-page"
        body["paging"] = paging
    return 200, body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def _handler_for(fake: FakeCloudApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeCloudApi/1"
        disable_nagle_algorithm = True  # headers and body go out as two writes on keep-alive

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            status, data = fake.handle(self.command, self.path, self.headers.get("Authorization"), body)
            out = json.dumps(data).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (timeout): like Meta, it was sent

        def do_POST(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the fake never logs requests."""

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Run the fake in the foreground: ``--token PHONE_NUMBER_ID:TOKEN`` (repeatable), ``--waba ID``."""
    parser = argparse.ArgumentParser(description="Fake WhatsApp Cloud API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--token", action="append", default=[], metavar="PHONE_NUMBER_ID:TOKEN")
    parser.add_argument("--waba", default=None, metavar="WABA_ID", help="the account of every --token number")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    cloud_api = FakeCloudApi(latency=args.latency, port=args.port)
    for spec in args.token:
        pnid, _, token = str(spec).partition(":")
        cloud_api.register(pnid, token, waba_id=args.waba)
    cloud_api.start()
    print(f"fake Cloud API on {cloud_api.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        cloud_api.stop()


if __name__ == "__main__":
    main()
