"""Leases (Redis and database) and fairness (Redis and in-process), called directly."""

from __future__ import annotations

import time
from typing import Any

import pytest

from workers.fairness import AtCapacity, FairnessPolicy, LocalFairness, Permit, RedisFairness
from workers.lease import DatabaseLeases, LeaseKeeper, RedisLeases


@pytest.fixture(params=["redis", "database"])
def leases(request: pytest.FixtureRequest) -> Any:
    if request.param == "redis":
        return RedisLeases(request.getfixturevalue("redis_client"), request.getfixturevalue("redis_prefix"))
    return DatabaseLeases(request.getfixturevalue("sqlite_db"))


def test_lease_is_exclusive_fenced_renewable_and_released(leases: Any) -> None:
    first = leases.acquire("conv:1", 0.5)
    assert first is not None and leases.is_held("conv:1")
    assert leases.acquire("conv:1", 0.5) is None
    assert leases.acquire("conv:2", 0.5) is not None  # other keys are independent
    assert leases.renew(first, 0.5)
    knocked = leases.release(first)
    assert knocked  # someone tried while we held it
    assert not leases.is_held("conv:1")
    second = leases.acquire("conv:1", 0.3)
    assert second is not None and second.fence > first.fence
    assert not leases.renew(first, 1)
    time.sleep(0.45)  # expired: a third holder gets a larger fence, the second cannot renew
    third = leases.acquire("conv:1", 5)
    assert third is not None and third.fence > second.fence
    assert not leases.renew(second, 5)
    advanced = leases.advance(third, third.fence + 100)
    assert advanced is not None and advanced.fence > third.fence + 100
    assert leases.advance(second, 10) is None


def test_redis_release_reports_no_knock_when_nobody_came(redis_client: Any, redis_prefix: str) -> None:
    leases = RedisLeases(redis_client, redis_prefix)
    lease = leases.acquire("conv:9", 5)
    assert lease is not None and leases.release(lease) is False


def test_keeper_renews_until_the_deadline_then_lets_go(redis_client: Any, redis_prefix: str) -> None:
    leases = RedisLeases(redis_client, redis_prefix)
    keeper = LeaseKeeper(leases, interval=0.05)
    lease = leases.acquire("conv:k", 0.2)
    assert lease is not None
    lost = keeper.track(lease, 0.2, time.monotonic() + 0.6)
    time.sleep(0.45)
    assert leases.is_held("conv:k") and not lost.is_set()  # renewed past its ttl
    time.sleep(0.6)
    assert lost.is_set() and not leases.is_held("conv:k")  # deadline passed: not renewed
    keeper.close()


@pytest.fixture(params=["redis", "local"])
def fairness_of(request: pytest.FixtureRequest) -> Any:
    def make(policy: FairnessPolicy) -> Any:
        if request.param == "redis":
            client = request.getfixturevalue("redis_client")
            return RedisFairness(client, policy, request.getfixturevalue("redis_prefix"))
        return LocalFairness(policy)

    return make


def test_tenant_concurrency_cap_and_release(fairness_of: Any) -> None:
    fairness = fairness_of(FairnessPolicy(tenant_concurrency=2, tenant_rate=1000, tenant_burst=1000))
    a, b = fairness.try_acquire(1), fairness.try_acquire(1)
    assert isinstance(a, Permit) and isinstance(b, Permit)
    assert isinstance(fairness.try_acquire(1), float)  # capped
    assert isinstance(fairness.try_acquire(2), Permit)  # another tenant is not
    fairness.release(a)
    assert isinstance(fairness.try_acquire(1), Permit)


def test_tenant_rate_bucket_refund_and_cooldown(fairness_of: Any) -> None:
    fairness = fairness_of(FairnessPolicy(tenant_concurrency=100, tenant_rate=2, tenant_burst=2))
    permits = [fairness.try_acquire(1) for _ in range(2)]
    assert all(isinstance(p, Permit) for p in permits)
    wait = fairness.try_acquire(1)
    assert isinstance(wait, float) and 0 < wait <= 0.5
    fairness.release(permits[0], used=False)  # nothing ran: the token comes back
    assert isinstance(fairness.try_acquire(1), Permit)
    fairness.penalize(2, 0.3)
    cool = fairness.try_acquire(2)
    assert isinstance(cool, float) and 0.2 < cool <= 0.3
    assert isinstance(fairness.try_acquire(3), Permit)


def test_send_pacing_per_number_and_recipient(fairness_of: Any) -> None:
    policy = FairnessPolicy(number_rate=80, number_burst=3, recipient_rate=1, recipient_burst=1)
    fairness = fairness_of(policy)
    assert fairness.admit_send(1, 10, "a") == 0
    assert fairness.admit_send(1, 10, "a") > 0.5  # the same customer: paced
    assert fairness.admit_send(1, 10, "b") == 0
    assert fairness.admit_send(1, 10, "c") == 0
    assert 0 < fairness.admit_send(1, 10, "d") < 0.05  # the number's burst is used up
    assert fairness.admit_send(1, 11, "e") == 0  # another number is not


def test_parked_conversations_wake_in_order_once(fairness_of: Any) -> None:
    fairness = fairness_of(FairnessPolicy(tenant_concurrency=1))
    assert not fairness.at_capacity(1)
    permit = fairness.try_acquire(1)
    assert isinstance(permit, Permit) and fairness.at_capacity(1) and not fairness.at_capacity(2)
    assert isinstance(fairness.try_acquire(1), AtCapacity)
    for cid in (30, 10, 30, 20):
        fairness.park(1, cid)
    assert fairness.unpark(2) is None
    assert [fairness.unpark(1) for _ in range(4)] == [30, 10, 20, None]


def test_a_released_slot_is_handed_to_the_longest_parked(fairness_of: Any) -> None:
    fairness = fairness_of(FairnessPolicy(tenant_concurrency=1))
    first = fairness.try_acquire(1)
    assert isinstance(first, Permit)
    for cid in (7, 8):
        fairness.park(1, cid)
    assert fairness.release(first) == 7 and not fairness.at_capacity(1)
    second = fairness.try_acquire(1)
    assert isinstance(second, Permit)
    assert fairness.release(second) == 8
    third = fairness.try_acquire(1)
    assert isinstance(third, Permit) and fairness.release(third) is None


def test_a_dead_workers_slot_frees_itself_a_renewed_one_stays(redis_client: Any, redis_prefix: str) -> None:
    fairness = RedisFairness(redis_client, FairnessPolicy(tenant_concurrency=2, slot_ttl=0.3), redis_prefix)
    alive, dead = fairness.try_acquire(5), fairness.try_acquire(5)
    assert isinstance(alive, Permit) and isinstance(dead, Permit)
    assert isinstance(fairness.try_acquire(5), AtCapacity)
    for _ in range(4):  # the live worker's keeper renews its slot; nobody renews the dead one's
        time.sleep(0.12)
        fairness.renew([alive])
    assert fairness.in_flight(5) == 1
    assert isinstance(fairness.try_acquire(5), Permit)  # the dead worker's slot is free again


def test_lease_and_slot_in_one_trip_refuses_at_the_cap_knocks_and_waits(
    redis_client: Any, redis_prefix: str
) -> None:
    """The drain's start (cap check, lease, first slot) in one script keeps each rule."""
    leases = RedisLeases(redis_client, redis_prefix)
    policy = FairnessPolicy(tenant_concurrency=1, tenant_rate=1000, tenant_burst=1000)
    fairness = RedisFairness(redis_client, policy, redis_prefix)
    begun = fairness.lease_and_slot(leases, 1, "conv:1", 5)
    assert not isinstance(begun, AtCapacity)
    lease, permit = begun
    assert lease is not None and isinstance(permit, Permit) and leases.is_held("conv:1")
    assert fairness.in_flight(1) == 1 and fairness.at_capacity(1)
    assert leases.acquire("conv:1", 5) is None  # the plain acquire sees the same lease
    knock = f"{redis_prefix}knock:conv:1"
    assert redis_client.delete(knock) == 1  # and knocked
    assert isinstance(fairness.lease_and_slot(leases, 1, "conv:1", 5), AtCapacity)
    assert not redis_client.exists(knock)  # refused at the cap before the lease: no knock
    # at the cap nothing is taken: no lease, no knock, no slot
    assert isinstance(fairness.lease_and_slot(leases, 1, "conv:2", 5), AtCapacity)
    assert not leases.is_held("conv:2") and fairness.in_flight(1) == 1
    assert isinstance(fairness.lease_and_slot(leases, 2, "conv:3", 5), tuple)  # another tenant is not capped
    fairness.park(1, 30)
    fairness.park(1, 31)
    assert fairness.release(permit) == 30  # parked conversations still wake in order
    # below the cap with the lease held: no lease, a knock for the holder, no slot taken
    held = fairness.lease_and_slot(leases, 1, "conv:1", 5)
    assert isinstance(held, tuple) and held[0] is None and fairness.in_flight(1) == 0
    assert redis_client.exists(knock) and leases.release(lease) is True  # the holder looks again
    again = fairness.lease_and_slot(leases, 1, "conv:1", 5)
    assert isinstance(again, tuple) and again[0] is not None and again[0].fence > lease.fence
    assert isinstance(again[1], Permit) and fairness.release(again[1]) == 31
    assert leases.release(again[0]) is False  # nobody knocked this time
    # cooling down: the lease is taken, the slot is not (the drain decides with the lease held)
    fairness.penalize(1, 0.3)
    cool = fairness.lease_and_slot(leases, 1, "conv:4", 5)
    assert isinstance(cool, tuple) and cool[0] is not None and leases.is_held("conv:4")
    assert isinstance(cool[1], float) and not isinstance(cool[1], AtCapacity) and 0.2 < cool[1] <= 0.3
    assert fairness.in_flight(1) == 0


def test_lease_and_slot_respects_the_tenant_rate(redis_client: Any, redis_prefix: str) -> None:
    leases = RedisLeases(redis_client, redis_prefix)
    fairness = RedisFairness(
        redis_client, FairnessPolicy(tenant_concurrency=100, tenant_rate=2, tenant_burst=2), redis_prefix
    )
    for n in range(2):
        begun = fairness.lease_and_slot(leases, 1, f"conv:{n}", 5)
        assert isinstance(begun, tuple) and isinstance(begun[1], Permit)
    late = fairness.lease_and_slot(leases, 1, "conv:9", 5)
    assert isinstance(late, tuple) and late[0] is not None
    assert isinstance(late[1], float) and 0 < late[1] <= 0.5
    assert isinstance(fairness.try_acquire(1), float)  # the same bucket as try_acquire's


def test_keeper_renews_a_lease_only_once_a_share_of_its_ttl_passed() -> None:
    from workers.lease import Lease

    class Counting:
        def __init__(self) -> None:
            self.renewals = 0

        def renew(self, lease: Lease, ttl: float) -> bool:
            self.renewals += 1
            return True

    leases = Counting()
    also: list[float] = []
    keeper = LeaseKeeper(leases, interval=60, renew_after=0.5, also=lambda: also.append(1), also_every=0.2)  # type: ignore[arg-type]
    keeper.track(Lease("conv:r", "t", 1), 0.4, time.monotonic() + 10)
    keeper.renew_all()
    assert leases.renewals == 0 and len(also) == 1  # just taken
    time.sleep(0.22)
    keeper.renew_all()
    assert leases.renewals == 1 and len(also) == 2  # half its ttl passed
    keeper.renew_all()
    assert leases.renewals == 1 and len(also) == 2  # renewed a moment ago
    keeper.track(Lease("conv:r", "t", 1), 0.4, time.monotonic() + 10)  # the next turn: same lease
    keeper.renew_all()
    assert leases.renewals == 1
    keeper.close()


def test_keeper_with_renew_after_keeps_a_short_lease(redis_client: Any, redis_prefix: str) -> None:
    leases = RedisLeases(redis_client, redis_prefix)
    keeper = LeaseKeeper(leases, interval=0.025, renew_after=1 / 3)
    lease = leases.acquire("conv:s", 0.3)
    assert lease is not None
    lost = keeper.track(lease, 0.3, time.monotonic() + 5)
    time.sleep(1.0)
    assert leases.is_held("conv:s") and not lost.is_set()
    keeper.close()


def test_slots_are_renewed_once_a_third_of_their_ttl_passed(
    sqlite_db: Any, redis_client: Any, redis_prefix: str
) -> None:
    from tests.workers.conftest import make_ctx

    policy = FairnessPolicy(tenant_concurrency=2, slot_ttl=0.6)
    ctx = make_ctx(sqlite_db, fairness=policy)
    fairness = RedisFairness(redis_client, policy, redis_prefix)
    ctx.fairness = fairness
    renewed: list[list[Permit]] = []
    renew = fairness.renew
    fairness.renew = lambda permits: (renewed.append(list(permits)), renew(permits))[1]  # type: ignore[method-assign]
    permit = fairness.try_acquire(1)
    assert isinstance(permit, Permit)
    ctx.permits.add(permit)
    ctx._renew_slots()  # pyright: ignore[reportPrivateUsage]
    assert renewed == []  # just taken
    time.sleep(0.25)
    ctx._renew_slots()  # pyright: ignore[reportPrivateUsage]
    assert renewed == [[permit]]
    ctx._renew_slots()  # pyright: ignore[reportPrivateUsage]
    assert renewed == [[permit]]  # renewed a moment ago
    for _ in range(4):  # still held past its ttl when renewed this way
        time.sleep(0.21)
        ctx._renew_slots()  # pyright: ignore[reportPrivateUsage]
    assert fairness.in_flight(1) == 1 and len(renewed) >= 3
    ctx.permits.discard(permit)
    time.sleep(0.65)
    assert fairness.in_flight(1) == 0  # not renewed once given up: it expires
    ctx.close()
