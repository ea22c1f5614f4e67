"""The Redis namespace of upstream's messaging: one per attempt, deleted with the earlier
attempts' leftovers, never a later attempt's."""

import uuid

from coopbench.bus.upstream_namespace import delete_namespace, messaging_url


def test_an_attempt_deletes_its_keys_and_earlier_attempts_never_a_later_ones(redis_client):
    job, other = uuid.uuid4().hex, uuid.uuid4().hex
    assert messaging_url("redis://h:6379", job, 2) == f"redis://h:6379#run:{job}.2"
    keys = {f"run:{job}.1:inbox:agent1",  # a dead worker's attempt 1
            f"run:{job}.2:inbox:agent2", f"cb:{job}.2:tasks",  # attempt 2, finishing
            f"run:{job}.3:inbox:agent1",  # attempt 3, which took attempt 2 over
            f"run:{other}.1:inbox:agent1"}
    for key in keys:
        redis_client.set(key, "x")
    try:
        assert delete_namespace(redis_client, job, 2) == 3
        left = {k.decode() for k in redis_client.keys(f"*{job}*")} | {
            k.decode() for k in redis_client.keys(f"*{other}*")}
        assert left == {f"run:{job}.3:inbox:agent1", f"run:{other}.1:inbox:agent1"}
    finally:
        redis_client.delete(*keys)
