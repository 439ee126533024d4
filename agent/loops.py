"""One long-lived event loop per thread, for running a turn's coroutine from synchronous code.

``asyncio.run`` makes a new loop for every call, and the SDK clients (bound to the loop they
were made in) with it: a worker thread's clients, their connection pools and TLS sessions
were rebuilt for every turn. A thread's own loop lives as long as the thread, so clients
cached for it (:class:`agent.llm.clients.ClientCache`) serve every turn it runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()


def thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop, made on first use."""
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


def run_in_thread_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on this thread's loop (not from inside a running loop)."""
    return thread_loop().run_until_complete(coroutine)
