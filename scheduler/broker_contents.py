"""Which Celery task ids the Redis broker holds: waiting in a queue, or delivered and not
yet acknowledged. The sweeper re-publishes a queued job only when its id is in neither.

Redis key layout, as kombu 5.7's Redis transport (``kombu/transport/redis.py``) writes it;
the names are read from kombu's ``Channel`` so that an upgrade that changes them is noticed:

- ``<queue>``: a LIST of waiting messages (``LPUSH`` to publish, ``BRPOP`` to consume). A
  message with a priority goes to a sub-list ``<queue><sep><step>`` (``sep`` is
  ``"\\x06\\x16"``; coopbench sets steps 0..9, kombu's default is ``[0, 3, 6, 9]``; step 0
  is the bare ``<queue>``, served first).
- ``unacked``: a HASH, delivery tag -> JSON ``[message, exchange, routing_key]``, of messages
  handed to a consumer and not yet acknowledged (one hash for every queue of the database;
  ``unacked_index`` is its ZSET of delivery times, used to restore them after the
  visibility timeout).
- Every key is prefixed by ``global_keyprefix`` (empty unless configured).

Each item is kombu's JSON envelope; Celery's protocol 2 puts the task id in ``headers.id``
(and in ``properties.correlation_id``). The lists and the hash are read in one MULTI/EXEC,
so a message moving from the list to the hash between two reads is not missed. One window
remains on the consumer's side: between its ``BRPOP`` and its ``HSET`` into ``unacked`` a
message is in neither; a job re-published then gets a second message, which its claim makes
harmless.
"""

import json
import logging
from dataclasses import dataclass, field

import redis
from kombu.transport.redis import Channel

from workers.celeryconfig import PRIORITY_LEVELS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KombuRedisLayout:
    """kombu's key names; ``from_options`` applies Celery's ``broker_transport_options``."""

    sep: str = Channel.sep
    priority_steps: tuple[int, ...] = tuple(range(PRIORITY_LEVELS))  # as celeryconfig sets them
    unacked_key: str = Channel.unacked_key
    global_keyprefix: str = Channel.global_keyprefix

    @classmethod
    def from_options(cls, options: dict | None) -> "KombuRedisLayout":
        options = options or {}
        defaults = cls()
        return cls(
            sep=options.get("sep", defaults.sep),
            priority_steps=tuple(options.get("priority_steps", defaults.priority_steps)),
            unacked_key=options.get("unacked_key", defaults.unacked_key),
            global_keyprefix=options.get("global_keyprefix", defaults.global_keyprefix),
        )

    def queue_lists(self, queue: str) -> list[str]:
        """The queue's list and its priority sub-lists (kombu's ``_q_for_pri``)."""
        names = [queue if step == 0 else f"{queue}{self.sep}{step}" for step in self.priority_steps]
        return [self.global_keyprefix + name for name in dict.fromkeys(names)]

    @property
    def unacked(self) -> str:
        return self.global_keyprefix + self.unacked_key


@dataclass
class BrokerContents:
    waiting: set[str] = field(default_factory=set)  # task ids in the queue's lists
    unacked: set[str] = field(default_factory=set)  # task ids delivered, not acknowledged

    def holds(self, task_id: str) -> bool:
        return task_id in self.waiting or task_id in self.unacked


def read_broker(client: redis.Redis, queue: str,
                layout: KombuRedisLayout | None = None) -> BrokerContents:
    """The task ids waiting in ``queue`` and those unacknowledged (any queue), read at once."""
    layout = layout or KombuRedisLayout()
    lists = layout.queue_lists(queue)
    with client.pipeline(transaction=True) as pipe:
        for name in lists:
            pipe.lrange(name, 0, -1)
        pipe.hvals(layout.unacked)
        *waiting_lists, unacked_values = pipe.execute()
    contents = BrokerContents()
    for items in waiting_lists:
        contents.waiting.update(filter(None, map(_task_id, items)))
    for value in unacked_values:
        try:
            message = json.loads(value)[0]
        except (ValueError, IndexError, TypeError):
            log.warning("unreadable entry in %s: %.200r", layout.unacked, value)
            continue
        contents.unacked.update(filter(None, [_task_id(message)]))
    return contents


def _task_id(message: bytes | str | dict) -> str | None:
    if not isinstance(message, dict):
        try:
            message = json.loads(message)
        except ValueError:
            log.warning("unreadable message in the broker: %.200r", message)
            return None
    headers = message.get("headers") or {}
    properties = message.get("properties") or {}
    return headers.get("id") or properties.get("correlation_id")
