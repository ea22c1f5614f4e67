"""coop-git's shared remote: upstream's git server, one per attempt, on a network of its own.

Upstream (``connectors/git_servers/docker.py``) keeps one ``cooperbench-git`` container per
host, on one ``cooperbench`` network, with a bare repository per run under it. coopbench
starts the same image and the same daemon, and initialises the repository the same way, but
one server and one network per attempt, both labelled like task containers: jobs never see
each other's remotes, and the cleanup after a dead worker removes both.
"""

import contextlib
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import docker.errors

from coopbench.errors import SandboxError
from coopbench.sandbox.containers import LABEL_PREFIX, remove_container
from coopbench.sandbox.networks import remove_network

log = logging.getLogger(__name__)

PORT = 9418
REPO_PATH = "/git/repo.git"
READY_TIMEOUT_S = 30


@dataclass(frozen=True)
class GitServer:
    url: str  # what each agent's remote points at
    network: str  # the network every agent container joins


def ensure_image(client: docker.DockerClient) -> str:
    """Upstream's git server image, built from upstream's own Dockerfile when missing."""
    from cooperbench.agents.mini_swe_agent_v2.connectors.git_servers.docker import (
        _DOCKERFILE,
        _IMAGE_TAG,
    )

    try:
        client.images.get(_IMAGE_TAG)
    except docker.errors.ImageNotFound:
        log.info("building %s from upstream's Dockerfile", _IMAGE_TAG)
        try:
            client.images.build(fileobj=io.BytesIO(_DOCKERFILE), tag=_IMAGE_TAG, rm=True)
        except docker.errors.DockerException as error:
            raise SandboxError(f"cannot build upstream's git server image {_IMAGE_TAG}: {error} "
                               "(it starts FROM debian:bookworm-slim; scripts/setup-docker.sh "
                               "tags the local base image so)") from None
    return _IMAGE_TAG


@contextlib.contextmanager
def git_server(client: docker.DockerClient, name: str, labels: dict[str, str]) -> Iterator[GitServer]:
    """A git daemon serving one bare repository, on a network named ``name``; both removed
    when the block ends."""
    image = ensure_image(client)
    docker_labels = {LABEL_PREFIX + key: value for key, value in labels.items()}
    network = client.networks.create(name, driver="bridge", labels=docker_labels)
    container = None
    try:
        container = client.containers.run(image, name=name, detach=True, network=name,
                                           labels=docker_labels)
        _wait_for_daemon(container)
        init = container.exec_run(["bash", "-c", (  # upstream's per-run init, one repo
            f"set -e && mkdir -p {REPO_PATH} && cd {REPO_PATH} && git init --bare && "
            "git config receive.denyCurrentBranch ignore && touch git-daemon-export-ok")])
        if init.exit_code != 0:
            raise SandboxError(f"git server {name}: cannot create the repository: "
                               f"{init.output.decode(errors='replace')}")
        yield GitServer(url=f"git://{name}:{PORT}/repo.git", network=name)
    finally:
        if container is not None:
            remove_container(container)
        remove_network(network)


def _wait_for_daemon(container) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if container.exec_run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{PORT}"]).exit_code == 0:
            return
        time.sleep(0.3)
    raise SandboxError(f"git daemon in {container.name} did not listen within {READY_TIMEOUT_S} s")
