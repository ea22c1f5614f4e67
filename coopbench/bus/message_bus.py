"""The message bus of one coop job: the agents' ``MessageChannel``s over Redis.

Every message gets a global sequence number (INCR) in the same Lua script that checks
whether its recipient has finished and queues it, so the order is total even under
concurrent sends and a send can never slip past a concurrent ``finish()``. Each agent has
one inbox list per sender, holding sequence numbers: ``receive()`` drains them all and
merges by sequence, and ``send(..., wait_s)`` blocks (BLPOP) on the list from that one
recipient only, so messages from third parties stay queued, in order, for ``receive()``.
``finish()`` also pushes a token that wakes a partner waiting on this agent.

Timestamps are naive UTC from the Redis server's clock (``TIME``), read inside the same Lua
scripts that queue (``sent_at``) and take (``delivered_at``) a message: one clock for every
worker, and scripts run one at a time, so a delivery never precedes its send, whatever the
workers' clocks say. The sequence still decides the order.

Key layout, all under ``coopbench:bus:<run>:<job_id>:<attempt>:`` (a retry is a new
attempt, so it never sees an earlier attempt's messages), each key expiring ``ttl_s``
after its last write::

    seq                STRING  INCR counter: the send order
    messages           HASH    seq -> {"from", "to", "content", "sent_at": [s, us]}
    delivery           HASH    seq -> {"delivered": bool, "delivered_at": [s, us]|null}, none: pending
    finished           SET     agent ids that called finish()
    inbox:<to>:<from>  LIST    seqs waiting for <to> from <from>, oldest first
    gone:<to>:<from>   LIST    a token pushed when <from> finishes, ends <to>'s wait on it
"""

import functools
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import redis

from coopbench.errors import BusUnavailable
from coopbench.protocols import Message, SendReceipt

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 2 * 4 * 3600  # twice the longest job: the keys outlive any job that uses them
MIN_BLOCK_S = 0.01  # Redis reads a BLPOP timeout under 1 ms as 0, which blocks forever

# The Redis clock, [seconds, microseconds], read in the script: every worker stamps with the
# same clock (``_stamp`` turns it into naive UTC).
_CLOCK = """
pcall(redis.replicate_commands)  -- TIME, then writes: Redis 3.2-4 need it, later a no-op
local function now()
  local t = redis.call('TIME')
  return '[' .. t[1] .. ', ' .. t[2] .. ']'
end
local UNDELIVERED = '{"delivered": false, "delivered_at": null}'
"""

# KEYS: seq, messages, delivery, finished, inbox. ARGV: message, recipient, ttl_s.
# The message is a JSON object without "sent_at", which is added here from the Redis clock.
_SEND = _CLOCK + """
local message = string.sub(ARGV[1], 1, -2) .. ', "sent_at": ' .. now() .. '}'
local seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], seq, message)
local delivered = 1
if redis.call('SISMEMBER', KEYS[4], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[3], seq, UNDELIVERED)
  delivered = 0
else
  redis.call('RPUSH', KEYS[5], seq)
end
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ARGV[3]) end
return delivered
"""

# Take every seq in the inbox lists (plus any BLPOP already popped), oldest first, and set
# their delivery state: delivered now (Redis clock) if ARGV[1] is "1", else never. Returns the
# state, then the messages. KEYS: messages, delivery, inbox lists. ARGV: delivered, ttl_s, popped.
_TAKE = _CLOCK + """
local state = UNDELIVERED
if ARGV[1] == '1' then state = '{"delivered": true, "delivered_at": ' .. now() .. '}' end
local seqs = {}
for i = 3, #ARGV do seqs[#seqs + 1] = tonumber(ARGV[i]) end
for i = 3, #KEYS do
  for _, seq in ipairs(redis.call('LRANGE', KEYS[i], 0, -1)) do seqs[#seqs + 1] = tonumber(seq) end
  redis.call('DEL', KEYS[i])
end
table.sort(seqs)
local out = {state}
for _, seq in ipairs(seqs) do
  redis.call('HSET', KEYS[2], seq, state)
  out[#out + 1] = redis.call('HGET', KEYS[1], seq)
end
if #seqs > 0 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return out
"""


def _bus_errors(method):
    """Redis failing is an infrastructure error of the job (retried), not the agent's."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except redis.RedisError as error:
            raise BusUnavailable(f"message bus: {error.__class__.__name__}: {error}") from error
    return wrapper


class MessageBus:
    def __init__(self, client: redis.Redis | str, run: str, job_id: str, attempt: int,
                 agent_ids: tuple[str, ...] | list[str], ttl_s: int = DEFAULT_TTL_S):
        self._owns_client = isinstance(client, str)
        self.redis = redis.Redis.from_url(client) if isinstance(client, str) else client
        self.prefix = f"coopbench:bus:{run}:{job_id}:{attempt}:"
        self.agent_ids = tuple(agent_ids)
        self.ttl_s = int(ttl_s)  # EXPIRE takes whole seconds
        self._send_script = self.redis.register_script(_SEND)
        self._take_script = self.redis.register_script(_TAKE)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def channel(self, agent_id: str) -> "RedisChannel":
        self._check_agent(agent_id)
        return RedisChannel(self, agent_id)

    @_bus_errors
    def record(self) -> list[Message]:
        """Every message of the job, delivered, pending and undelivered, in send order."""
        messages = self.redis.hgetall(self.key("messages"))
        delivery = self.redis.hgetall(self.key("delivery"))
        return [_message(messages[seq], delivery.get(seq)) for seq in sorted(messages, key=int)]

    def conversation_json(self, feature_of: dict[str, int]) -> list[dict]:
        """Upstream's conversation.json (reference 3.6), with real timestamps.

        ``feature_of`` maps an agent id to its feature; ``feature_id`` is the sender's.
        """
        return [{"from": m.sender, "to": m.recipient, "message": m.content,
                 "timestamp": m.sent_at.isoformat(), "feature_id": feature_of[m.sender],
                 "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
                 "delivered": m.delivered}
                for m in self.record()]

    @_bus_errors
    def delete(self) -> None:
        """Remove every key of the job. The layout is known, so no SCAN of the broker."""
        keys = [self.key(name) for name in ("seq", "messages", "delivery", "finished")]
        keys += [self.key(kind, to, sender) for kind in ("inbox", "gone")
                 for to in self.agent_ids for sender in self.agent_ids if to != sender]
        self.redis.unlink(*keys)  # UNLINK: freed in the background, Redis answers at once

    def close(self) -> None:
        if self._owns_client:
            self.redis.close()

    def __enter__(self) -> "MessageBus":
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.delete()
        finally:
            self.close()

    def _check_agent(self, agent_id: str) -> None:
        if agent_id not in self.agent_ids:
            raise ValueError(f"unknown agent {agent_id!r}: this job's agents are "
                             f"{', '.join(self.agent_ids)}")


class RedisChannel:
    """One agent's end of a ``MessageBus``; implements ``MessageChannel``."""

    def __init__(self, bus: MessageBus, agent_id: str):
        self.bus = bus
        self.agent_id = agent_id
        self.peers = tuple(a for a in bus.agent_ids if a != agent_id)

    @_bus_errors
    def send(self, recipient: str, content: str, wait_s: float = 0.0) -> SendReceipt:
        if recipient == self.agent_id:
            raise ValueError(f"{recipient!r} is yourself; send to one of {', '.join(self.peers)}")
        bus = self.bus
        bus._check_agent(recipient)
        # no "sent_at": the script stamps it from the Redis clock, as it queues the message
        message = json.dumps({"from": self.agent_id, "to": recipient, "content": content})
        keys = [bus.key("seq"), bus.key("messages"), bus.key("delivery"), bus.key("finished"),
                bus.key("inbox", recipient, self.agent_id)]
        delivered = bool(bus._send_script(keys, [message, recipient, bus.ttl_s]))
        if not delivered:
            log.info("%s -> %s not delivered: %s has finished", self.agent_id, recipient, recipient)
        reply = self._wait_for(recipient, wait_s) if delivered and wait_s > 0 else []
        return SendReceipt(recipient=recipient, delivered=delivered, reply=reply)

    @_bus_errors
    def receive(self) -> list[Message]:
        return self._take_inbox(self.peers, delivered=True)

    @_bus_errors
    def finish(self) -> None:
        """Later sends to this agent see it finished; what is still queued is never read."""
        bus = self.bus
        if bus.redis.sadd(bus.key("finished"), self.agent_id):
            pipe = bus.redis.pipeline()
            pipe.expire(bus.key("finished"), bus.ttl_s)
            for peer in self.peers:
                pipe.rpush(bus.key("gone", peer, self.agent_id), 1)
                pipe.expire(bus.key("gone", peer, self.agent_id), bus.ttl_s)
            pipe.execute()
        # After the SADD, so a send either queued before it (taken here) or sees it finished.
        self._take_inbox(self.peers, delivered=False)

    def _wait_for(self, sender: str, wait_s: float) -> list[Message]:
        """Block until ``sender`` writes to us, finishes, or ``wait_s`` is up."""
        bus = self.bus
        inbox = bus.key("inbox", self.agent_id, sender)
        gone = bus.key("gone", self.agent_id, sender)
        deadline = time.monotonic() + wait_s
        while (left_s := deadline - time.monotonic()) > 0:
            # BLPOP serves its keys in order: a reply sent just before finishing still wins.
            popped = bus.redis.blpop([inbox, gone], timeout=max(left_s, MIN_BLOCK_S))
            if popped is None:
                continue  # loop: never return before wait_s, even if Redis rounds down
            key, seq = popped
            if _text(key) == gone:
                return []
            return self._take_inbox((sender,), delivered=True, popped=(seq,))
        return []

    def _take_inbox(self, senders: tuple[str, ...], delivered: bool,
                    popped: tuple[bytes | str, ...] = ()) -> list[Message]:
        """Mark what is queued delivered now, or never (this agent finished), and return it."""
        bus = self.bus
        keys = [bus.key("messages"), bus.key("delivery")]
        keys += [bus.key("inbox", self.agent_id, sender) for sender in senders]
        state, *taken = bus._take_script(keys, [int(delivered), bus.ttl_s, *popped])
        return [_message(raw, state) for raw in taken]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _message(raw: bytes | str, state: bytes | str | None) -> Message:
    data = json.loads(raw)
    delivery = json.loads(state) if state is not None else {}
    delivered_at = delivery.get("delivered_at")
    return Message(sender=data["from"], recipient=data["to"], content=data["content"],
                   sent_at=_stamp(data["sent_at"]),
                   delivered_at=_stamp(delivered_at) if delivered_at else None,
                   delivered=delivery.get("delivered"))


def _stamp(redis_time: list[int]) -> datetime:
    """Redis ``TIME`` ([seconds, microseconds]) as naive UTC, like every stored time."""
    seconds, microseconds = redis_time
    return (datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=microseconds)).replace(
        tzinfo=None)
