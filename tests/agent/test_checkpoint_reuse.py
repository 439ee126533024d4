"""A run's look at its thread and the run's own read are one checkpoint read (PostgreSQL saver)."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.checkpoint.base import CheckpointTuple

from agent.checkpoints import _InRunThread, reuse_next_read  # pyright: ignore[reportPrivateUsage]

LATEST = {"configurable": {"thread_id": "1:5", "checkpoint_ns": ""}}


class _Saver:
    """The pooled saver's reads and writes, counted (no pin: ``_pinned`` hands it through)."""

    serde: Any = None

    def __init__(self, pending: list[Any] | None = None) -> None:
        self.reads = 0
        self.pending = pending or []

    def get_tuple(self, config: Any) -> CheckpointTuple:
        self.reads += 1
        return CheckpointTuple(config, {"id": str(self.reads)}, {}, None, self.pending)  # type: ignore[typeddict-item]

    def put(self, config: Any, *_args: Any) -> Any:
        return config


def _reads(inner: _Saver, steps: list[str]) -> list[str]:
    """Run ``steps`` ("reuse", "read", "named", "put") and return the checkpoint ids read."""
    saver = _InRunThread(inner)
    seen: list[str] = []

    async def run() -> None:
        for step in steps:
            if step == "reuse":
                reuse_next_read(saver)
            elif step == "put":
                await saver.aput(LATEST, {}, {}, {})  # type: ignore[arg-type]
            else:
                config = (
                    LATEST
                    if step == "read"
                    else {"configurable": {**LATEST["configurable"], "checkpoint_id": "x"}}
                )
                seen.append((await saver.aget_tuple(config)).checkpoint["id"])  # type: ignore[arg-type]

    asyncio.run(run())
    return seen


def test_the_read_after_a_look_is_the_looks_and_only_once() -> None:
    inner = _Saver()
    assert _reads(inner, ["reuse", "read", "read", "read"]) == ["1", "1", "2"]
    assert inner.reads == 2


def test_without_reuse_every_read_reads() -> None:
    assert _reads(_Saver(), ["read", "read"]) == ["1", "2"]


def test_a_write_or_another_checkpoint_drops_what_was_kept() -> None:
    assert _reads(_Saver(), ["reuse", "read", "put", "read"]) == ["1", "2"]
    assert _reads(_Saver(), ["reuse", "read", "named", "read"]) == ["1", "2", "3"]


def test_a_checkpoint_with_pending_writes_is_read_again() -> None:
    assert _reads(_Saver(pending=[("task", "__interrupt__", None)]), ["reuse", "read", "read"]) == ["1", "2"]


def test_other_savers_ignore_reuse() -> None:
    reuse_next_read(object())  # the SQLite saver has no such method: it reads twice
