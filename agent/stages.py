"""CPU time per stage of a turn (``frontdesk bench turns``); off, and nearly free, by default.

A stage is a block of a turn's work (redaction, search, the model call…). While a
:class:`StageClock` is installed with :func:`clocked`, each :func:`stage` adds the CPU time
its thread spent inside it, its own share only: time in a nested stage counts for the inner
one. Nesting follows the context (tasks copy it), so a stage in a task counts apart from
the stage that started it; stages of tasks running at once on one thread would overlap (a
turn runs one node at a time). Without a clock a stage costs one context-variable read.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class StageClock:
    """CPU seconds (``time.thread_time``) and entries per stage name."""

    seconds: dict[str, float] = field(default_factory=dict[str, float])
    calls: dict[str, int] = field(default_factory=dict[str, int])

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls[name] = self.calls.get(name, 0) + 1

    def total(self) -> float:
        return sum(self.seconds.values())


@dataclass
class _Frame:
    clock: StageClock
    nested: float = 0.0
    """CPU seconds spent in stages nested in this one."""


_frame: ContextVar[_Frame | None] = ContextVar("frontdesk_stage", default=None)


@contextmanager
def clocked(clock: StageClock) -> Generator[StageClock]:
    """Count this context's stages (and its tasks', which copy the context) on ``clock``."""
    token = _frame.set(_Frame(clock))
    try:
        yield clock
    finally:
        _frame.reset(token)


@contextmanager
def stage(name: str) -> Generator[None]:
    """A stage of the running turn, timed when a clock is installed."""
    outer = _frame.get()
    if outer is None:
        yield
        return
    frame = _Frame(outer.clock)
    token = _frame.set(frame)
    started = time.thread_time()
    try:
        yield
    finally:
        spent = time.thread_time() - started
        _frame.reset(token)
        outer.clock.add(name, spent - frame.nested)
        outer.nested += spent
