"""What the Redis broker holds for a queue: its messages in the order a worker takes them
(priority band 0 first, oldest first within a band), read from every band's list."""

import json

from scheduler.broker_contents import KombuRedisLayout


def queued_messages(redis_client, queue: str) -> list[dict]:
    """The queue's waiting messages (kombu envelopes), in the order they will be served."""
    messages = []
    for name in KombuRedisLayout().queue_lists(queue):  # band 0 first
        messages += [json.loads(raw) for raw in reversed(redis_client.lrange(name, 0, -1))]
    return messages


def queued_ids(redis_client, queue: str) -> list[str]:
    """The task ids (job ids) of the waiting messages, in serving order."""
    return [message["headers"]["id"] for message in queued_messages(redis_client, queue)]


def queue_length(redis_client, queue: str) -> int:
    return sum(redis_client.llen(name) for name in KombuRedisLayout().queue_lists(queue))


def clear_queue(redis_client, queue: str) -> None:
    """Drop every waiting message of the queue, in every band (as a Redis restarted empty)."""
    redis_client.delete(*KombuRedisLayout().queue_lists(queue))
