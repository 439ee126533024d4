"""Fairness between tenants and WhatsApp's sending limits.

Per tenant: a concurrency cap (a semaphore of expiring holders, so a dead worker's slot
frees itself), a token bucket of turn starts, and a cooldown set when the tenant's model
provider answers 429 — which slows that tenant only. Per business number and per recipient:
token buckets for sends.

A conversation that finds its tenant at the cap is *parked* (a per-tenant FIFO of
conversations) rather than re-polled: each released slot wakes the oldest parked
conversation, so a flooding tenant's backlog costs O(cap) wake-ups, not O(backlog) every
half second, and the shared turns queue stays short for the other tenants. Production keeps all of it in Redis (Lua, Redis's own clock); the
embedded default keeps it in the process (one worker process).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from workers.lease import Lease, RedisLeases


@dataclass(frozen=True)
class FairnessPolicy:
    tenant_concurrency: int = 20
    """Turns of one tenant in flight at once, across all workers."""
    tenant_rate: float = 20.0
    """Turn starts per second per tenant (sustained)."""
    tenant_burst: float = 60.0
    slot_ttl: float = 8.0
    """A slot of a dead worker is free again after this; a live worker renews its slots with
    its leases (:class:`HeldPermits`)."""
    number_rate: float = 80.0
    """Sends per second per business number (WhatsApp Cloud API's default throughput)."""
    number_burst: float = 80.0
    recipient_rate: float = 1 / 6
    """Sends per second to one customer (pair rate limit), after a burst of ``recipient_burst``."""
    recipient_burst: float = 10.0
    overrides: dict[int, tuple[int, float]] = field(default_factory=dict[int, tuple[int, float]])
    """Per-tenant (concurrency, rate) for tenants that paid for more."""

    def for_tenant(self, tenant_id: int) -> tuple[int, float]:
        return self.overrides.get(tenant_id, (self.tenant_concurrency, self.tenant_rate))


class AtCapacity(float):
    """``try_acquire``'s wait when the tenant's slots are all taken (park, do not poll)."""


@dataclass(frozen=True)
class Permit:
    tenant_id: int
    token: str


class Fairness(Protocol):
    def try_acquire(self, tenant_id: int) -> Permit | float:
        """A slot for one turn, or how many seconds to wait before asking again."""
        ...

    def release(self, permit: Permit, *, used: bool = True) -> int | None:
        """Free the slot and hand it on: the conversation parked longest for the tenant
        (removed from the parking), or None. ``used=False`` also gives the rate token back
        (nothing ran)."""
        ...

    def at_capacity(self, tenant_id: int) -> bool:
        """All the tenant's slots are taken (a cheap check before leasing; may be stale)."""
        ...

    def park(self, tenant_id: int, conversation_id: int) -> None:
        """The conversation waits for a slot of its tenant (once, however often it is parked)."""
        ...

    def unpark(self, tenant_id: int) -> int | None:
        """The conversation parked longest for ``tenant_id`` (removed), or None."""
        ...

    def penalize(self, tenant_id: int, seconds: float) -> None:
        """The tenant's provider said 429: no new turns for that tenant for ``seconds``."""
        ...

    def cooling_down(self, tenant_id: int) -> bool:
        """Whether the tenant is penalized now (its rescheduled drains will wake it)."""
        ...

    def admit_send(self, tenant_id: int, channel_id: int | None, recipient: str) -> float:
        """0 to send now, else seconds to wait (per-number and per-recipient buckets)."""
        ...

    def renew(self, permits: Sequence[Permit]) -> None:
        """Keep these slots for another ``slot_ttl`` (their turns are still running)."""
        ...


class HeldPermits:
    """The slots this process holds; the lease keeper renews them with the leases."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[Permit, float]] = {}
        """Each slot and when it was taken or last renewed (monotonic)."""

    def add(self, permit: Permit) -> None:
        with self._lock:
            self._held[permit.token] = (permit, time.monotonic())

    def discard(self, permit: Permit) -> None:
        with self._lock:
            self._held.pop(permit.token, None)

    def snapshot(self) -> list[Permit]:
        with self._lock:
            return [permit for permit, _ in self._held.values()]

    def due(self, min_age: float) -> list[Permit]:
        """The slots taken or renewed at least ``min_age`` seconds ago (the others have time)."""
        cutoff = time.monotonic() - min_age
        with self._lock:
            return [permit for permit, at in self._held.values() if at <= cutoff]

    def renewed(self, permits: Sequence[Permit], at: float) -> None:
        """``permits`` were renewed at ``at`` (monotonic; those still held)."""
        with self._lock:
            for permit in permits:
                if permit.token in self._held:
                    self._held[permit.token] = (permit, at)


_BUCKETS = """
-- KEYS: bucket hashes; ARGV: rate, burst per key. Takes one token from each,
-- or none and returns the wait in ms.
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait, state = 0, {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local b = redis.call('hmget', key, 'tokens', 'ts')
  local tokens = tonumber(b[1]) or burst
  local ts = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - ts) / 1000 * rate)
  if tokens < 1 then wait = math.max(wait, math.ceil((1 - tokens) / rate * 1000)) end
  state[i] = {tokens, rate, burst}
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('hset', key, 'tokens', state[i][1] - 1, 'ts', now)
  redis.call('pexpire', key, math.ceil(state[i][3] / state[i][2] * 1000) + 1000)
end
return 0
"""

_NOW = """local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
_TAKE_SLOT = """-- The tenant's token bucket gives the turn start and the semaphore the slot: 1, or the
-- negative ms to wait. KEYS[1] semaphore zset, KEYS[2] bucket hash; ARGV[1] token,
-- ARGV[3] slot ttl ms, ARGV[4] rate, ARGV[5] burst.
local function take_slot()
  local rate, burst = tonumber(ARGV[4]), tonumber(ARGV[5])
  local b = redis.call('hmget', KEYS[2], 'tokens', 'ts')
  local tokens = tonumber(b[1]) or burst
  local ts = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - ts) / 1000 * rate)
  if tokens < 1 then return -math.ceil((1 - tokens) / rate * 1000) end
  redis.call('hset', KEYS[2], 'tokens', tokens - 1, 'ts', now)
  redis.call('pexpire', KEYS[2], math.ceil(burst / rate * 1000) + 1000)
  redis.call('zadd', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('pexpire', KEYS[1], tonumber(ARGV[3]) + 1000)
  return 1
end
"""
_AT_CAP = """redis.call('zremrangebyscore', KEYS[1], '-inf', now)
local at_cap = redis.call('zcard', KEYS[1]) >= tonumber(ARGV[2])
"""

_ACQUIRE = (
    """-- KEYS: semaphore zset, bucket hash, cooldown; ARGV: token, limit, slot ttl ms, rate, burst
"""
    + _NOW
    + _TAKE_SLOT
    + """local cool = redis.call('pttl', KEYS[3])
if cool > 0 then return -cool end
"""
    + _AT_CAP
    + """if at_cap then return 0 end
return take_slot()
"""
)

_LEASE_AND_SLOT = (
    """-- A drain's start in one trip: the cap check, the conversation's lease (RedisLeases' acquire,
-- knock included) and the first turn's slot (as _ACQUIRE), in that order.
-- KEYS: semaphore zset, bucket hash, cooldown, lease, fence counter, knock
-- ARGV: slot token, limit, slot ttl ms, rate, burst, lease token, lease ttl ms
-- Returns {0, 0} at the cap (nothing taken, no knock); {0, 1} the lease is held (knocked);
-- else {fence, slot}, slot as _ACQUIRE answers (1 taken, negative ms to wait; never 0).
"""
    + _NOW
    + _TAKE_SLOT
    + _AT_CAP
    + """if at_cap then return {0, 0} end
if redis.call('exists', KEYS[4]) == 1 then
  redis.call('set', KEYS[6], '1', 'PX', ARGV[7])
  return {0, 1}
end
local fence = redis.call('incr', KEYS[5])
redis.call('set', KEYS[4], ARGV[6], 'PX', ARGV[7])
local cool = redis.call('pttl', KEYS[3])
if cool > 0 then return {fence, -cool} end
return {fence, take_slot()}
"""
)

_RENEW = """
-- KEYS: semaphore zsets; ARGV: slot ttl ms, then the token held in each key
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  redis.call('zadd', key, 'XX', now + tonumber(ARGV[1]), ARGV[i + 1])
  redis.call('pexpire', key, tonumber(ARGV[1]) + 1000)
end
return 0
"""

BUSY_RETRY = 0.5
"""Seconds to wait when the tenant is at its concurrency cap (jittered by the caller)."""
AT_CAPACITY = AtCapacity(BUSY_RETRY)


class RedisFairness:
    def __init__(self, client: Any, policy: FairnessPolicy | None = None, prefix: str = "frontdesk:") -> None:
        self.client = client
        self.policy = policy or FairnessPolicy()
        self.prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._buckets = client.register_script(_BUCKETS)
        self._renew = client.register_script(_RENEW)
        self._lease_and_slot = client.register_script(_LEASE_AND_SLOT)

    def _k(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    def try_acquire(self, tenant_id: int) -> Permit | float:
        limit, rate = self.policy.for_tenant(tenant_id)
        token = secrets.token_hex(8)
        keys = [self._k("sem", tenant_id), self._k("bucket", tenant_id), self._k("cool", tenant_id)]
        args = [token, limit, int(self.policy.slot_ttl * 1000), rate, max(self.policy.tenant_burst, 1)]
        answer = int(self._acquire(keys=keys, args=args))
        if answer == 1:
            return Permit(tenant_id, token)
        return AT_CAPACITY if answer == 0 else -answer / 1000

    def lease_and_slot(
        self, leases: RedisLeases, tenant_id: int, key: str, ttl: float
    ) -> tuple[Lease | None, Permit | float] | AtCapacity:
        """``at_capacity``, then ``leases.acquire(key, ttl)``, then ``try_acquire`` — in one trip.

        At the cap nothing is taken (no lease, no knock): ``AT_CAPACITY``. Otherwise the lease
        (None when held: the holder was knocked) and, with a lease, the first turn's slot or the
        seconds to wait, as :meth:`try_acquire` answers. ``leases`` must use this client.
        """
        limit, rate = self.policy.for_tenant(tenant_id)
        token, lease_token = secrets.token_hex(8), secrets.token_hex(16)
        keys = [
            self._k("sem", tenant_id),
            self._k("bucket", tenant_id),
            self._k("cool", tenant_id),
            *leases.script_keys(key),
        ]
        slot_ms = int(self.policy.slot_ttl * 1000)
        args = [token, limit, slot_ms, rate, max(self.policy.tenant_burst, 1), lease_token, leases.ms(ttl)]
        fence, slot = (int(x) for x in self._lease_and_slot(keys=keys, args=args))
        if fence == 0:
            return AT_CAPACITY if slot == 0 else (None, AT_CAPACITY)
        lease = Lease(key, lease_token, fence)
        return lease, (Permit(tenant_id, token) if slot == 1 else -slot / 1000)

    def release(self, permit: Permit, *, used: bool = True) -> int | None:
        pipe = self.client.pipeline(transaction=False)
        pipe.zrem(self._k("sem", permit.tenant_id), permit.token)
        if not used:
            pipe.hincrbyfloat(self._k("bucket", permit.tenant_id), "tokens", 1)
        pipe.zpopmin(self._k("parked", permit.tenant_id))
        popped: list[tuple[bytes | str, float]] = pipe.execute()[-1]
        return int(popped[0][0]) if popped else None

    def at_capacity(self, tenant_id: int) -> bool:
        return self.in_flight(tenant_id) >= self.policy.for_tenant(tenant_id)[0]

    def park(self, tenant_id: int, conversation_id: int) -> None:
        key = self._k("parked", tenant_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(key, {str(conversation_id): time.time()}, nx=True)
        pipe.expire(key, int(self.policy.slot_ttl) * 10)
        pipe.execute()

    def unpark(self, tenant_id: int) -> int | None:
        popped: list[tuple[bytes | str, float]] = self.client.zpopmin(self._k("parked", tenant_id))
        return int(popped[0][0]) if popped else None

    def penalize(self, tenant_id: int, seconds: float) -> None:
        self.client.set(self._k("cool", tenant_id), "1", px=max(1, int(seconds * 1000)))

    def cooling_down(self, tenant_id: int) -> bool:
        return bool(self.client.exists(self._k("cool", tenant_id)))

    def in_flight(self, tenant_id: int) -> int:
        key = self._k("sem", tenant_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.zremrangebyscore(key, "-inf", int(time.time() * 1000))
        pipe.zcard(key)
        return int(pipe.execute()[1])

    def admit_send(self, tenant_id: int, channel_id: int | None, recipient: str) -> float:
        p = self.policy
        keys = [self._k("send", "number", channel_id or f"t{tenant_id}"), self._k("send", "to", recipient)]
        args = [p.number_rate, p.number_burst, p.recipient_rate, p.recipient_burst]
        return int(self._buckets(keys=keys, args=args)) / 1000

    def renew(self, permits: Sequence[Permit]) -> None:
        if permits:
            keys = [self._k("sem", p.tenant_id) for p in permits]
            self._renew(keys=keys, args=[int(self.policy.slot_ttl * 1000), *(p.token for p in permits)])


class _Bucket:
    __slots__ = ("burst", "rate", "tokens", "ts")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.ts = rate, burst, burst, time.monotonic()

    def wait(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.ts) * self.rate)
        self.ts = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class LocalFairness:
    """The same rules inside one process (embedded default, tests)."""

    def __init__(self, policy: FairnessPolicy | None = None) -> None:
        self.policy = policy or FairnessPolicy()
        self._lock = threading.Lock()
        self._holders: dict[int, set[str]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._cool: dict[int, float] = {}
        self._parked: dict[int, dict[int, None]] = {}

    def _bucket(self, key: str, rate: float, burst: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate, burst)
        return bucket

    def try_acquire(self, tenant_id: int) -> Permit | float:
        limit, rate = self.policy.for_tenant(tenant_id)
        now = time.monotonic()
        with self._lock:
            cool = self._cool.get(tenant_id, 0.0) - now
            if cool > 0:
                return cool
            holders = self._holders.setdefault(tenant_id, set())
            if len(holders) >= limit:
                return AT_CAPACITY
            bucket = self._bucket(f"t{tenant_id}", rate, max(self.policy.tenant_burst, 1))
            wait = bucket.wait(now)
            if wait > 0:
                return wait
            bucket.tokens -= 1
            token = secrets.token_hex(8)
            holders.add(token)
            return Permit(tenant_id, token)

    def release(self, permit: Permit, *, used: bool = True) -> int | None:
        with self._lock:
            self._holders.get(permit.tenant_id, set()).discard(permit.token)
            bucket = self._buckets.get(f"t{permit.tenant_id}")
            if not used and bucket is not None:
                bucket.tokens = min(bucket.burst, bucket.tokens + 1)
        return self.unpark(permit.tenant_id)

    def at_capacity(self, tenant_id: int) -> bool:
        return self.in_flight(tenant_id) >= self.policy.for_tenant(tenant_id)[0]

    def park(self, tenant_id: int, conversation_id: int) -> None:
        with self._lock:
            self._parked.setdefault(tenant_id, {}).setdefault(conversation_id, None)

    def unpark(self, tenant_id: int) -> int | None:
        with self._lock:
            parked = self._parked.get(tenant_id)
            if not parked:
                return None
            conversation_id = next(iter(parked))
            del parked[conversation_id]
            return conversation_id

    def penalize(self, tenant_id: int, seconds: float) -> None:
        with self._lock:
            self._cool[tenant_id] = time.monotonic() + seconds

    def cooling_down(self, tenant_id: int) -> bool:
        with self._lock:
            return self._cool.get(tenant_id, 0.0) > time.monotonic()

    def in_flight(self, tenant_id: int) -> int:
        with self._lock:
            return len(self._holders.get(tenant_id, set()))

    def admit_send(self, tenant_id: int, channel_id: int | None, recipient: str) -> float:
        p = self.policy
        now = time.monotonic()
        with self._lock:
            buckets = [
                self._bucket(f"n{channel_id or tenant_id}", p.number_rate, p.number_burst),
                self._bucket(f"r{recipient}", p.recipient_rate, p.recipient_burst),
            ]
            wait = max(b.wait(now) for b in buckets)
            if wait > 0:
                return wait
            for b in buckets:
                b.tokens -= 1
            return 0.0

    def renew(self, permits: Sequence[Permit]) -> None:
        """Slots in the process never expire: they go with it."""
