"""The ownership proof's Graph API reads, against the fake (over HTTP and in-process)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from channels.cloud_api import CloudApiClient
from channels.errors import CloudApiReadError
from channels.fake_cloud_api import IN_PROCESS_URL, FakeCloudApi
from channels.ownership import OwnershipNotProven, prove
from store.crypto import Secret

OWNER = "EAAG-owner-0123456789"
OTHER = "EAAG-other-0123456789"


@pytest.fixture
def graph() -> Iterator[tuple[FakeCloudApi, CloudApiClient]]:
    with FakeCloudApi() as fake, CloudApiClient(fake.base_url, timeout=5) as client:
        fake.register(
            "111", OWNER, waba_id="900", display_phone_number="+34 960 000 111", verified_name="Clínica"
        )
        fake.register("222", OTHER, waba_id="901")
        yield fake, client


def test_a_number_and_its_account_as_the_owner_sees_them(graph: tuple[FakeCloudApi, CloudApiClient]) -> None:
    _fake, client = graph
    number = client.phone_number(phone_number_id="111", access_token=Secret(OWNER))
    assert (number.id, number.display_phone_number, number.verified_name) == (
        "111",
        "+34 960 000 111",
        "Clínica",
    )
    assert [n.id for n in client.waba_phone_numbers(waba_id="900", access_token=Secret(OWNER))] == ["111"]
    assert prove(client, phone_number_id="111", waba_id="900", access_token=Secret(OWNER)).id == "111"


def test_what_the_token_does_not_own_is_denied_like_what_does_not_exist(
    graph: tuple[FakeCloudApi, CloudApiClient], caplog: pytest.LogCaptureFixture
) -> None:
    _fake, client = graph
    caplog.set_level(logging.DEBUG)
    for call in (
        lambda: client.phone_number(phone_number_id="222", access_token=Secret(OWNER)),
        lambda: client.phone_number(phone_number_id="333", access_token=Secret(OWNER)),
        lambda: client.waba_phone_numbers(waba_id="901", access_token=Secret(OWNER)),
    ):
        with pytest.raises(CloudApiReadError) as denied:
            call()
        assert denied.value.reason == "denied" and denied.value.code == 100
    with pytest.raises(CloudApiReadError) as unknown:
        client.phone_number(phone_number_id="111", access_token=Secret("EAAG-unknown-token"))
    assert unknown.value.reason == "token_invalid"
    # The number of another account, or an account that does not list the number: not proven.
    for number, waba in (("222", None), ("111", "901"), ("222", "900")):
        with pytest.raises(OwnershipNotProven) as refused:
            prove(client, phone_number_id=number, waba_id=waba, access_token=Secret(OWNER))
        assert refused.value.reason == "not_proven"
    assert OWNER not in caplog.text and OTHER not in caplog.text


def test_meta_being_down_is_not_a_refusal(graph: tuple[FakeCloudApi, CloudApiClient]) -> None:
    fake, client = graph
    for code in (1, 2, 130429):
        fake.fail_next(code)
        with pytest.raises(CloudApiReadError) as down:
            prove(client, phone_number_id="111", waba_id=None, access_token=Secret(OWNER))
        assert down.value.reason == "unavailable"
    with (
        CloudApiClient("http://127.0.0.1:9/v21.0", timeout=1) as nowhere,
        pytest.raises(CloudApiReadError) as gone,
    ):
        nowhere.phone_number(phone_number_id="111", access_token=Secret(OWNER))
    assert gone.value.reason == "unavailable"


def test_an_account_with_many_numbers_is_read_page_by_page() -> None:
    fake = FakeCloudApi()
    numbers = [f"5{n:04d}" for n in range(230)]
    fake.register_waba("902", OWNER, numbers)
    with CloudApiClient(IN_PROCESS_URL, transport=fake.transport()) as client:
        listed = client.waba_phone_numbers(waba_id="902", access_token=Secret(OWNER))
        assert sorted(n.id for n in listed) == sorted(numbers)
        # A number of the account is visible to the account's token.
        assert prove(client, phone_number_id="50229", waba_id="902", access_token=Secret(OWNER)).id == "50229"
    assert fake.requests == 3 + 1 + 3  # three pages of 100; the proof: the number, then three pages


def test_ids_must_be_digits(graph: tuple[FakeCloudApi, CloudApiClient]) -> None:
    _fake, client = graph
    with pytest.raises(ValueError, match="digits"):
        client.phone_number(phone_number_id="../me", access_token=Secret(OWNER))
