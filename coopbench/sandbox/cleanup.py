"""Removing the containers (and the networks and volumes of coop-git and team) that dead or
cut-off attempts left behind.

A container is always removed by the attempt that started it, unless that attempt's worker
died (SIGKILL, OOM, a lost host) or its claim was taken over. Containers carry
``coopbench.*`` labels (see ``JobSpec.labels``): the job, and the ``attempt``: ``"N"`` for
the job's attempt number N, ``"eN"`` for the job's evaluation number N. The store says
whether that attempt may still be running; a container is kept only when it may:

- ``"N"``: the job is ``running``, its current attempt is N and its lease has not expired;
- ``"eN"`` of a standalone evaluation (``fencing_token`` > 0): it is ``running`` under an
  unexpired lease of its own;
- ``"eN"`` of a job's own evaluation stage (``fencing_token`` 0, under the job's claim):
  it is ``running`` and so is the job, under an unexpired lease.

An expired lease is judged as the claim judges it (``lease_expires_at < now``): from then on
any delivery may take the job over, so that container's work can no longer count. This
assumes, as the claim does, host clocks that agree to well within a lease.

A container whose job this store does not know may belong to another store on the same
Docker engine (a demo next to a real run): it is removed only once older than
``unknown_min_age_s``, which callers set beyond the longest a job may run.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime

import docker
import docker.errors
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from coopbench.config import Settings
from coopbench.errors import SandboxError
from coopbench.periodic import PeriodicThread
from coopbench.sandbox.containers import LABEL_PREFIX, docker_client
from coopbench.sandbox.networks import (
    created_s,
    labelled_networks,
    labelled_volumes,
    remove_network,
    remove_volume,
)
from coopbench.store import Evaluation, EvaluationState, Job, JobState, Store
from coopbench.store.clock import database_now

log = logging.getLogger(__name__)

JOB_LABEL, ATTEMPT_LABEL = LABEL_PREFIX + "job", LABEL_PREFIX + "attempt"
HOST_LABEL, RUN_LABEL = LABEL_PREFIX + "host", LABEL_PREFIX + "run"
QUERY_CHUNK = 500  # ids per IN (...) query
# Beyond Celery's hard time limit on a job (job_timeout_s plus 120 s): no container of any
# store's job can legitimately be that old.
UNKNOWN_JOB_MARGIN_S = 600


def unknown_job_min_age_s(settings: Settings) -> float:
    """How old a container of a job unknown to the store must be before it is removed."""
    return settings.job_timeout_s + UNKNOWN_JOB_MARGIN_S


@dataclass(frozen=True)
class LabelledContainer:
    id: str
    name: str
    job_id: str
    attempt: str  # "N" or "eN"
    created_s: float  # Unix time


def remove_orphans(store: Store, docker_client: docker.DockerClient, host: str | None = None,
                   *, run: str | None = None, unknown_min_age_s: float | None = None) -> list[str]:
    """Remove this engine's coopbench containers (any state), networks and volumes that no
    live attempt owns; networks and volumes after containers, so that none is still in use.

    ``host`` and ``run`` narrow what is looked at to those labelled so. What belongs to a
    job the store does not know is removed only if ``unknown_min_age_s`` is given and it is
    older than that. Returns the names of what was removed.
    """
    labels = _label_filters(host, run)
    containers = _labelled_containers(docker_client, labels)
    networks = labelled_networks(docker_client, labels)
    volumes = labelled_volumes(docker_client, labels)
    if not containers and not networks and not volumes:
        return []
    job_ids = ({c.job_id for c in containers}
               | {item.attrs["Labels"][JOB_LABEL] for item in [*networks, *volumes]})
    jobs, evaluations = _load(store, job_ids)
    with store.session() as session:  # the claim's clock, not this host's
        now = database_now(session)
    removed = []

    def reason_for(job_id: str, attempt: str, created: float) -> str | None:
        job = jobs.get(job_id)
        if job is None:
            too_old = unknown_min_age_s is not None and time.time() - created > unknown_min_age_s
            return "its job is unknown to this store" if too_old else None
        return stale_reason(attempt, job, evaluations, now)

    for container in containers:
        reason = reason_for(container.job_id, container.attempt, container.created_s)
        if reason and _remove(docker_client, container):
            log.info("removed container %s: %s", container.name, reason)
            removed.append(container.name)
    for kind, items, remove in (("network", networks, remove_network),
                                ("volume", volumes, remove_volume)):
        for item in items:
            labels = item.attrs["Labels"]
            reason = reason_for(labels[JOB_LABEL], labels.get(ATTEMPT_LABEL, ""), created_s(item))
            if reason and remove(item):
                log.info("removed %s %s: %s", kind, item.name, reason)
                removed.append(item.name)
    return removed


def cleanup_once(settings: Settings, store: Store) -> list[str]:
    """One pass over this host's Docker engine: the names of the containers removed."""
    client = docker_client(settings.docker_timeout_s)
    try:
        return remove_orphans(store, client, unknown_min_age_s=unknown_job_min_age_s(settings))
    finally:
        client.close()


def stale_reason(attempt: str, job: Job, evaluations: dict[tuple[str, int], Evaluation],
                 now: datetime) -> str | None:
    """Why a container of ``job`` labelled ``attempt`` has no live owner; None to keep it."""
    if attempt.startswith("e") and attempt[1:].isdigit():
        number = int(attempt[1:])
        evaluation = evaluations.get((job.id, number))
        if evaluation is None:
            return f"job {job.id} has no evaluation {number}"
        if evaluation.state != EvaluationState.running:
            return f"evaluation {number} of job {job.id} is {evaluation.state}"
        if evaluation.fencing_token > 0:  # standalone, on a lease of its own (its job is finished)
            return None if _live(evaluation.lease_expires_at, now) else "its lease expired"
        return _job_attempt_reason(job, job.attempts, now)  # the job's own evaluation stage
    if not attempt.isdigit():
        return None  # not a label this version writes: not ours to judge
    return _job_attempt_reason(job, int(attempt), now)


def _job_attempt_reason(job: Job, number: int, now: datetime) -> str | None:
    if job.state != JobState.running:
        return f"job {job.id} is {job.state}"
    if number != job.attempts:
        return f"job {job.id} is on attempt {job.attempts}, not {number}"
    return None if _live(job.lease_expires_at, now) else "the job's lease expired"


def _live(lease_expires_at: datetime | None, now: datetime) -> bool:
    return lease_expires_at is not None and lease_expires_at >= now


def _label_filters(host: str | None, run: str | None) -> list[str]:
    labels = [JOB_LABEL]
    if host:
        labels.append(f"{HOST_LABEL}={host}")
    if run:
        labels.append(f"{RUN_LABEL}={run}")
    return labels


def _labelled_containers(client: docker.DockerClient, labels: list[str]) -> list[LabelledContainer]:
    # sparse: the list call's own data, no inspect per container (one may vanish meanwhile)
    found = client.containers.list(all=True, sparse=True, filters={"label": labels})
    containers = []
    for item in found:
        attrs = item.attrs
        item_labels = attrs.get("Labels") or {}
        names = attrs.get("Names") or [item.id[:12]]
        containers.append(LabelledContainer(
            id=item.id, name=names[0].lstrip("/"), job_id=item_labels[JOB_LABEL],
            attempt=item_labels.get(ATTEMPT_LABEL, ""), created_s=float(attrs.get("Created", 0)),
        ))
    return containers


def _load(store: Store,
          job_ids: set[str]) -> tuple[dict[str, Job], dict[tuple[str, int], Evaluation]]:
    ids = sorted(job_ids)
    jobs: dict[str, Job] = {}
    evaluations: dict[tuple[str, int], Evaluation] = {}
    with store.session() as session:
        for start in range(0, len(ids), QUERY_CHUNK):
            chunk = ids[start:start + QUERY_CHUNK]
            jobs.update((j.id, j) for j in session.scalars(select(Job).where(Job.id.in_(chunk))))
            evaluations.update(((e.job_id, e.number), e) for e in session.scalars(
                select(Evaluation).where(Evaluation.job_id.in_(chunk))))
    return jobs, evaluations


def _remove(client: docker.DockerClient, container: LabelledContainer) -> bool:
    try:
        client.api.remove_container(container.id, force=True)
        return True
    except docker.errors.NotFound:
        return False  # gone already: its own attempt, or another cleanup, removed it
    except docker.errors.APIError as error:  # e.g. a removal already in progress
        log.warning("could not remove container %s: %s", container.name, error)
        return False


class PeriodicCleanup:
    """``remove_orphans`` now and then every ``sweep_interval_s``, in a daemon thread.

    Each pass opens its own store and Docker connections and closes them: in a worker's
    main process, nothing stays open between passes for a forked pool process to inherit.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._thread = PeriodicThread("coopbench-cleanup", settings.sweep_interval_s, self._pass,
                                      run_first=True)

    def start(self) -> "PeriodicCleanup":
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10) -> None:
        self._thread.stop(timeout_s)

    def _pass(self) -> None:
        try:
            self.run_once()
        except (docker.errors.DockerException, SandboxError, SQLAlchemyError) as error:
            # Docker or the store away for a while: try again next time
            log.warning("container cleanup failed: %s", str(error).splitlines()[0])

    def run_once(self) -> list[str]:
        store = Store.open(self.settings, check=False)
        try:
            return cleanup_once(self.settings, store)
        finally:
            store.dispose()
