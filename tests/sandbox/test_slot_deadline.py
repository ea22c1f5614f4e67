"""Container slots wait with a deadline, and count time on the Redis server's clock, on the
real Redis: a job never waits for ever for a slot, and a host whose clock is off neither
steals another's slot nor keeps its own too long."""

import time
import uuid

import pytest

from coopbench.errors import SandboxError
from coopbench.sandbox.limits import ContainerSlots


def slots(redis_client, engine: str, **kwargs) -> ContainerSlots:
    return ContainerSlots(redis_client, engine, 1, **{"hold_s": 600, **kwargs})


def test_acquire_gives_up_at_its_deadline_with_what_to_do(redis_client):
    engine = f"test-{uuid.uuid4().hex[:8]}"
    slots(redis_client, engine).acquire("holder")  # the only slot, held
    waiter = slots(redis_client, engine, wait_s=1.5)
    started = time.monotonic()
    with pytest.raises(SandboxError, match="max_containers") as raised:
        waiter.acquire("waiter")
    assert 1.5 <= time.monotonic() - started < 3
    assert "no container slot" in str(raised.value) and "fewer" in str(raised.value)
    assert waiter.held() == 1  # the waiter took nothing


def test_the_default_deadline_is_the_wait_it_was_made_with(redis_client):
    engine = f"test-{uuid.uuid4().hex[:8]}"
    slots(redis_client, engine).acquire("holder")
    started = time.monotonic()
    with pytest.raises(SandboxError):
        slots(redis_client, engine, wait_s=1).acquire("waiter")
    assert 1 <= time.monotonic() - started < 2.5


def test_a_slot_freed_before_the_deadline_is_taken(redis_client):
    engine = f"test-{uuid.uuid4().hex[:8]}"
    holder = slots(redis_client, engine, hold_s=1)  # a dead holder's slot expires in 1 s
    holder.acquire("dead-holder")
    started = time.monotonic()
    slots(redis_client, engine, wait_s=10).acquire("waiter")
    assert time.monotonic() - started < 3


def test_expiries_are_on_the_redis_servers_clock(redis_client, monkeypatch):
    engine = f"test-{uuid.uuid4().hex[:8]}"
    first = slots(redis_client, engine)
    first.acquire("first-host")
    seconds, microseconds = redis_client.time()
    expiry = redis_client.zscore(first.key, "first-host")
    assert abs(expiry - (seconds + microseconds / 1e6 + 600)) < 5
    # A second host whose clock is an hour ahead: on its own clock the first host's slot
    # (600 s) has long expired, but the server's clock says it is held.
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    skewed = slots(redis_client, engine, wait_s=1.2)
    with pytest.raises(SandboxError):
        skewed.acquire("skewed-host")
    assert skewed.held() == 1
    assert redis_client.zscore(first.key, "first-host") == expiry
