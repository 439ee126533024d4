"""Fixtures for the model-provider tests: one simulator per session, reset for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.llm.clients import ClientCache
from agent.llm.simulator import Simulator
from agent.llm.testing import running_simulator


@pytest.fixture(scope="session")
def _simulator_session() -> Iterator[Simulator]:
    with running_simulator() as sim:
        yield sim


@pytest.fixture
def simulator(_simulator_session: Simulator) -> Iterator[Simulator]:
    """The running wire simulator, with no rules, faults or records."""
    _simulator_session.reset()
    _simulator_session.timeout_s = 30.0
    yield _simulator_session
    _simulator_session.reset()


@pytest.fixture
def clients() -> ClientCache:
    """A fresh SDK client cache for the test."""
    return ClientCache(maxsize=16)
