"""Fault tests: short leases and sweep periods so that each fault plays out in seconds, and a
task image whose oracle step is slow enough for a worker to be killed in the middle.

They run on a Redis server of their own (``RedisServer``), not the shared test Redis: kombu
keeps one ``unacked`` hash per Redis database for every queue in it, so a worker of another
test run with a short visibility timeout would redeliver these tests' messages.
"""

import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis

from coopbench.config import Settings
from coopbench.dataset.tasks import Pair, demo_dataset_path, load_tasks
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import free_port, wait_for_redis
from scheduler.broker_contents import KombuRedisLayout
from scheduler.enqueue import RunRequest

LEASE_S = 3.0
SWEEP_INTERVAL_S = 2.0
SLOW_APPLY_S = 6  # the oracle's `git apply --index` in the slow image
SLOW_IMAGE_TEMPLATE = "coopbench-test-slow-{slug}:task{task_id}"
# Earlier in PATH than /usr/bin/git in the login shell the sandbox runs commands in.
GIT_WRAPPER = f"""#!/bin/sh
# test image: the oracle's gold patch takes {SLOW_APPLY_S} s to apply, so that a worker can be
# killed while the job runs; every other git command is as fast as ever
case " $* " in *" apply --index "*) sleep {SLOW_APPLY_S};; esac
exec /usr/bin/git "$@"
"""


class RedisServer:
    """A redis-server on a free local port, without persistence (a restart empties it)."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.log_dir, self.process = log_dir, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1",
             "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=open(self.log_dir / f"redis-{self.port}.log", "ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        if not wait_for_redis(self.url):
            raise RuntimeError(f"redis-server on port {self.port} did not start")
        return self

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def fault_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.kill()


@pytest.fixture
def settings(database_url, fault_redis) -> Settings:
    """As the suite's, on this directory's own Redis."""
    return Settings(database_url=database_url, broker_url=fault_redis.url,
                    queue=f"coopbench-test-{uuid.uuid4().hex[:8]}", lease_s=30)


@pytest.fixture
def redis_client(fault_redis):
    return fault_redis.client()


def cli_env(settings) -> dict[str, str]:
    """The environment of a ``coopbench`` process pointed at this test's services."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPBENCH_")}
    env.update(COOPBENCH_DATABASE_URL=settings.database_url,
               COOPBENCH_BROKER_URL=settings.broker_url, COOPBENCH_QUEUE=settings.queue,
               COOPBENCH_LEASE_S=str(settings.lease_s),
               COOPBENCH_SWEEP_INTERVAL_S=str(settings.sweep_interval_s),
               LITELLM_LOCAL_MODEL_COST_MAP="True")
    return env


@pytest.fixture
def fault_settings(settings):
    """The test's settings (own store, own queue) with a 3 s lease and a 2 s sweep period."""
    return settings.model_copy(update={"lease_s": LEASE_S, "sweep_interval_s": SWEEP_INTERVAL_S})


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
    dataset = demo_dataset_path()
    return RunRequest(
        name=name, dataset=str(dataset),
        pairs=[Pair("ledger_task", 0, features) for features in pairs],
        tasks={(t.repo, t.task_id): t for t in load_tasks(dataset)}, settings=settings,
        agent="oracle", model=None, step_limit=1, cost_limit_usd=0.0,
        image_template=image_template,
    )


def waiting_task_ids(redis_client, queue: str) -> Counter:
    """How many messages of each task id wait in the queue's lists (priority ones too)."""
    counts: Counter = Counter()
    for name in KombuRedisLayout().queue_lists(queue):
        for item in redis_client.lrange(name, 0, -1):
            counts[json.loads(item)["headers"]["id"]] += 1
    return counts
