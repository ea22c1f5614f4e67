"""The Redis namespace of upstream's messaging for one attempt.

Upstream's connectors (``connectors/messaging.py``) take ``<redis url>#<prefix>`` and keep
every key under ``<prefix>:``; upstream's runner uses ``run:<run id>`` (and its team task
list ``cb:<run id>:``). coopbench gives each
attempt its own, ``run:<job id>.<attempt>``, so a retry never sees an earlier attempt's
messages, and deletes it when the attempt's agents are done (upstream's keys have no TTL).
"""

import redis


def namespace(job_id: str, attempt: int) -> str:
    return f"{job_id}.{attempt}"


def messaging_url(bus_url: str, job_id: str, attempt: int) -> str:
    return f"{bus_url}#run:{namespace(job_id, attempt)}"


def delete_namespace(client: redis.Redis, job_id: str, attempt: int) -> int:
    """Delete every key of the attempt: its messaging's (``run:<ns>:``) and its team task
    list's (``cb:<ns>:``, upstream's ``TaskListClient``); how many there were."""
    name = namespace(job_id, attempt)
    keys = [key for prefix in ("run", "cb")
            for key in client.scan_iter(match=f"{prefix}:{name}:*", count=500)]
    return client.unlink(*keys) if keys else 0  # freed in the background
