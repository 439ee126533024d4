"""CloudApiClient against the fake Cloud API: success, error mapping, token hygiene, splitting."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from channels.cloud_api import CloudApiClient, SendResult, error_from_response, split_for_whatsapp
from channels.errors import (
    InvalidToken,
    OptedOut,
    OutsideWindow,
    PairRateLimited,
    RateLimited,
    TransientSendError,
)
from channels.fake_cloud_api import FakeCloudApi
from errors import PermanentSendError, SendError
from store.crypto import Secret

from .conftest import PHONE_NUMBER_ID, TOKEN

CUSTOMER = "34600000001"


def send(client: CloudApiClient, text: str = "Hola, ¿en qué puedo ayudarte?", **kwargs: object) -> SendResult:
    args: dict[str, object] = {
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": Secret(TOKEN),
        "to": CUSTOMER,
        "text": text,
        "idempotency_key": "outbox-1",
    }
    args.update(kwargs)
    return client.send_text(**args)  # type: ignore[arg-type]


def test_send_text(cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi) -> None:
    result = send(cloud_api_client)
    assert result.wa_message_id.startswith("wamid.")
    assert result.wa_id == CUSTOMER
    (sent,) = fake_cloud_api.sent
    assert sent.wa_message_id == result.wa_message_id
    assert (sent.to, sent.type, sent.text) == (CUSTOMER, "text", "Hola, ¿en qué puedo ayudarte?")
    assert sent.idempotency_key == "outbox-1"
    assert sent.payload["messaging_product"] == "whatsapp"


def test_send_template(cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi) -> None:
    result = cloud_api_client.send_template(
        phone_number_id=PHONE_NUMBER_ID,
        access_token=Secret(TOKEN),
        to=CUSTOMER,
        template_name="follow_up",
        language="es",
        parameters=["Ana", "line\nbreak\tand     spaces"],
        idempotency_key="outbox-2",
    )
    (sent,) = fake_cloud_api.sent
    assert sent.wa_message_id == result.wa_message_id
    assert sent.template_name == "follow_up"
    assert sent.payload["template"]["language"] == {"code": "es"}
    assert sent.template_parameters == ["Ana", "line break and   spaces"]


def test_template_without_parameters_has_no_components(
    cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi
) -> None:
    cloud_api_client.send_template(
        phone_number_id=PHONE_NUMBER_ID,
        access_token=Secret(TOKEN),
        to=CUSTOMER,
        template_name="hello",
        language="en_US",
        parameters=[],
        idempotency_key="k",
    )
    assert "components" not in fake_cloud_api.sent[0].payload["template"]


def test_unknown_template_is_permanent(
    cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi
) -> None:
    fake_cloud_api.register_templates(PHONE_NUMBER_ID, ["known"])
    try:
        with pytest.raises(PermanentSendError) as info:
            cloud_api_client.send_template(
                phone_number_id=PHONE_NUMBER_ID,
                access_token=Secret(TOKEN),
                to=CUSTOMER,
                template_name="unknown",
                language="en",
                parameters=[],
                idempotency_key="k",
            )
        assert info.value.code == 132001 and not info.value.retryable
    finally:
        fake_cloud_api._templates.clear()


def test_mark_read(cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi) -> None:
    cloud_api_client.mark_read(
        phone_number_id=PHONE_NUMBER_ID, access_token=Secret(TOKEN), wa_message_id="wamid.in"
    )
    assert fake_cloud_api.sent == [] and fake_cloud_api.requests == 1


@pytest.mark.parametrize(
    ("code", "error", "retryable", "retry_after"),
    [
        (130429, RateLimited, True, 2.0),
        (131056, PairRateLimited, True, 6.0),
        (131047, OutsideWindow, False, None),
        (131050, OptedOut, False, None),
        (131026, PermanentSendError, False, None),
        (131000, TransientSendError, True, None),
        (1, TransientSendError, True, None),
        (2, TransientSendError, True, None),
    ],
)
def test_error_codes_map(
    cloud_api_client: CloudApiClient,
    fake_cloud_api: FakeCloudApi,
    code: int,
    error: type[SendError],
    retryable: bool,
    retry_after: float | None,
) -> None:
    fake_cloud_api.fail_next(code)
    with pytest.raises(error) as info:
        send(cloud_api_client)
    assert type(info.value) is error
    assert info.value.code == code
    assert info.value.retryable is retryable
    assert info.value.retry_after == retry_after
    assert info.value.trace_id
    assert fake_cloud_api.sent == []
    # The fault was for one request only.
    assert send(cloud_api_client).wa_message_id


def test_pair_rate_limit_is_a_rate_limit(
    cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi
) -> None:
    fake_cloud_api.fail_next(131056)
    with pytest.raises(RateLimited):
        send(cloud_api_client)


def test_http_5xx_and_429_without_meta_code() -> None:
    def answer(status: int, headers: dict[str, str] | None = None) -> SendError:
        return error_from_response(httpx.Response(status, headers=headers, text="<html>oops</html>"))

    assert isinstance(answer(502), TransientSendError) and answer(502).retryable
    limited = answer(429, {"Retry-After": "17"})
    assert isinstance(limited, RateLimited) and limited.retry_after == 17.0
    assert isinstance(answer(401), InvalidToken)
    assert isinstance(answer(400), PermanentSendError)


def test_fault_for_one_recipient_and_type_simulates_a_closed_window(
    cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi
) -> None:
    fake_cloud_api.fail_for(CUSTOMER, 131047, types={"text"})
    with pytest.raises(OutsideWindow):
        send(cloud_api_client)
    with pytest.raises(OutsideWindow):
        send(cloud_api_client)
    assert send(cloud_api_client, to="34600000002").wa_message_id
    cloud_api_client.send_template(
        phone_number_id=PHONE_NUMBER_ID,
        access_token=Secret(TOKEN),
        to=CUSTOMER,
        template_name="follow_up",
        language="es",
        parameters=[],
        idempotency_key="k",
    )
    assert [m.type for m in fake_cloud_api.sent] == ["text", "template"]


def test_fail_next_n_times(cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi) -> None:
    fake_cloud_api.fail_next(130429, times=2)
    for _ in range(2):
        with pytest.raises(RateLimited):
            send(cloud_api_client)
    assert send(cloud_api_client)


def test_bad_token_is_invalid_token_and_never_leaks(
    cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "EAAG-wrong-token-SECRET-abcdef"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InvalidToken) as info:
        send(cloud_api_client, access_token=Secret(wrong))
    assert info.value.status == 401 and info.value.code == 190
    assert not info.value.retryable
    for text in (str(info.value), repr(info.value), repr(cloud_api_client), caplog.text):
        assert wrong not in text and TOKEN not in text
    assert fake_cloud_api.sent == []


def test_token_for_another_number_is_rejected(
    cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi
) -> None:
    fake_cloud_api.register("999000", "other-token")
    with pytest.raises(InvalidToken):
        send(cloud_api_client, access_token=Secret("other-token"))


def test_malformed_token_is_refused_before_sending(
    cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi
) -> None:
    with pytest.raises(InvalidToken) as info:
        send(cloud_api_client, access_token=Secret("token with spaces\nand-SECRET"))
    assert "SECRET" not in str(info.value)
    with pytest.raises(InvalidToken):
        send(cloud_api_client, access_token=Secret(""))
    assert fake_cloud_api.requests == 0


def test_text_limits_are_checked_locally(
    cloud_api_client: CloudApiClient, fake_cloud_api: FakeCloudApi
) -> None:
    with pytest.raises(ValueError):
        send(cloud_api_client, text="x" * 4097)
    with pytest.raises(ValueError):
        send(cloud_api_client, text="   ")
    with pytest.raises(ValueError):
        send(cloud_api_client, phone_number_id="../me")
    assert send(cloud_api_client, text="x" * 4096)
    assert fake_cloud_api.requests == 1


def test_timeout_is_transient(fake_cloud_api: FakeCloudApi) -> None:
    fake_cloud_api.latency = 0.5
    try:
        with (
            CloudApiClient(fake_cloud_api.base_url, timeout=0.1) as client,
            pytest.raises(TransientSendError) as info,
        ):
            send(client)
        assert info.value.retryable and info.value.code is None
        # Like Meta, the fake still accepts the message: a timeout is ambiguous.
        assert len(fake_cloud_api.wait_for(1)) == 1
    finally:
        fake_cloud_api.latency = 0.0


def test_connection_refused_is_transient() -> None:
    with CloudApiClient("http://127.0.0.1:9/v21.0", timeout=1.0) as client, pytest.raises(TransientSendError):
        send(client)


def test_no_message_id_in_answer_is_not_retryable() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, json={"messaging_product": "whatsapp"})
    )
    with (
        CloudApiClient("http://graph.test/v21.0", transport=transport) as client,
        pytest.raises(SendError) as info,
    ):
        send(client)
    assert not info.value.retryable


def test_request_shape_via_mock_transport() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"messages": [{"id": "wamid.m"}]})

    with CloudApiClient("http://graph.test/v19.0/", transport=httpx.MockTransport(handler)) as client:
        assert send(client, reply_to="wamid.in").wa_message_id == "wamid.m"
    (request,) = seen
    assert str(request.url) == f"http://graph.test/v19.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Idempotency-Key"] == "outbox-1"
    assert b'"context":{"message_id":"wamid.in"}' in request.content.replace(b" ", b"")


def test_concurrent_sends_all_recorded(fake_cloud_api: FakeCloudApi) -> None:
    with CloudApiClient(fake_cloud_api.base_url) as client:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=16) as pool:
            ids = list(
                pool.map(
                    lambda i: send(client, text=f"m{i}", idempotency_key=f"k{i}").wa_message_id, range(300)
                )
            )
        elapsed = time.perf_counter() - started
    assert len(set(ids)) == 300
    assert len(fake_cloud_api.sent) == 300
    assert {m.idempotency_key for m in fake_cloud_api.sent} == {f"k{i}" for i in range(300)}
    assert elapsed < 5.0, f"fake Cloud API too slow: {300 / elapsed:.0f} req/s"
    assert threading.active_count() < 200


# --- splitting ------------------------------------------------------------------------------------


def test_short_text_is_one_piece() -> None:
    assert split_for_whatsapp("  hola  ") == ["hola"]
    assert split_for_whatsapp("   ") == []


def test_split_prefers_paragraphs_then_sentences() -> None:
    paragraph = "Frase uno. " * 30
    text = (paragraph.strip() + "\n\n") * 20
    pieces = split_for_whatsapp(text, limit=1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_split_hard_cuts_a_giant_word() -> None:
    pieces = split_for_whatsapp("a" * 10_000)
    assert [len(p) for p in pieces] == [4096, 4096, 1808]


def test_split_counts_emoji_as_two_and_never_breaks_them() -> None:
    text = "😀" * 3000
    pieces = split_for_whatsapp(text)
    assert "".join(pieces) == text
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in pieces)
    assert len(pieces) == 2


def test_send_errors_survive_pickling() -> None:
    import pickle

    error = PairRateLimited("WhatsApp send failed", code=131056, status=400, retry_after=6.0, trace_id="A1")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is PairRateLimited
    assert (again.code, again.status, again.retryable, again.retry_after, again.trace_id) == (
        131056,
        400,
        True,
        6.0,
        "A1",
    )
    assert str(again) == str(error)
