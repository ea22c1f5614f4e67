"""Which containers carry given labels, as the tests ask it while workers are busy."""

import docker

from tests.support.polling import wait_until


def container_names(docker_client: docker.DockerClient, *labels: str) -> list[str]:
    """Names of the containers (any state) carrying every ``label`` (``"key=value"``).

    Sparse: the list call's own data. A full list inspects each container afterwards and
    fails with NotFound when one is removed in between, which a running worker does often.
    """
    found = docker_client.containers.list(all=True, sparse=True, filters={"label": list(labels)})
    return sorted((c.attrs.get("Names") or [c.id[:12]])[0].lstrip("/") for c in found)


def run_containers(docker_client: docker.DockerClient, run: str, *labels: str) -> list[str]:
    """Names of the containers of coopbench run ``run`` that also carry ``labels``."""
    return container_names(docker_client, f"coopbench.run={run}", *labels)


# A result commits before its containers are gone: the last evaluation's container is removed
# in the background, so "nothing is left" is asserted after this long.
REMOVAL_GRACE_S = 30


def wait_run_containers_removed(docker_client: docker.DockerClient, run: str) -> None:
    """Fail the test unless every container of ``run`` is gone within ``REMOVAL_GRACE_S``."""
    wait_until(lambda: run_containers(docker_client, run) == [],
               lambda: f"the containers of run {run} removed; left: {run_containers(docker_client, run)}",
               REMOVAL_GRACE_S)
