"""``coopbench images pull`` and ``images list`` across two hosts with a Docker engine each
(this machine's engine, and a second ``dockerd`` with its own data root:
tests/support/second_engine.py), through real workers answering Celery's broadcast. The
workers listen on a queue the run is not on, so nothing but the prefetch pulls."""

import io
import json
import re
import subprocess
import uuid

import docker
import pytest

from coopbench.dataset.images import image_name
from coopbench.dataset.images.local import local_image
from coopbench.job.setting import Setting
from coopbench.ops.localcluster import LocalWorkers
from scheduler.enqueue import enqueue_run
from tests.conftest import COOPBENCH
from tests.support.env import clean_env
from tests.support.images import push_demo_images
from tests.support.polling import wait_until
from tests.support.real_task import REPO, TASK_ID
from tests.support.registry import LocalRegistry, push
from tests.support.runs import run_request
from tests.support.second_engine import SecondEngine

pytestmark = pytest.mark.docker

READY_TIMEOUT_S = 60


@pytest.fixture
def second_engine(tmp_path):
    engine = SecondEngine(tmp_path / "engine2").start()
    try:
        yield engine
    finally:
        engine.stop()


def test_prefetch_pulls_a_runs_images_on_every_host(settings, demo_images, real_task_image,
                                                    fixtures_dir, docker_client, registry,
                                                    second_engine, tmp_path):
    """A run's demo images, then a dataset's: the real dirty-equals task image, which the
    second engine downloads whole (hundreds of MB, from nothing)."""
    template, digests = push_demo_images(docker_client, registry, demo_images, "warm")
    real_template, real_digest = push_real_task_image(docker_client, registry, real_task_image)
    run = f"warm-{settings.queue[-8:]}"
    enqueue_run(settings, run_request(run, template, settings=[Setting.solo]))
    idle = settings.model_copy(update={"queue": f"{settings.queue}-idle"})
    hosts = {"host-a": {}, "host-b": {"DOCKER_HOST": second_engine.url}}
    workers = [LocalWorkers(idle, 1, 1, tmp_path / host, name_prefix=host,
                            extra_env={"COOPBENCH_HOST_NAME": host, **env})
               for host, env in hosts.items()]
    env = clean_env(COOPBENCH_DATABASE_URL=settings.database_url,
                    COOPBENCH_BROKER_URL=settings.broker_url, COLUMNS="250")
    try:
        for group in workers:
            group.start()
        for host in hosts:
            wait_ready(tmp_path / host / "worker-1.log")
        first = cli(env, "images", "pull", "--run", run, "--json")
        second = cli(env, "images", "pull", "--run", run)  # as a person reads it
        listed = cli(env, "images", "list", "--run", run, "--json")
        real = cli(env, "images", "pull", "--dataset", str(fixtures_dir), "--repo", REPO,
                   "--task", str(TASK_ID), "--image-template", real_template, "--json")
    finally:
        for group in workers:
            group.stop()

    assert first["ok"] and first["images"] == sorted(digests)
    for host in hosts:
        assert {image: r["status"] for image, r in first["hosts"][host].items()} == {
            image: "pulled" for image in digests}
        for image in digests:  # the second time, every host already has every image
            assert re.search(rf"{host} +│ {re.escape(image)} +│ present +│ \d+ MiB", second)
        for image, report in first["hosts"][host].items():
            assert report["digest"] == digests[image] and report["size_bytes"] > 0
    for engine in (docker_client, second_engine.client()):
        assert {local_image(engine, name).id for name in digests} == {
            report["id"] for report in first["hosts"]["host-a"].values()}
    for row in listed["images"]:
        assert row["pinned"] == digests[row["image"]]
        assert set(row["hosts"]) == set(hosts)
        assert all(local["pinned_bytes"] for local in row["hosts"].values())
    assert real["ok"] and real["images"] == [image_name(real_template, REPO, TASK_ID)]
    for host in hosts:
        (report,) = real["hosts"][host].values()
        assert report["status"] == "pulled" and report["digest"] == real_digest
    assert second_engine.client().images.get(real["images"][0]).attrs["Size"] > 100 * 2**20


def push_real_task_image(client: docker.DockerClient, registry: LocalRegistry,
                         image: str) -> tuple[str, str]:
    """The real task image as an image of its own in the registry, gone from this engine."""
    dockerfile = f"FROM {image}\nLABEL coopbench.test={uuid.uuid4().hex}\n"
    built, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True)
    template = f"{registry.address}/real-{{slug}}:task{{task_id}}"
    repository, tag = image_name(template, REPO, TASK_ID).split("/", 1)[1].rsplit(":", 1)
    _, digest = push(client, built.id, registry, repository, tag)
    client.images.remove(built.id, force=True)
    return template, digest


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # not about the store
def test_prefetch_with_no_live_worker_says_so(settings, demo_images):
    run = f"nowork-{settings.queue[-8:]}"
    enqueue_run(settings, run_request(run, demo_images, settings=[Setting.solo]))
    done = subprocess.run(
        [COOPBENCH, "--database-url", settings.database_url, "--broker-url",
         "redis://127.0.0.1:6379/15", "images", "pull", "--run", run],
        capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "no live worker answered" in done.stderr + done.stdout


def cli(env: dict[str, str], *args: str) -> dict | str:
    done = subprocess.run([COOPBENCH, *args], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def wait_ready(log) -> None:
    wait_until(lambda: log.exists() and " ready." in log.read_text(),
               lambda: f"the worker to be ready:\n{log.read_text()[-3000:] if log.exists() else ''}",
               READY_TIMEOUT_S, 0.3)
