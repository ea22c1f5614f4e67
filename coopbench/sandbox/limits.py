"""Per-host limits on task containers: memory and CPUs each, and how many at once.

The count is per Docker engine, over every worker process (and worker container) that uses
it, so it is kept in Redis under the engine's id: a sorted set of the containers holding a
slot, each with an expiry, so that a worker killed while holding slots does not leak them
for longer than a job may last.
"""

import time
from dataclasses import dataclass, field

import redis

SLOT_POLL_S = 1.0

# KEYS: the slot set. ARGV: now, holder, expiry time, max. Drop expired holders, then take
# a slot if one is free (or already held). Returns 1 if the holder has a slot.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 1 end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
  return 1
end
return 0
"""


class ContainerSlots:
    """At most ``limit`` containers at once on one engine."""

    def __init__(self, client: redis.Redis, engine_id: str, limit: int, hold_s: float):
        self.client, self.limit, self.hold_s = client, limit, hold_s
        self.key = f"coopbench:slots:{engine_id}"
        self._acquire = client.register_script(_ACQUIRE)

    def acquire(self, holder: str) -> None:
        """Wait for a slot (there is no deadline: the job's own time limit is one)."""
        while not self._acquire(keys=[self.key],
                                args=[time.time(), holder, time.time() + self.hold_s, self.limit]):
            time.sleep(SLOT_POLL_S)

    def release(self, holder: str) -> None:
        self.client.zrem(self.key, holder)

    def held(self) -> int:
        self.client.zremrangebyscore(self.key, "-inf", time.time())
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
