"""Building a task image from the task's Dockerfile (``coopbench images build``)."""

import logging

import docker
import docker.errors

from coopbench.dataset.tasks import Task
from coopbench.errors import ConfigError, SandboxError

log = logging.getLogger(__name__)

def build_task_image(client: docker.DockerClient, task: Task, tag: str, base_image: str) -> None:
    """Build ``tag`` from the task's Dockerfile with ``BASE_IMAGE`` set; the base must be local."""
    if not (task.path / "Dockerfile").is_file():
        raise ConfigError(f"{task.path / 'Dockerfile'} does not exist; cannot build {tag}")
    try:
        client.images.get(base_image)
    except docker.errors.ImageNotFound:
        raise ConfigError(
            f"base image {base_image} is not on this host and no registry can be assumed; "
            "build one (scripts/setup-docker.sh makes coopbench/base:bookworm) and set "
            "COOPBENCH_BASE_IMAGE to it"
        ) from None
    log.info("building %s from %s", tag, task.path)
    try:
        client.images.build(
            path=str(task.path), tag=tag, buildargs={"BASE_IMAGE": base_image}, rm=True,
            forcerm=True, labels={"coopbench.task": f"{task.repo}/task{task.task_id}"},
        )
    except docker.errors.BuildError as error:
        tail = "".join(str(line.get("stream", "")) for line in list(error.build_log)[-10:])
        raise ConfigError(f"building {tag} failed: {error.msg}\n{tail}") from None
    except docker.errors.APIError as error:
        raise SandboxError(f"building {tag} failed: {error}") from None
