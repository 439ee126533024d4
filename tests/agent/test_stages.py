"""The stage clock behind ``frontdesk bench turns``: each stage's own CPU, nested or not."""

from __future__ import annotations

import asyncio
import time

from agent.stages import StageClock, clocked, stage


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_nested_stage_counts_for_the_inner_one_only() -> None:
    clock = StageClock()
    with clocked(clock), stage("outer"):
        _burn(0.02)
        with stage("inner"):
            _burn(0.03)
    assert clock.calls == {"outer": 1, "inner": 1}
    assert 0.025 <= clock.seconds["inner"] < 0.045
    assert 0.015 <= clock.seconds["outer"] < 0.03


def test_stages_in_tasks_nest_under_the_stage_that_started_them() -> None:
    clock = StageClock()

    async def node() -> None:
        with stage("node"):
            _burn(0.02)
            await asyncio.sleep(0)

    async def run() -> None:
        with stage("run"):
            for _ in range(2):  # one task at a time, as LangGraph runs this graph's nodes
                await asyncio.create_task(node())

    with clocked(clock):
        asyncio.run(run())
    assert clock.calls["node"] == 2
    assert clock.seconds["run"] >= 0.0
    assert 0.035 <= clock.seconds["node"] < 0.06


def test_without_a_clock_nothing_is_recorded() -> None:
    clock = StageClock()
    with stage("alone"):
        _burn(0.001)
    assert clock.seconds == {}
