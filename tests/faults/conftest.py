"""Fault tests: short leases and sweep periods so that each fault plays out in seconds, and a
task image whose oracle step is slow enough for a worker to be killed in the middle.

They run on a Redis server of their own (``tests/support/redis_server.py``), not the shared
test Redis: kombu keeps one ``unacked`` hash per Redis database for every queue in it, so a
worker of another test run with a short visibility timeout would redeliver these tests'
messages.
"""

import io
import json
import tarfile
import uuid
from collections import Counter

import pytest

from coopbench.config import Settings
from coopbench.dataset.tasks import Pair
from coopbench.job.setting import Setting
from scheduler.broker_contents import KombuRedisLayout
from scheduler.enqueue import RunRequest
from tests.support.env import settings_env
from tests.support.redis_server import RedisServer
from tests.support.runs import run_request

LEASE_S = 3.0
SWEEP_INTERVAL_S = 2.0
RETRY_BACKOFF_S = 1.0
SLOW_APPLY_S = 6  # the oracle's `git apply --index` in the slow image
SLOW_IMAGE_TEMPLATE = "coopbench-test-slow-{slug}:task{task_id}"
# Earlier in PATH than /usr/bin/git in the login shell the sandbox runs commands in.
GIT_WRAPPER = f"""#!/bin/sh
# test image: the oracle's gold patch takes {SLOW_APPLY_S} s to apply, so that a worker can be
# killed while the job runs; every other git command is as fast as ever
case " $* " in *" apply --index "*) sleep {SLOW_APPLY_S};; esac
exec /usr/bin/git "$@"
"""


@pytest.fixture(scope="session")
def fault_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.kill()


@pytest.fixture
def settings(database_url, fault_redis) -> Settings:
    """As the suite's, on this directory's own Redis."""
    return Settings(database_url=database_url, broker_url=fault_redis.url,
                    queue=f"coopbench-test-{uuid.uuid4().hex[:8]}", lease_s=30, retry_poll_s=1)


@pytest.fixture
def redis_client(fault_redis):
    return fault_redis.client()


def cli_env(settings) -> dict[str, str]:
    """The environment of a ``coopbench`` process pointed at this test's services, with its
    lease and sweep period."""
    return settings_env(settings, COOPBENCH_LEASE_S=str(settings.lease_s),
                        COOPBENCH_SWEEP_INTERVAL_S=str(settings.sweep_interval_s),
                        COOPBENCH_RETRY_BACKOFF_S=str(settings.retry_backoff_s),
                        COOPBENCH_RETRY_POLL_S=str(settings.retry_poll_s))


@pytest.fixture
def fault_settings(settings):
    """The test's settings (own store, own queue) with a 3 s lease, a 2 s sweep period and a
    1 s retry backoff (a lost worker's job waits its lease, then that)."""
    return settings.model_copy(update={"lease_s": LEASE_S, "sweep_interval_s": SWEEP_INTERVAL_S,
                                       "retry_backoff_s": RETRY_BACKOFF_S})


@pytest.fixture(scope="session")
def slow_images(demo_images, docker_client) -> str:
    """The ledger demo image with a slow `git apply --index`; returns the image template."""
    base = demo_images.format(slug="ledger", task_id=0)
    dockerfile = f"FROM {base}\nCOPY git /usr/local/bin/git\nRUN chmod +x /usr/local/bin/git\n"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, text in (("Dockerfile", dockerfile), ("git", GIT_WRAPPER)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    docker_client.images.build(fileobj=context, custom_context=True, rm=True,
                               tag=SLOW_IMAGE_TEMPLATE.format(slug="ledger", task_id=0))
    return SLOW_IMAGE_TEMPLATE


def ledger_request(name: str, image_template: str, pairs: list[tuple[int, int]],
                   settings: list[Setting]) -> RunRequest:
    """The oracle on the demo ledger task's ``pairs`` of features, in this order."""
    return run_request(name, image_template, [Pair("ledger_task", 0, features) for features in pairs],
                       settings=settings)


def waiting_task_ids(redis_client, queue: str) -> Counter:
    """How many messages of each task id wait in the queue's lists (priority ones too)."""
    counts: Counter = Counter()
    for name in KombuRedisLayout().queue_lists(queue):
        for item in redis_client.lrange(name, 0, -1):
            counts[json.loads(item)["headers"]["id"]] += 1
    return counts
