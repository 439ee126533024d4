"""Fixtures of the channels tests: the fake Cloud API, a client for it, the conformance corpus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from channels.cloud_api import CloudApiClient
from channels.fake_cloud_api import FakeCloudApi

CORPUS_DIR = Path(__file__).parent / "data" / "whatsapp"  # copy of /work/shared/conformance/whatsapp
PHONE_NUMBER_ID = "1122334455667"
TOKEN = "EAAG-test-token-0123456789"


def corpus_cases() -> list[tuple[str, dict[str, Any]]]:
    """``(file:case, body)`` for every webhook body of the corpus.

    A file is a JSON object of cases; a file that is itself a webhook body (it has ``entry``)
    is a case too (``template_components_update.json`` is both).
    """
    cases: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(CORPUS_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data.get("entry"), list):
            cases.append((f"{path.stem}:<file>", data))
        for name, value in data.items():
            if isinstance(value, dict) and isinstance(value.get("entry"), list):
                cases.append((f"{path.stem}:{name}", value))
    return cases


@pytest.fixture(scope="session")
def fake_cloud_api_server() -> Iterator[FakeCloudApi]:
    with FakeCloudApi() as cloud_api:
        yield cloud_api


@pytest.fixture
def fake_cloud_api(fake_cloud_api_server: FakeCloudApi) -> Iterator[FakeCloudApi]:
    """The running fake with one number registered; reset after each test."""
    fake_cloud_api_server.register(PHONE_NUMBER_ID, TOKEN)
    yield fake_cloud_api_server
    fake_cloud_api_server.reset()


@pytest.fixture
def cloud_api_client(fake_cloud_api: FakeCloudApi) -> Iterator[CloudApiClient]:
    with CloudApiClient(fake_cloud_api.base_url, timeout=5.0) as client:
        yield client
