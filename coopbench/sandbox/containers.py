"""A task container: started from the task image, commands run in it, always removed.

Containers carry ``coopbench.*`` labels (run, job, host, worker, role) so that a reaper
can find what a dead worker left behind. Their network is the run's policy (``Network``):
Docker's default, as upstream's containers have, unless the run asked for none.

Every call to the engine is bounded, so that a hung engine fails the job as an
infrastructure error instead of holding its worker: a plain call by the client's timeout
(``docker_timeout_s``), a command's output stream (which docker-py reads with no timeout)
by the command's own limit, and meanwhile by a check that the engine still answers.
"""

import enum
import io
import logging
import os
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

import docker
import docker.errors
import requests
from docker.models.containers import Container

from coopbench.errors import SandboxError
from coopbench.sandbox.limits import NO_LIMITS, SandboxLimits
from coopbench.sandbox.removals import Removals

log = logging.getLogger(__name__)

LABEL_PREFIX = "coopbench."
WORKDIR = "/workspace/repo"
PIDS_LIMIT = 1024  # a fork bomb in a container must not take the host down
OUTSIDE_GRACE_S = 30  # beyond an inner `timeout`, before the container itself is killed
DOCKER_TIMEOUT_S = 120.0  # the setting docker_timeout_s's default
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


def docker_client(timeout_s: float = DOCKER_TIMEOUT_S) -> docker.DockerClient:
    """A client whose every call is given up after ``timeout_s`` without an answer."""
    client = None
    try:
        client = docker.from_env(timeout=timeout_s)  # asks the engine its API version
        client.ping()
        return client
    # APIError is a RequestException too; the rest (no answer in time, refused) are transport
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        if client is not None:
            client.close()
        where = os.environ.get("DOCKER_HOST") or "its default socket"
        raise SandboxError(f"cannot reach the Docker engine at {where}: {error}. Is dockerd "
                           "running, and answering?") from None


def _unanswered(what: str, error: BaseException) -> SandboxError:
    """A call the engine did not answer (in time, or at all): infrastructure, retried."""
    return SandboxError(f"{what}: the Docker engine did not answer ({error}); is dockerd "
                        "hung or overloaded? (setting docker_timeout_s)")


class Sandbox:
    def __init__(self, container: Container):
        self.container = container

    @property
    def id(self) -> str:
        return self.container.id

    @property
    def api_timeout_s(self) -> float | None:
        return self.container.client.api.timeout

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
        api = self.container.client.api
        what = f"exec in container {self.id[:12]}"
        chunks: list[bytes] = []
        failure: list[BaseException] = []
        try:
            exec_id = api.exec_create(self.container.id, argv, workdir=workdir,
                                      environment=COMMAND_ENV)["Id"]
            stream = api.exec_start(exec_id, stream=True)
        except docker.errors.APIError as error:
            raise SandboxError(f"{what} failed: {error}") from None
        except requests.exceptions.RequestException as error:
            raise _unanswered(what, error) from None

        def read_output() -> None:
            try:
                for chunk in stream:
                    chunks.append(chunk)
            except Exception as error:  # the stream breaks when the container is killed
                failure.append(error)

        reader = threading.Thread(target=read_output, name=f"exec-{self.id[:8]}", daemon=True)
        reader.start()
        try:
            self._wait(reader, exec_id, timeout_s if kill_on_timeout else timeout_s + OUTSIDE_GRACE_S)
            killed = reader.is_alive()
            if killed:
                log.warning("container %s: command over %.0f s; killing it", self.id[:12], timeout_s)
                self.kill()
                reader.join(OUTSIDE_GRACE_S)
        finally:
            _close_stream(stream)  # ends the reader, if the engine left it waiting
        output = b"".join(chunks).decode("utf-8", errors="replace")
        if killed:
            return ExecResult(-1, output, killed=True)
        if failure:
            raise SandboxError(f"{what} failed: {failure[0]}")
        try:
            code = api.exec_inspect(exec_id).get("ExitCode")
        except requests.exceptions.RequestException as error:
            raise _unanswered(what, error) from None
        return ExecResult(-1 if code is None else code, output)

    def _wait(self, reader: threading.Thread, exec_id: str, limit_s: float) -> None:
        """Until the output ends or ``limit_s`` passes; every ``api_timeout_s`` meanwhile, the
        engine must answer an inspect of the exec: silence is all a hung engine's stream
        shows, and a command may legitimately be silent for hours."""
        deadline = time.monotonic() + limit_s
        while reader.is_alive() and (left := deadline - time.monotonic()) > 0:
            reader.join(min(left, self.api_timeout_s or left))
            if reader.is_alive() and time.monotonic() < deadline:
                try:
                    self.container.client.api.exec_inspect(exec_id)
                except docker.errors.APIError:
                    pass  # an answer all the same (the container was removed under us)
                except requests.exceptions.RequestException as error:
                    raise _unanswered(f"command in container {self.id[:12]}", error) from None

    def kill(self) -> None:
        try:
            self.container.kill()
        except docker.errors.APIError:  # already stopped or gone
            pass
        except requests.exceptions.RequestException as error:  # not killed: not a time-out
            raise _unanswered(f"killing container {self.id[:12]}", error) from None

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
        except requests.exceptions.RequestException as error:
            raise _unanswered(f"copying files into {self.id[:12]}", error) from None

    def read_file(self, path: str) -> str | None:
        """The file's text, or None if it does not exist."""
        what = f"reading {path} from {self.id[:12]}"

        def read() -> bytes | None:
            try:
                stream, _ = self.container.get_archive(path)
            except docker.errors.NotFound:
                return None
            return b"".join(stream)

        try:
            # docker-py reads an archive's stream with no timeout: bounded here instead
            archive = _bounded(read, self.api_timeout_s, what)
        except docker.errors.APIError as error:
            raise SandboxError(f"{what} failed: {error}") from None
        except requests.exceptions.RequestException as error:
            raise _unanswered(what, error) from None
        if archive is None:
            return None
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
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
    removals: Removals | None = None,
) -> Iterator[Sandbox]:
    """Start a container from ``image`` that idles until removed, and remove it afterwards.

    With ``limits``: its memory and CPUs are capped, and it waits for a container slot of
    this Docker engine first (given back once the container is removed). With ``removals``:
    the removal runs in the background, and the caller waits for it before its job ends."""
    if limits.slots is not None:
        limits.slots.acquire(name)
    try:
        container = _create(client, image, name, labels, network, limits)
    except BaseException:
        _release(limits, name)
        raise

    def remove() -> None:
        try:
            remove_container(container)
        finally:
            _release(limits, name)

    try:
        container.start()
        yield Sandbox(container)
    except docker.errors.APIError as error:
        raise SandboxError(f"container {container.id[:12]} from {image} failed: {error}") from None
    except requests.exceptions.RequestException as error:
        raise _unanswered(f"container {container.id[:12]} from {image}", error) from None
    finally:
        if removals is None:
            remove()
        else:
            removals.submit(name, remove)


def _create(client: docker.DockerClient, image: str, name: str, labels: dict[str, str],
            network: Network, limits: SandboxLimits) -> Container:
    try:
        # create + start, not run: run would try to pull a missing image from a registry.
        return client.containers.create(
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
    except requests.exceptions.RequestException as error:
        raise _unanswered(f"creating a container from {image}", error) from None


def _release(limits: SandboxLimits, name: str) -> None:
    if limits.slots is not None:
        limits.slots.release(name)


def remove_container(container: Container) -> None:
    try:
        container.remove(force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as error:
        if error.status_code == 409 and "already in progress" in str(error):
            return  # removed meanwhile by a lost lease's stop or by the cleanup
        log.exception("could not remove container %s", container.id[:12])
    except requests.exceptions.RequestException as error:
        # Labelled: the cleanup removes it once the engine answers again. Not raised, so that
        # the error that brought us here (most likely the same hung engine) is the job's.
        log.warning("could not remove container %s: the Docker engine did not answer (%s)",
                    container.id[:12], error)


def _bounded[T](call: Callable[[], T], timeout_s: float | None, what: str) -> T:
    """``call()``, given up after ``timeout_s``: run in a daemon thread, left behind if the
    engine never answers (it ends when the engine does, or drops the connection)."""
    if timeout_s is None:
        return call()
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:
            outcome["error"] = error

    runner = threading.Thread(target=run, name="docker-call", daemon=True)
    runner.start()
    runner.join(timeout_s)
    if runner.is_alive():
        raise _unanswered(what, TimeoutError(f"no answer in {timeout_s:g} s"))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _close_stream(stream) -> None:
    """Close an exec's output stream (its socket: a reader blocked on it wakes up)."""
    try:
        stream.close()
    except Exception as error:  # closed already, or a transport without cancellable streams
        log.debug("closing an exec stream: %s", error)


def remove_labelled(client: docker.DockerClient, labels: dict[str, str]) -> int:
    """Remove every container (any state) carrying all ``labels``; how many were removed."""
    filters = {"label": [f"{LABEL_PREFIX}{key}={value}" for key, value in labels.items()]}
    # sparse: no inspect per container, which fails if one is removed in between
    containers = client.containers.list(all=True, sparse=True, filters=filters)
    for container in containers:
        remove_container(container)
    return len(containers)
