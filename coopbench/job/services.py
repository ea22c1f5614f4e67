"""What a job needs from its host (Docker, the store, the bus, container slots), made once
per worker process."""

import logging
import os
from functools import cached_property

import docker
import redis

from coopbench.agents import provider_limits
from coopbench.config import Settings
from coopbench.sandbox.containers import docker_client
from coopbench.sandbox.limits import ContainerSlots, SandboxLimits
from coopbench.sandbox.removals import Removals
from coopbench.store import Store
from coopbench.store.engine import host_name

log = logging.getLogger(__name__)


class Services:
    """What a job needs from its host, made once per worker process."""

    def __init__(self, settings: Settings, worker_name: str | None = None,
                 interruptions: tuple[type[BaseException], ...] = ()):
        self.settings = settings
        self.worker_name = worker_name or f"{host_name()}:{os.getpid()}"
        # What the worker's runtime raises into a job to stop it (Celery's soft time limit):
        # infrastructure, not a bug of ours (``failures.classify``).
        self.interruptions = interruptions
        # Containers a job is done with, removed while it goes on; it waits for them at its end.
        self.removals = Removals()

    def install_provider_limits(self) -> None:
        """Route this process's model calls through the limits every host shares (once)."""
        settings = self.settings
        provider_limits.install(settings.resolved_bus_url, provider_limits.ProviderLimits(
            settings.llm_max_concurrency, settings.llm_requests_per_minute,
            settings.llm_tokens_per_minute))

    def close(self) -> None:
        """Close what was opened (a worker's main process keeps nothing open for a fork)."""
        if "store" in self.__dict__:
            self.store.dispose()
        if "docker" in self.__dict__:
            self.docker.close()
        if "bus_redis" in self.__dict__:
            self.bus_redis.close()

    @cached_property
    def store(self) -> Store:
        return Store.open(self.settings, check=False)

    @cached_property
    def docker(self) -> docker.DockerClient:
        return docker_client(self.settings.docker_timeout_s)

    @cached_property
    def engine_id(self) -> str:
        """The Docker engine's id: what workers sharing an engine share (slots, pulls)."""
        return self.docker.info()["ID"]

    @cached_property
    def sandbox_limits(self) -> SandboxLimits:
        """This host's limits on task containers (memory, CPUs, how many at once)."""
        settings = self.settings
        slots = None
        if settings.max_containers:
            # Nothing of a job outlasts its time limit: not a slot held, not a wait for one.
            slots = ContainerSlots(self.bus_redis, self.engine_id, settings.max_containers,
                                   hold_s=settings.job_timeout_s, wait_s=settings.job_timeout_s)
        return SandboxLimits(settings.container_memory, settings.container_cpus, slots)

    @cached_property
    def bus_redis(self) -> redis.Redis:
        """The agents' message bus. No socket timeout: ``send_message --wait`` blocks."""
        return redis.Redis.from_url(self.settings.resolved_bus_url)
