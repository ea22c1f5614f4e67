"""One job as the store holds it: its run, its features, the image it runs, its containers' labels."""

from dataclasses import dataclass

from sqlalchemy import select

from coopbench.dataset.images import image_name
from coopbench.errors import ConfigError
from coopbench.job.setting import SettingRow, assignments, setting_row
from coopbench.sandbox.containers import Network
from coopbench.store import Artifact, Job, Run, Store, TaskFeature
from coopbench.store.engine import host_name


@dataclass(frozen=True)
class JobSpec:
    job: Job
    run: Run
    features: dict[int, TaskFeature]
    # Set once this host has the run's bytes for the image (``coopbench.job.image``).
    resolved_image: str | None = None  # their local image id
    image_digest: str | None = None  # the run's pin: registry digest, or the id of a build

    @property
    def feature_ids(self) -> tuple[int, ...]:
        """The job's features, in the order its agents are given them."""
        return tuple(self.job.features)

    @property
    def setting(self) -> SettingRow:
        return setting_row(self.job.setting)

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
    """The agents' patches of an attempt, by feature id (solo: every id, the one patch)."""
    with store.session() as session:
        texts = {a.name: a.text for a in session.scalars(
            select(Artifact).where(Artifact.attempt_id == attempt_id,
                                   Artifact.evaluation_id.is_(None),
                                   Artifact.name.like("%.patch")))}
    return {fid: texts.get(f"{a.agent_id}.patch", "")
            for a in assignments(spec.job.setting, spec.feature_ids) for fid in a.feature_ids}
