"""The Redis namespace of upstream's messaging for one attempt.

Upstream's connectors (``connectors/messaging.py``) take ``<redis url>#<prefix>`` and keep
every key under ``<prefix>:``; upstream's runner uses ``run:<run id>`` (and its team task
list ``cb:<run id>:``). coopbench gives each
attempt its own, ``run:<job id>.<attempt>``, so a retry never sees an earlier attempt's
messages, and deletes it when the attempt's agents are done (upstream's keys have no TTL),
with what earlier attempts of the job left.
"""

import redis


def namespace(job_id: str, attempt: int) -> str:
    return f"{job_id}.{attempt}"


def messaging_url(bus_url: str, job_id: str, attempt: int) -> str:
    return f"{bus_url}#run:{namespace(job_id, attempt)}"


def delete_namespace(client: redis.Redis, job_id: str, attempt: int) -> int:
    """Delete every key of the attempt and of the job's earlier attempts (a dead worker's
    attempt leaves its keys behind): their messaging's (``run:<ns>:``) and their team task
    list's (``cb:<ns>:``, upstream's ``TaskListClient``); how many there were. A later
    attempt's keys are never touched: that attempt may be live, having taken this one over."""
    keys = [key for prefix in ("run", "cb")
            for key in client.scan_iter(match=f"{prefix}:{job_id}.*", count=500)
            if _attempt_of(key, prefix, job_id) in range(1, attempt + 1)]
    return client.unlink(*keys) if keys else 0  # freed in the background


def _attempt_of(key: bytes | str, prefix: str, job_id: str) -> int | None:
    name = key.decode() if isinstance(key, bytes) else key
    number = name[len(f"{prefix}:{job_id}."):].split(":", 1)[0]
    return int(number) if number.isdigit() else None
