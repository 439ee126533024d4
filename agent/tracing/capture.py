"""A local OTLP/HTTP receiver that records what the Langfuse SDK exports (tests, evals).

It answers ``POST /api/public/otel/v1/traces`` (protobuf, gzip or not) like Langfuse does,
``POST /api/public/scores`` and ``GET /api/public/projects``, on 127.0.0.1 and a free port.
For eval exports it also answers the dataset endpoints the SDK calls
(``POST /api/public/v2/datasets``, ``POST /api/public/dataset-items``) and records them.
For erasure it answers the public API's ``GET /api/public/v2/observations`` (by ``sessionId``,
``userId``, ``toStartTime``; cursor pages) and ``DELETE /api/public/traces`` within the caller's
project; ``api_down = True`` makes those answer 503, as an unreachable Langfuse would.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import uuid
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

TRACES_PATH = "/api/public/otel/v1/traces"
DATASETS_PATH = "/api/public/v2/datasets"
DATASET_ITEMS_PATH = "/api/public/dataset-items"
_STAMP = "2026-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class CapturedSpan:
    """One exported span, flattened for assertions."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    public_key: str
    """The Langfuse project the span was sent to (from the Basic auth header)."""
    raw: bytes = field(repr=False, default=b"")
    """The serialized span as it crossed the wire, for scans."""
    start_ns: int = 0


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


def _public_key(authorization: str) -> str:
    if not authorization.lower().startswith("basic "):
        return ""
    decoded = base64.b64decode(authorization[6:]).decode(errors="replace")
    return decoded.partition(":")[0]


class OtlpCapture:
    """Records spans, scores and raw bodies; thread-safe."""

    def __init__(self) -> None:
        self.spans: list[CapturedSpan] = []
        self.scores: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self.datasets: list[dict[str, Any]] = []
        self.dataset_items: list[dict[str, Any]] = []
        self.deleted_traces: list[str] = []
        self.api_down = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "capture server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> OtlpCapture:
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _body(self) -> bytes:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                return body

            def do_POST(self) -> None:
                body = self._body()
                if self.path.startswith(TRACES_PATH):
                    capture._record_spans(body, _public_key(self.headers.get("authorization", "")))
                    reply = ExportTraceServiceResponse().SerializeToString()
                    self._answer(200, reply, "application/x-protobuf")
                elif self.path.startswith("/api/public/scores"):
                    with capture._lock:
                        capture.bodies.append(body)
                        loaded = json.loads(body)
                        capture.scores.extend(loaded if isinstance(loaded, list) else [loaded])
                    self._answer(200, b"{}", "application/json")
                elif self.path.startswith((DATASETS_PATH, DATASET_ITEMS_PATH)):
                    reply = capture._record_dataset(self.path, body)
                    self._answer(200, json.dumps(reply).encode(), "application/json")
                else:
                    self._answer(404, b"{}", "application/json")

            def do_DELETE(self) -> None:
                body = self._body()
                if not self.path.startswith("/api/public/traces"):
                    self._answer(404, b"{}", "application/json")
                elif capture.api_down:
                    self._answer(503, b'{"message":"unavailable"}', "application/json")
                else:
                    tail = self.path.split("?")[0][len("/api/public/traces") :].strip("/")
                    ids = [tail] if tail else list(json.loads(body or b"{}").get("traceIds", []))
                    capture._delete(ids, _public_key(self.headers.get("authorization", "")))
                    self._answer(200, b'{"message":"Traces deleted"}', "application/json")

            def do_GET(self) -> None:
                if self.path.startswith("/api/public/v2/observations"):
                    if capture.api_down:
                        self._answer(503, b'{"message":"unavailable"}', "application/json")
                        return
                    query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                    reply = capture._observations(query, _public_key(self.headers.get("authorization", "")))
                    self._answer(200, json.dumps(reply).encode(), "application/json")
                elif self.path.startswith("/api/public/projects"):
                    data = {
                        "data": [
                            {
                                "id": "p",
                                "name": "local",
                                "metadata": {},
                                "organization": {"id": "o", "name": "local"},
                            }
                        ]
                    }
                    self._answer(200, json.dumps(data).encode(), "application/json")
                else:
                    self._answer(404, b"{}", "application/json")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _record_spans(self, body: bytes, public_key: str) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        captured: list[CapturedSpan] = []
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    captured.append(
                        CapturedSpan(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes={a.key: _value(a.value) for a in span.attributes},
                            public_key=public_key,
                            raw=span.SerializeToString(),
                            start_ns=span.start_time_unix_nano or time.time_ns(),
                        )
                    )
        with self._lock:
            self.bodies.append(body)
            self.spans.extend(captured)

    def _observations(self, query: dict[str, str], public_key: str) -> dict[str, Any]:
        """The project's spans matching the filters, a page at a time (cursor: an offset)."""
        wanted = {"session.id": query.get("sessionId"), "user.id": query.get("userId")}
        before = query.get("toStartTime")
        limit, offset = int(query.get("limit") or 50), int(query.get("cursor") or 0)
        with self._lock:
            spans = [s for s in self.spans if s.public_key == public_key]
        matching = [
            s
            for s in spans
            if all(v is None or s.attributes.get(k) == v for k, v in wanted.items())
            and (before is None or s.start_ns < _nanos(before))
        ]
        page = matching[offset : offset + limit]
        more = offset + limit < len(matching)
        data = [{"id": s.span_id, "traceId": s.trace_id, "type": "SPAN"} for s in page]
        return {"data": data, "meta": {"cursor": str(offset + limit) if more else None}}

    def _delete(self, trace_ids: list[str], public_key: str) -> None:
        gone = set(trace_ids)
        with self._lock:
            self.spans = [s for s in self.spans if not (s.public_key == public_key and s.trace_id in gone)]
            self.deleted_traces.extend(trace_ids)

    def traces(self, public_key: str | None = None) -> set[str]:
        """The trace ids held (in one project, or all)."""
        with self._lock:
            return {s.trace_id for s in self.spans if public_key is None or s.public_key == public_key}

    def _record_dataset(self, path: str, body: bytes) -> dict[str, Any]:
        """Record a dataset or dataset item and answer as Langfuse does."""
        data: dict[str, Any] = json.loads(body or b"{}")
        with self._lock:
            self.bodies.append(body)
            if path.startswith(DATASET_ITEMS_PATH):
                self.dataset_items.append(data)
                return {
                    "id": data.get("id") or str(uuid.uuid4()),
                    "status": data.get("status") or "ACTIVE",
                    "input": data.get("input"),
                    "expectedOutput": data.get("expectedOutput"),
                    "metadata": data.get("metadata"),
                    "sourceTraceId": data.get("sourceTraceId"),
                    "sourceObservationId": data.get("sourceObservationId"),
                    "datasetId": f"ds-{data.get('datasetName')}",
                    "datasetName": data.get("datasetName"),
                    "mediaReferences": [],
                    "createdAt": _STAMP,
                    "updatedAt": _STAMP,
                }
            self.datasets.append(data)
            return {
                "id": f"ds-{data.get('name')}",
                "name": data.get("name"),
                "description": data.get("description"),
                "metadata": data.get("metadata"),
                "projectId": "p",
                "createdAt": _STAMP,
                "updatedAt": _STAMP,
            }

    def all_text(self) -> str:
        """Everything received, as text, for scanning for personal data."""
        with self._lock:
            parts = [b.decode("utf-8", errors="replace") for b in self.bodies]
            parts += [json.dumps(s.attributes, ensure_ascii=False) for s in self.spans]
        return "\n".join(parts)


def _nanos(stamp: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1e9)


@contextmanager
def running_capture() -> Generator[OtlpCapture]:
    """Start a capture server for the duration of the block."""
    capture = OtlpCapture().start()
    try:
        yield capture
    finally:
        capture.stop()
