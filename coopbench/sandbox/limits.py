"""Per-host limits on task containers: memory and CPUs each, and how many at once.

The count is per Docker engine, over every worker process (and worker container) that uses
it, so it is kept in Redis under the engine's id: a sorted set of the containers holding a
slot, each with an expiry, so that a worker killed while holding slots does not leak them
for longer than a job may last. Expiries are on the Redis server's clock, the one clock
every host sharing the engine agrees on.
"""

import time
from dataclasses import dataclass, field

import redis

from coopbench.errors import SandboxError

SLOT_POLL_S = 1.0

# KEYS: the slot set. ARGV: holder, hold seconds, max. Drop expired holders, then take a slot
# if one is free (or already held). Returns 1 if the holder has a slot. The time is the
# server's (TIME; Redis 5+ replicates a script's effects, so reading it is allowed).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  return 1
end
return 0
"""


class ContainerSlots:
    """At most ``limit`` containers at once on one engine. A holder keeps its slot at most
    ``hold_s``; a waiter waits at most ``wait_s`` (default ``hold_s``)."""

    def __init__(self, client: redis.Redis, engine_id: str, limit: int, hold_s: float,
                 wait_s: float | None = None):
        self.client, self.limit, self.hold_s = client, limit, hold_s
        self.wait_s = hold_s if wait_s is None else wait_s
        self.engine_id = engine_id
        self.key = f"coopbench:slots:{engine_id}"
        self._acquire = client.register_script(_ACQUIRE)

    def acquire(self, holder: str) -> None:
        """Wait for a slot, at most ``wait_s``. A deadline even though the job has a time
        limit: that limit stops the job's main thread, not an agent's thread waiting here,
        which would otherwise start a container for a job long gone."""
        deadline = time.monotonic() + self.wait_s
        while not self._acquire(keys=[self.key], args=[holder, self.hold_s, self.limit]):
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxError(
                    f"no container slot of Docker engine {self.engine_id} came free in "
                    f"{self.wait_s:.0f} s: other jobs hold all {self.limit} (setting max_containers). "
                    "Raise max_containers if the host has room, or run fewer jobs at once "
                    "on this engine (fewer workers, lower concurrency)")
            time.sleep(min(SLOT_POLL_S, left))

    def release(self, holder: str) -> None:
        self.client.zrem(self.key, holder)

    def held(self) -> int:
        seconds, microseconds = self.client.time()  # the server's clock, as in _ACQUIRE
        self.client.zremrangebyscore(self.key, "-inf", seconds + microseconds / 1e6)
        return self.client.zcard(self.key)


@dataclass(frozen=True)
class SandboxLimits:
    memory: str | None = None  # Docker syntax, e.g. "4g"
    cpus: float | None = None
    slots: ContainerSlots | None = field(default=None, compare=False)

    def create_kwargs(self) -> dict:
        kwargs: dict = {}
        if self.memory:
            kwargs["mem_limit"] = self.memory
        if self.cpus:
            kwargs["nano_cpus"] = int(self.cpus * 1e9)
        return kwargs


NO_LIMITS = SandboxLimits()
