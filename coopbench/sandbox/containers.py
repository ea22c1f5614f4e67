"""A task container: started from the task image, commands run in it, always removed.

Containers carry ``coopbench.*`` labels (run, job, host, worker, role) so that a reaper
can find what a dead worker left behind. Their network is the run's policy (``Network``):
Docker's default, as upstream's containers have, unless the run asked for none.
"""

import enum
import io
import logging
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

import docker
import docker.errors
from docker.models.containers import Container

from coopbench.errors import SandboxError
from coopbench.sandbox.limits import NO_LIMITS, SandboxLimits

log = logging.getLogger(__name__)

LABEL_PREFIX = "coopbench."
WORKDIR = "/workspace/repo"
PIDS_LIMIT = 1024  # a fork bomb in a container must not take the host down
OUTSIDE_GRACE_S = 30  # beyond an inner `timeout`, before the container itself is killed
COMMAND_ENV = {"PAGER": "cat", "MANPAGER": "cat", "LESS": "-R", "PIP_PROGRESS_BAR": "off",
               "TQDM_DISABLE": "1"}


class Network(enum.StrEnum):
    """A task container's network. ``default`` is Docker's default bridge, as upstream's
    agent and evaluation containers have: real task runners ``pip install`` at test time.
    ``none`` is a hardening option (``enqueue --sandbox-network none``): no agent command
    reaches the internet, and every runner that installs at test time fails."""

    default = "default"
    none = "none"

    @property
    def network_mode(self) -> str | None:
        return None if self is Network.default else "none"

    @classmethod
    def of_run(cls, run_config: dict) -> "Network":
        """A run's policy; runs enqueued before the option existed ran without a network."""
        return cls(run_config.get("sandbox_network", cls.none))


@dataclass(frozen=True)
class ExecResult:
    returncode: int
    output: str  # stdout and stderr merged, as the agent sees them
    killed: bool = False  # the time limit ran out and the container was killed

    @property
    def timed_out(self) -> bool:
        return self.killed or self.returncode == 124  # 124: coreutils `timeout`


def docker_client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except docker.errors.DockerException as error:
        raise SandboxError(f"cannot reach the Docker engine: {error}. Is dockerd running?") from None


class Sandbox:
    def __init__(self, container: Container):
        self.container = container

    @property
    def id(self) -> str:
        return self.container.id

    def exec(self, command: str, timeout_s: float, workdir: str = WORKDIR,
             kill_on_timeout: bool = False) -> ExecResult:
        """Run ``command`` in a login shell, stdout and stderr merged.

        By default the limit is kept inside the container (coreutils ``timeout``, exit code
        124) and the container lives on, as an agent's next command needs it. With
        ``kill_on_timeout`` the limit is enforced from outside: the container is killed,
        which ends every process in it, and the output so far is returned.
        """
        argv = ["bash", "-lc", command]
        if not kill_on_timeout:
            argv = ["timeout", "--kill-after=5", str(int(max(timeout_s, 1))), *argv]
        chunks: list[bytes] = []
        failure: list[BaseException] = []
        try:
            exec_id = self.container.client.api.exec_create(
                self.container.id, argv, workdir=workdir, environment=COMMAND_ENV)["Id"]
        except docker.errors.APIError as error:
            raise SandboxError(f"exec in container {self.id[:12]} failed: {error}") from None

        def read_output() -> None:
            try:
                for chunk in self.container.client.api.exec_start(exec_id, stream=True):
                    chunks.append(chunk)
            except Exception as error:  # the stream breaks when the container is killed
                failure.append(error)

        reader = threading.Thread(target=read_output, name=f"exec-{self.id[:8]}", daemon=True)
        reader.start()
        reader.join(timeout_s if kill_on_timeout else timeout_s + OUTSIDE_GRACE_S)
        killed = reader.is_alive()
        if killed:
            log.warning("container %s: command over %.0f s; killing it", self.id[:12], timeout_s)
            self.kill()
            reader.join(OUTSIDE_GRACE_S)
        output = b"".join(chunks).decode("utf-8", errors="replace")
        if killed:
            return ExecResult(-1, output, killed=True)
        if failure:
            raise SandboxError(f"exec in container {self.id[:12]} failed: {failure[0]}")
        code = self.container.client.api.exec_inspect(exec_id).get("ExitCode")
        return ExecResult(-1 if code is None else code, output)

    def kill(self) -> None:
        try:
            self.container.kill()
        except docker.errors.APIError:  # already stopped or gone
            pass

    def put_files(self, directory: str, files: dict[str, str | bytes]) -> None:
        """Write files into ``directory`` through the Docker API (no size limit, no shell)."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, content in files.items():
                data = content.encode("utf-8") if isinstance(content, str) else content
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        self.exec(f"mkdir -p {directory}", timeout_s=30, workdir="/")
        try:
            self.container.put_archive(directory, buffer.getvalue())
        except docker.errors.APIError as error:
            raise SandboxError(f"copying files into {self.id[:12]} failed: {error}") from None

    def read_file(self, path: str) -> str | None:
        """The file's text, or None if it does not exist."""
        try:
            stream, _ = self.container.get_archive(path)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as error:
            raise SandboxError(f"reading {path} from {self.id[:12]} failed: {error}") from None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.extractfile(PurePosixPath(path).name)
            return None if member is None else member.read().decode("utf-8", errors="replace")


@contextmanager
def open_sandbox(
    client: docker.DockerClient,
    image: str,
    name: str,
    labels: dict[str, str],
    network: Network = Network.default,
    limits: SandboxLimits = NO_LIMITS,
) -> Iterator[Sandbox]:
    """Start a container from ``image`` that idles until removed, and remove it afterwards.

    With ``limits``: its memory and CPUs are capped, and it waits for a container slot of
    this Docker engine first."""
    if limits.slots is not None:
        limits.slots.acquire(name)
    try:
        with _started(client, image, name, labels, network, limits) as box:
            yield box
    finally:
        if limits.slots is not None:
            limits.slots.release(name)


@contextmanager
def _started(client: docker.DockerClient, image: str, name: str, labels: dict[str, str],
             network: Network, limits: SandboxLimits) -> Iterator[Sandbox]:
    try:
        # create + start, not run: run would try to pull a missing image from a registry.
        container = client.containers.create(
            image,
            entrypoint=["sleep", "infinity"],  # task images' entrypoint is runner.sh
            command=[],
            name=name,
            labels={LABEL_PREFIX + key: value for key, value in labels.items()},
            network_mode=network.network_mode,
            working_dir=WORKDIR,
            pids_limit=PIDS_LIMIT,
            **limits.create_kwargs(),
        )
    except docker.errors.ImageNotFound:  # resolved before (job.image): removed since
        raise SandboxError(f"Docker image {image} is no longer on this host") from None
    except docker.errors.APIError as error:
        raise SandboxError(f"cannot start a container from {image}: {error}") from None
    try:
        container.start()
        yield Sandbox(container)
    except docker.errors.APIError as error:
        raise SandboxError(f"container {container.id[:12]} from {image} failed: {error}") from None
    finally:
        remove_container(container)


def remove_container(container: Container) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as error:
        if error.status_code == 409 and "already in progress" in str(error):
            return  # removed meanwhile by a lost lease's stop or by the cleanup
        log.exception("could not remove container %s", container.id[:12])


def remove_labelled(client: docker.DockerClient, labels: dict[str, str]) -> int:
    """Remove every container (any state) carrying all ``labels``; how many were removed."""
    filters = {"label": [f"{LABEL_PREFIX}{key}={value}" for key, value in labels.items()]}
    # sparse: no inspect per container, which fails if one is removed in between
    containers = client.containers.list(all=True, sparse=True, filters=filters)
    for container in containers:
        remove_container(container)
    return len(containers)
