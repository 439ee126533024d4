"""Fairness with real workers: tenant A floods 500 messages, tenant B's one message is still
answered within its normal latency.

One worker process (threads pool), the simulated model at 0.3 s, and a per-tenant cap of 4
turns in flight (``FRONTDESK_WORKER_TENANT_CONCURRENCY``). A's 500 conversations need about
40 s at its cap; B's turn must not wait behind them.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from tests.workers.conftest import make_conversations
from tests.workers.test_real_workers import new_tenant
from workers import mailbox

FLOOD = 500
LATENCY = 0.3
CAP = 4


def _sent_at(cluster: Any, conversation_id: int) -> float | None:
    for record in cluster.records("sent"):
        if record["conversation_id"] == conversation_id:
            return float(record["at"])
    return None


def _ask(cluster: Any, tenant: int, conversation_id: int, tag: str) -> float:
    """Append a message and wake the drain, as the webhook does; the wall-clock start."""
    began = time.time()
    mailbox.append_inbound(cluster.db, tenant, conversation_id, wa_message_id=f"wamid.{tag}", text="hi")
    cluster.ctx.enqueue.drain(tenant, conversation_id)
    return began


def _latency(cluster: Any, tenant: int, conversation_id: int, tag: str, timeout: float = 15) -> float:
    began = _ask(cluster, tenant, conversation_id, tag)
    assert cluster.wait_for(lambda: _sent_at(cluster, conversation_id) is not None, timeout, step=0.02)
    sent = _sent_at(cluster, conversation_id)
    assert sent is not None
    return sent - began


def test_flood_of_one_tenant_does_not_delay_another(cluster: Any) -> None:
    cluster.start(
        FRONTDESK_TEST_LATENCY=f"{LATENCY},{LATENCY}",
        FRONTDESK_WORKER_TENANT_CONCURRENCY=str(CAP),
    )
    a, b = new_tenant(cluster, "flood"), new_tenant(cluster, "quiet")
    flood = make_conversations(cluster.db, a, FLOOD)
    quiet = make_conversations(cluster.db, b, 6)
    cluster.worker("w", concurrency=20)

    # B's normal latency, alone (the first one also warms the worker's connections up)
    normal = [_latency(cluster, b, cid, f"b{n}") for n, cid in enumerate(quiet[:3])]
    baseline = statistics.median(normal)

    # A floods: 500 messages, each in its own conversation, woken like the webhook does
    for n, cid in enumerate(flood):
        mailbox.append_inbound(cluster.db, a, cid, wa_message_id=f"wamid.a{n}", text="hi")
    for cid in flood:
        cluster.ctx.enqueue.drain(a, cid)
    # A's 500 wake-ups are absorbed (each one a cheap cap check that parks the conversation);
    # from then on A's backlog is in flight: its 4 slots busy, the rest parked, ~40 s of work left
    turns_queue = cluster.prefix + "broker:turns"
    assert cluster.wait_for(lambda: cluster.redis.llen(turns_queue) <= 5, 60, step=0.05)
    time.sleep(0.5)

    flooded = [_latency(cluster, b, cid, f"bf{n}", timeout=20) for n, cid in enumerate(quiet[3:])]
    flood_ids = set(flood)
    a_sent = sum(1 for r in cluster.records("sent") if r["conversation_id"] in flood_ids)
    print(
        f"\nB alone {[round(x, 3) for x in normal]} (median {baseline:.3f}s); "
        f"B during A's flood {[round(x, 3) for x in flooded]}; A sent {a_sent}/{FLOOD} by then"
    )
    assert 0 < a_sent < FLOOD // 2, a_sent  # A is served, and its backlog is far from done
    bound = max(3 * baseline, baseline + 2.0)
    assert statistics.median(flooded) < bound, (flooded, normal)
    assert max(flooded) < baseline + 4.0, (flooded, normal)
