"""The fake Graph API on its own: token checks, payload validation, scripting, standalone use."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from channels.fake_graph import FakeGraph, validate_payload

from .conftest import PHONE_NUMBER_ID, TOKEN


def post(
    graph: FakeGraph, payload: Any, *, token: str = TOKEN, pnid: str = PHONE_NUMBER_ID
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{graph.base_url}/{pnid}/messages", json=payload, headers=headers, timeout=5)


def text_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "to": "34600000001",
        "type": "text",
        "text": {"body": "hi"},
    }
    payload.update(changes)
    return payload


def test_accepts_a_valid_text(fake_graph: FakeGraph) -> None:
    response = post(fake_graph, text_payload())
    assert response.status_code == 200
    data = response.json()
    assert data["messages"][0]["id"].startswith("wamid.")
    assert data["contacts"][0] == {"input": "34600000001", "wa_id": "34600000001"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (text_payload(messaging_product="sms"), "messaging_product"),
        (text_payload(to=""), "to"),
        (text_payload(type="image"), "type"),
        (text_payload(text={"body": ""}), "text.body"),
        (text_payload(text="hi"), "text"),
        (text_payload(text={"body": "x" * 4097}), "text.body"),
        (text_payload(type="template", template={"language": {"code": "es"}}), "template.name"),
        (text_payload(type="template", template={"name": "t"}), "template.language.code"),
        (
            text_payload(
                type="template",
                template={
                    "name": "t",
                    "language": {"code": "es"},
                    "components": [{"type": "body", "parameters": [{"type": "text", "text": "a\nb"}]}],
                },
            ),
            "template parameter",
        ),
        (text_payload(biz_opaque_callback_data="k" * 513), "biz_opaque_callback_data"),
        ([1, 2], "body"),
    ],
)
def test_rejects_bad_payloads_with_code_100(fake_graph: FakeGraph, payload: Any, field: str) -> None:
    response = post(fake_graph, payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert field in error["error_data"]["details"]
    assert fake_graph.sent == []


def test_token_checks(fake_graph: FakeGraph) -> None:
    assert post(fake_graph, text_payload(), token="nope").json()["error"]["code"] == 190
    assert post(fake_graph, text_payload(), token="").status_code == 401
    unknown = post(fake_graph, text_payload(), pnid="55555")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 100
    assert fake_graph.sent == []


def test_invalid_json_and_wrong_path(fake_graph: FakeGraph) -> None:
    response = httpx.post(
        f"{fake_graph.base_url}/{PHONE_NUMBER_ID}/messages",
        content=b"{not json",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert httpx.get(f"{fake_graph.url}/whatever", timeout=5).status_code == 404


def test_read_receipts_are_not_messages() -> None:
    assert validate_payload({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.x"}) == (
        "read",
        "",
    )


def test_server_error_fault_uses_5xx(fake_graph: FakeGraph) -> None:
    fake_graph.fail_next(1)
    fake_graph.fail_next(131000, http_status=502)
    assert post(fake_graph, text_payload()).status_code == 500
    assert post(fake_graph, text_payload()).status_code == 502
    assert post(fake_graph, text_payload()).status_code == 200


def test_faults_apply_after_validation(fake_graph: FakeGraph) -> None:
    fake_graph.fail_next(130429)
    assert post(fake_graph, text_payload(to="")).json()["error"]["code"] == 100
    assert post(fake_graph, text_payload()).json()["error"]["code"] == 130429


def test_no_deduplication(fake_graph: FakeGraph) -> None:
    first = post(fake_graph, text_payload(biz_opaque_callback_data="same")).json()
    second = post(fake_graph, text_payload(biz_opaque_callback_data="same")).json()
    assert first["messages"][0]["id"] != second["messages"][0]["id"]
    assert [m.idempotency_key for m in fake_graph.sent] == ["same", "same"]


def test_start_stop_and_repr() -> None:
    graph = FakeGraph()
    assert "stopped" in repr(graph)
    with pytest.raises(RuntimeError):
        _ = graph.url
    with graph:
        assert graph.base_url.startswith("http://127.0.0.1:") and graph.base_url.endswith("/v21.0")
        graph.register("1", "t")
        assert post(graph, text_payload(), token="t", pnid="1").status_code == 200
        assert len(graph.wait_for(1)) == 1
        with pytest.raises(TimeoutError):
            graph.wait_for(2, timeout=0.05)
    with pytest.raises(RuntimeError):
        _ = graph.url


def test_sent_repr_hides_recipient_and_text(fake_graph: FakeGraph) -> None:
    post(fake_graph, text_payload(text={"body": "secret words"}))
    text = repr(fake_graph.sent)
    assert "secret words" not in text and "34600000001" not in text
