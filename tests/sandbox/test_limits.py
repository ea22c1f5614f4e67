"""Per-host limits on task containers, on the real Docker engine and Redis: memory and CPUs
each, and at most N containers at once over every worker using the engine."""

import threading
import time
import uuid

from coopbench.dataset.images import image_name
from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from coopbench.sandbox.containers import open_sandbox
from coopbench.sandbox.limits import ContainerSlots, SandboxLimits


def ledger_image(template: str) -> str:
    task = {t.repo: t for t in load_tasks(demo_dataset_path())}["ledger_task"]
    return image_name(template, task.repo, task.task_id)


def test_memory_and_cpus_are_applied(docker_client, demo_images):
    name = f"coopbench-limits-{uuid.uuid4().hex[:8]}"
    with open_sandbox(docker_client, ledger_image(demo_images), name, {"run": name},
                      limits=SandboxLimits(memory="256m", cpus=0.5)) as box:
        config = docker_client.api.inspect_container(box.id)["HostConfig"]
    assert config["Memory"] == 256 * 1024 * 1024 and config["NanoCpus"] == 500_000_000


def test_at_most_max_containers_at_once_on_one_engine(docker_client, demo_images, redis_client):
    engine = f"test-{uuid.uuid4().hex[:8]}"
    # Two "workers" (separate slot objects, as two processes would have) share the limit of 2.
    limits = [SandboxLimits(slots=ContainerSlots(redis_client, engine, 2, hold_s=600))
              for _ in range(2)]
    live, peak, lock = [0], [0], threading.Lock()

    def one(index: int) -> None:
        name = f"coopbench-slots-{engine}-{index}"
        with open_sandbox(docker_client, ledger_image(demo_images), name, {"run": engine},
                          limits=limits[index % 2]):
            with lock:
                live[0] += 1
                peak[0] = max(peak[0], live[0])
            time.sleep(1.5)
            with lock:
                live[0] -= 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 2
    assert limits[0].slots.held() == 0  # every slot given back


def test_a_dead_holders_slot_expires(redis_client):
    slots = ContainerSlots(redis_client, f"test-{uuid.uuid4().hex[:8]}", 1, hold_s=0.5)
    slots.acquire("killed-worker-container")  # never released
    started = time.monotonic()
    slots.acquire("next")
    assert 0.3 < time.monotonic() - started < 3
