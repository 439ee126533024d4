"""Fixtures of the channels tests: the fake Graph API, a client for it, the conformance corpus."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from channels.fake_graph import FakeGraph
from channels.graph import GraphClient

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
def fake_graph_server() -> Iterator[FakeGraph]:
    with FakeGraph() as graph:
        yield graph


@pytest.fixture
def fake_graph(fake_graph_server: FakeGraph) -> Iterator[FakeGraph]:
    """The running fake with one number registered; reset after each test."""
    fake_graph_server.register(PHONE_NUMBER_ID, TOKEN)
    yield fake_graph_server
    fake_graph_server.reset()


@pytest.fixture
def graph_client(fake_graph: FakeGraph) -> Iterator[GraphClient]:
    with GraphClient(fake_graph.base_url, timeout=5.0) as client:
        yield client
