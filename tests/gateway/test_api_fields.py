"""API errors speak of the request's fields, and the API checks a channel as the CLI does."""

from __future__ import annotations

from tests.gateway.conftest import Gateway

CHANNEL = {
    "phone_number_id": "5550001",
    "verify_token": "verify-me-1",
    "app_secret": "app-secret-1",
    "access_token": "access-token-1",
}


def test_a_missing_provider_key_names_the_field_not_standard_input(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    response = sgw.client.put("/api/provider/primary", json={"provider": "anthropic"}, headers=admin)
    assert response.status_code in (400, 422), response.text
    assert "api_key" in response.text and "standard input" not in response.text
    compatible = sgw.client.put(
        "/api/provider/primary", json={"provider": "openai-compatible"}, headers=admin
    )
    assert "base_url" in compatible.text and "--base-url" not in compatible.text


def test_channel_fields_are_checked_like_the_cli(sgw: Gateway) -> None:
    admin = sgw.a.auth("admin")
    for field, bad in (("waba_id", "not digits"), ("phone_number_id", "12 34"), ("app_secret", "short")):
        response = sgw.client.post("/api/channels", json=CHANNEL | {field: bad}, headers=admin)
        assert response.status_code == 422, (field, response.text)
        assert field in response.text and "--" not in response.text
    sgw.cloud_api.register("5550001", "access-token-1", waba_id="102290129340398")
    created = sgw.client.post("/api/channels", json=CHANNEL | {"waba_id": "102290129340398"}, headers=admin)
    assert created.status_code == 201 and created.json()["waba_id"] == "102290129340398"
