"""The fake Cloud API on its own: token checks, payload validation, scripting, standalone use."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from channels.fake_cloud_api import FakeCloudApi, validate_payload

from .conftest import PHONE_NUMBER_ID, TOKEN


def post(
    cloud_api: FakeCloudApi, payload: Any, *, token: str = TOKEN, pnid: str = PHONE_NUMBER_ID
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{cloud_api.base_url}/{pnid}/messages", json=payload, headers=headers, timeout=5)


def text_payload(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "to": "34600000001",
        "type": "text",
        "text": {"body": "hi"},
    }
    payload.update(changes)
    return payload


def test_accepts_a_valid_text(fake_cloud_api: FakeCloudApi) -> None:
    response = post(fake_cloud_api, text_payload())
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
def test_rejects_bad_payloads_with_code_100(fake_cloud_api: FakeCloudApi, payload: Any, field: str) -> None:
    response = post(fake_cloud_api, payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 100
    assert field in error["error_data"]["details"]
    assert fake_cloud_api.sent == []


def test_token_checks(fake_cloud_api: FakeCloudApi) -> None:
    assert post(fake_cloud_api, text_payload(), token="nope").json()["error"]["code"] == 190
    assert post(fake_cloud_api, text_payload(), token="").status_code == 401
    unknown = post(fake_cloud_api, text_payload(), pnid="55555")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 100
    assert fake_cloud_api.sent == []


def test_invalid_json_and_wrong_path(fake_cloud_api: FakeCloudApi) -> None:
    response = httpx.post(
        f"{fake_cloud_api.base_url}/{PHONE_NUMBER_ID}/messages",
        content=b"{not json",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert httpx.get(f"{fake_cloud_api.url}/whatever", timeout=5).status_code == 404


def test_read_receipts_are_not_messages() -> None:
    assert validate_payload({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.x"}) == (
        "read",
        "",
    )


def test_server_error_fault_uses_5xx(fake_cloud_api: FakeCloudApi) -> None:
    fake_cloud_api.fail_next(1)
    fake_cloud_api.fail_next(131000, http_status=502)
    assert post(fake_cloud_api, text_payload()).status_code == 500
    assert post(fake_cloud_api, text_payload()).status_code == 502
    assert post(fake_cloud_api, text_payload()).status_code == 200


def test_faults_apply_after_validation(fake_cloud_api: FakeCloudApi) -> None:
    fake_cloud_api.fail_next(130429)
    assert post(fake_cloud_api, text_payload(to="")).json()["error"]["code"] == 100
    assert post(fake_cloud_api, text_payload()).json()["error"]["code"] == 130429


def test_no_deduplication(fake_cloud_api: FakeCloudApi) -> None:
    first = post(fake_cloud_api, text_payload(biz_opaque_callback_data="same")).json()
    second = post(fake_cloud_api, text_payload(biz_opaque_callback_data="same")).json()
    assert first["messages"][0]["id"] != second["messages"][0]["id"]
    assert [m.idempotency_key for m in fake_cloud_api.sent] == ["same", "same"]


def test_start_stop_and_repr() -> None:
    cloud_api = FakeCloudApi()
    assert "stopped" in repr(cloud_api)
    with pytest.raises(RuntimeError):
        _ = cloud_api.url
    with cloud_api:
        assert cloud_api.base_url.startswith("http://127.0.0.1:") and cloud_api.base_url.endswith("/v21.0")
        cloud_api.register("1", "t")
        assert post(cloud_api, text_payload(), token="t", pnid="1").status_code == 200
        assert len(cloud_api.wait_for(1)) == 1
        with pytest.raises(TimeoutError):
            cloud_api.wait_for(2, timeout=0.05)
    with pytest.raises(RuntimeError):
        _ = cloud_api.url


def test_sent_repr_hides_recipient_and_text(fake_cloud_api: FakeCloudApi) -> None:
    post(fake_cloud_api, text_payload(text={"body": "secret words"}))
    text = repr(fake_cloud_api.sent)
    assert "secret words" not in text and "34600000001" not in text
