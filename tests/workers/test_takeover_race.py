"""The human wins: 1,000 randomized takeovers against in-flight runs and sends.

Each conversation gets a message; a drain runs it with a simulated model latency and sends
the reply inline, while a takeover lands at a random moment. A bot message must never be
sent (its send must never end) after the takeover was acknowledged.
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.workers.conftest import make_conversations, make_ctx
from workers import mailbox
from workers.drain import drain
from workers.lease import LeaseKeeper, RedisLeases
from workers.outbox import SendPolicy, send_item
from workers.takeover import take_over
from workers.testing import RecordingSender, SimulatedRunner

TAKEOVERS = int(os.environ.get("FRONTDESK_RACE_TAKEOVERS", "1000"))


@dataclass
class InlineSends:
    """Retries a send right away, in the drain's thread (the first attempt is inline already)."""

    ctx: Any = None
    outcomes: list[str] = field(default_factory=list[str])

    def drain(self, tenant_id: int, conversation_id: int, countdown: float = 0.0) -> None:
        pass

    def drain_backlog(self) -> float:
        return 0.0

    def send(self, tenant_id: int, outbox_id: int, countdown: float = 0.0) -> None:
        policy = SendPolicy(send_timeout=10)
        outcome = send_item(self.ctx.db, self.ctx.sender, tenant_id, outbox_id, policy=policy)
        self.outcomes.append(outcome.status)


@pytest.mark.slow
@pytest.mark.parametrize(("db_name", "count"), [("sqlite", TAKEOVERS // 5), ("postgres", TAKEOVERS)])
def test_no_bot_message_after_takeover_is_acknowledged(
    db_name: str, count: int, request: pytest.FixtureRequest, make_tenant: Any
) -> None:
    """PostgreSQL (production) gets the full 1,000; SQLite (embedded) a fifth, for time."""
    db = request.getfixturevalue(f"{db_name}_db")
    tenant_id = make_tenant(db, "race")
    runner = SimulatedRunner(0.0, 0.03)
    sender = RecordingSender(0.0, 0.01)
    ctx = make_ctx(db, runner=runner, sender=sender, inline_first_send=True)  # as in production
    if db_name == "postgres":  # production: leases in Redis
        redis_client = request.getfixturevalue("redis_client")
        ctx.leases = RedisLeases(redis_client, request.getfixturevalue("redis_prefix"))
        ctx.keeper = LeaseKeeper(ctx.leases, interval=1.0)
    inline = InlineSends(ctx)
    ctx.enqueue = inline
    conversations = make_conversations(db, tenant_id, count)
    for n, cid in enumerate(conversations):
        mailbox.append_inbound(db, tenant_id, cid, wa_message_id=f"wamid.{n}", text=f"question {n}")
    acknowledged: dict[int, float] = {}

    def run(cid: int) -> None:
        drain(ctx, tenant_id, cid)

    def takeover(cid: int) -> None:
        time.sleep(random.uniform(0.0, 0.05))
        take_over(db, tenant_id, cid, None, wait=15)
        acknowledged[cid] = time.monotonic()

    rng = random.Random(7)
    jobs = [(run, cid) for cid in conversations] + [(takeover, cid) for cid in conversations]
    rng.shuffle(jobs)
    with ThreadPoolExecutor(max_workers=48) as pool:
        for future in [pool.submit(job, cid) for job, cid in jobs]:
            future.result()
    ctx.close()

    assert len(acknowledged) == count
    late = [s for s in sender.sent if s.finished > acknowledged[s.conversation_id]]
    assert late == []
    # the race was real: some replies went out before their takeover, some were stopped
    replied = {s.conversation_id for s in sender.sent}
    assert len(replied) > 20, len(replied)
    assert count - len(replied) > 20
    assert len(sender.sent) == len(replied)  # never twice
    for cid in conversations:
        assert mailbox.state(db, tenant_id, cid).mode == "human"
