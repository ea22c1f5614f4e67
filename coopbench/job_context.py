"""What a worker needs to run one job's stage: its host's services and the job's stored spec."""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import docker
import redis
from sqlalchemy import select

from coopbench.config import Settings
from coopbench.errors import ConfigError
from coopbench.host_limits import ContainerSlots, SandboxLimits
from coopbench.images import image_name
from coopbench.jobspec import assignments
from coopbench.sandbox import Network, docker_client
from coopbench.store import Artifact, Job, Run, Store, TaskFeature
from coopbench.store.engine import host_name

log = logging.getLogger(__name__)


class Services:
    """What a job needs from its host, made once per worker process."""

    def __init__(self, settings: Settings, worker_name: str | None = None,
                 publish: Callable[[str, float], None] | None = None):
        self.settings = settings
        self.worker_name = worker_name or f"{host_name()}:{os.getpid()}"
        self._publish = publish  # (job id, countdown s): send the job's message again

    def requeue(self, job_id: str, delay_s: float) -> None:
        """Send a re-queued job's message after ``delay_s``; without a publisher (or if
        sending fails) its ``published_at`` stays empty and the sweeper sends it."""
        if self._publish is None:
            return
        try:
            self._publish(job_id, delay_s)
        except Exception:  # the broker is down: the sweeper will find the job
            log.exception("job %s: could not publish its retry; the sweeper will", job_id)

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
        return Store(self.settings.database_url)

    @cached_property
    def docker(self) -> docker.DockerClient:
        return docker_client()

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
            slots = ContainerSlots(self.bus_redis, self.engine_id, settings.max_containers,
                                   hold_s=settings.job_timeout_s)
        return SandboxLimits(settings.container_memory, settings.container_cpus, slots)

    @cached_property
    def bus_redis(self) -> redis.Redis:
        """The agents' message bus. No socket timeout: ``send_message --wait`` blocks."""
        return redis.Redis.from_url(self.settings.resolved_bus_url)


@dataclass(frozen=True)
class JobSpec:
    job: Job
    run: Run
    features: dict[int, TaskFeature]
    # Set once this host has the run's bytes for the image (``images.resolve``).
    resolved_image: str | None = None  # their local image id
    image_digest: str | None = None  # the run's pin: registry digest, or the id of a build

    @property
    def pair(self) -> tuple[int, int]:
        return tuple(self.job.features)  # type: ignore[return-value]

    @property
    def image_name(self) -> str:
        return image_name(self.run.image_template, self.job.repo, self.job.task_id)

    @property
    def image(self) -> str:
        """What containers start from: the resolved image's id, else (unresolved) its name."""
        return self.resolved_image or self.image_name

    @property
    def sandbox_network(self) -> Network:
        """The network of the run's agent and evaluation containers."""
        return Network.of_run(self.run.config)

    def labels(self, attempt: str, role: str, worker: str) -> dict[str, str]:
        """Container labels: what the cleanup and a person at ``docker ps`` need to know."""
        return {"run": self.run.name, "job": self.job.id, "attempt": attempt,
                "host": host_name(), "worker": worker, "role": role}

    def container_name(self, attempt: str, role: str) -> str:
        return f"coopbench-{self.job.id[:8]}-{attempt}-{role}"


def load_job_spec(store: Store, job_id: str) -> JobSpec:
    with store.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise ConfigError(f"job {job_id} is not in the store {store.safe_url}")
        run = job.run
        rows = session.scalars(
            select(TaskFeature).where(
                TaskFeature.run_name == run.name, TaskFeature.repo == job.repo,
                TaskFeature.task_id == job.task_id, TaskFeature.feature_id.in_(job.features),
            )
        ).all()
    return JobSpec(job, run, {row.feature_id: row for row in rows})


def stored_patches(store: Store, spec: JobSpec, attempt_id: int) -> dict[int, str]:
    """The agents' patches of an attempt, by feature id (solo: both ids, the one patch)."""
    with store.session() as session:
        texts = {a.name: a.text for a in session.scalars(
            select(Artifact).where(Artifact.attempt_id == attempt_id,
                                   Artifact.evaluation_id.is_(None),
                                   Artifact.name.like("%.patch")))}
    return {fid: texts.get(f"{a.agent_id}.patch", "")
            for a in assignments(spec.job.setting, spec.pair) for fid in a.feature_ids}
