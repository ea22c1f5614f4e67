"""Task images in a real registry on 127.0.0.1 (``tests/support/registry.py``; the fixtures
``registry`` and ``proxy`` are tests/conftest.py's).

The demo's task images are pushed as images of their own (the demo image plus a label that
makes a new image id, so removing them never touches the session's demo images), under a
repository prefix per test, and removed locally: a run then has to pull them."""

import io
import threading
import time
import uuid

import docker

from coopbench.dataset.images import image_name
from coopbench.dataset.tasks import demo_dataset_path, load_tasks
from tests.support.registry import CuttableProxy, LocalRegistry, push


def push_demo_images(client: docker.DockerClient, registry: LocalRegistry, demo_template: str,
                     prefix: str, dockerfile_tail: str = "") -> tuple[str, dict[str, str]]:
    """Push a new image per demo task as ``<registry>/<prefix>-<slug>:task<N>`` and remove
    it locally; returns its name template and each name's digest (``<repo>@sha256:...``)."""
    template = f"{registry.address}/{prefix}-{{slug}}:task{{task_id}}"
    digests = {}
    for task in load_tasks(demo_dataset_path()):
        base = image_name(demo_template, task.repo, task.task_id)
        dockerfile = f"FROM {base}\nLABEL coopbench.test={uuid.uuid4().hex}\n{dockerfile_tail}"
        image, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True)
        name = image_name(template, task.repo, task.task_id)
        repository, tag = name.split("/", 1)[1].rsplit(":", 1)
        _, digest = push(client, image.id, registry, repository, tag)
        client.images.remove(image.id, force=True)
        digests[name] = digest
    return template, digests


def via(proxy: CuttableProxy, registry: LocalRegistry, name: str) -> str:
    """The same image, pulled through the proxy."""
    return name.replace(registry.address, proxy.address, 1)


class PullEvents:
    """The references an engine pulls while this is open, from its live event stream (a
    query of past events would not do: the engine keeps only its last 256 events)."""

    def __init__(self, client: docker.DockerClient):
        self.client = client
        self.pulled: list[str] = []

    def __enter__(self) -> "PullEvents":
        self._stream = self.client.events(decode=True, filters={"type": "image", "event": "pull"})
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        try:
            for event in self._stream:
                self.pulled.append(event["id"])
        except Exception:  # the stream closed under the reader
            pass

    def __exit__(self, *exc_info: object) -> None:
        time.sleep(0.5)  # the last event reaches the stream a moment after its pull
        self._stream.close()
        self._thread.join(timeout=10)
