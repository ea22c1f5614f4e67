"""Pulling a task image, and what a failed pull means.

An image the registry does not have (the engine answers 404; or it will not give it: no
access) fails the job as a configuration error at once, since retrying cannot help; anything
else (the registry down: a 500 "connection refused"; cut off mid-pull: the engine retries the
layer for about 75 s, then an error in the stream) is an infrastructure error, retried under
the job's budget. Either way the error carries the registry's own message.
"""

import enum
import time
from collections.abc import Callable

import docker
import docker.errors
import requests

from coopbench.dataset.images.names import split_reference
from coopbench.errors import ConfigError, InfraError

PROGRESS_EVERY_S = 5.0
# What registries say, through engines that do not answer 404, when the image itself is not
# there or not for us.
NOT_THERE = ("manifest unknown", "repository does not exist", "pull access denied",
             "unauthorized", "name unknown", "invalid reference format")


class PullPolicy(enum.StrEnum):
    """When a worker pulls a job's image (a run's ``--pull``)."""

    never = "never"  # use what the host has; a missing image fails the job (configuration)
    missing = "missing"  # pull an image the host lacks, as upstream's runner does
    always = "always"  # pull at the run's first job on each Docker engine, even if present

    @classmethod
    def of_run(cls, config: dict) -> "PullPolicy":
        return cls(config.get("pull", cls.missing))


def pull_image(client: docker.DockerClient, reference: str, deadline_s: float,
               report: Callable[[str], None]) -> None:
    """Pull ``reference`` (a name with a tag, or ``repository@sha256:...``), calling
    ``report`` with its progress every few seconds; past ``deadline_s`` it is given up."""
    repository, tag = split_reference(reference)
    progress = _Progress()
    started = time.monotonic()
    try:
        stream = client.api.pull(repository, tag=tag or "latest", stream=True, decode=True)
        for event in stream:
            if event.get("error"):
                raise pull_failure(reference, event["error"])
            progress.add(event)
            if progress.due():
                report(progress.describe())
            if time.monotonic() - started > deadline_s:
                stream.close()  # the engine stops a pull whose client went away
                raise InfraError(f"pulling {reference} took longer than {deadline_s:.0f} s "
                                 f"(setting pull_timeout_s); it had {progress.describe()}")
    except docker.errors.NotFound as error:  # the registry has no such manifest: 404
        raise ConfigError(f"image {reference} is not in its registry: {error.explanation}. "
                          "Push it there, or check the run's image template") from None
    except docker.errors.APIError as error:  # the registry unreachable (500), and the rest
        raise pull_failure(reference, str(error.explanation or error)) from None
    except requests.exceptions.RequestException as error:
        raise InfraError(f"pulling {reference}: the Docker engine stopped answering: "
                         f"{error}") from None


def pull_failure(reference: str, message: str) -> ConfigError | InfraError:
    if any(marker in message.lower() for marker in NOT_THERE):
        return ConfigError(f"image {reference} cannot be pulled: {message.strip()}. Push it to "
                           "the registry, or check the run's image template")
    return InfraError(f"pulling {reference} failed: {message.strip()}")


class _Progress:
    """Bytes downloaded over the layers the engine reported so far."""

    def __init__(self):
        self.layers: dict[str, tuple[int, int]] = {}
        self.done: set[str] = set()
        self._last = time.monotonic()

    def add(self, event: dict) -> None:
        layer, status = event.get("id"), event.get("status", "")
        if not layer:
            return
        detail = event.get("progressDetail") or {}
        if status == "Downloading" and detail.get("total"):
            self.layers[layer] = (detail.get("current", 0), detail["total"])
        elif status in ("Download complete", "Pull complete", "Already exists"):
            self.done.add(layer)
            if layer in self.layers:
                self.layers[layer] = (self.layers[layer][1],) * 2

    def due(self) -> bool:
        if time.monotonic() - self._last < PROGRESS_EVERY_S:
            return False
        self._last = time.monotonic()
        return True

    def describe(self) -> str:
        current = sum(c for c, _ in self.layers.values())
        total = sum(t for _, t in self.layers.values())
        return (f"{len(self.done)} layers done, {current / 2**20:.0f} of "
                f"{total / 2**20:.0f} MiB downloaded")
