"""Stopping and restarting a run: ``coopbench cancel`` and ``coopbench retry``.

Cancel is a state change in the store, nothing more: queued jobs are not started (a
delivery finds them cancelled), and running ones lose their claim, so their worker's
heartbeat notices within a third of the lease and stops their containers at once.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import select, update

from coopbench.config import Settings
from coopbench.store import Evaluation, EvaluationState, Job, JobState, Store, utcnow
from coopbench.store.claims import is_due
from coopbench.store.published import publish_and_stamp
from workers.publish import Publisher

log = logging.getLogger(__name__)

RETRYABLE = (JobState.failed, JobState.failed_infra, JobState.cancelled)


@dataclass
class ControlReport:
    run: str
    jobs: int = 0  # jobs changed
    evaluations: int = 0
    published: int = 0


def cancel_run(settings: Settings, run_name: str) -> ControlReport:
    store = _open(settings)
    now = utcnow()
    with store.session() as session, session.begin():
        run = store.require_run(session, run_name)
        run.cancelled_at = now
        jobs = session.execute(
            update(Job)
            .where(Job.run_name == run_name, Job.state.in_([JobState.queued, JobState.running]))
            .values(state=JobState.cancelled, finished_at=now, error="cancelled by coopbench cancel",
                    lease_owner=None, lease_expires_at=None)
        ).rowcount
        evaluations = session.execute(
            update(Evaluation)
            .where(Evaluation.job_id.in_(select(Job.id).where(Job.run_name == run_name)),
                   Evaluation.state.in_([EvaluationState.queued, EvaluationState.running]))
            .values(state=EvaluationState.cancelled, finished_at=now,
                    error="cancelled by coopbench cancel", lease_owner=None, lease_expires_at=None)
        ).rowcount
    return ControlReport(run_name, jobs, evaluations)


def retry_run(settings: Settings, run_name: str, failed_infra_only: bool = False,
              cost_cap_usd: float | None = None) -> ControlReport:
    """Put failed, failed_infra and cancelled jobs (or only failed_infra ones) back in the
    queue and publish them. Earlier attempts and their evidence stay; a job whose agents
    finished is only evaluated again."""
    store = _open(settings)
    publisher = Publisher(settings)
    publisher.check()
    states = [JobState.failed_infra] if failed_infra_only else list(RETRYABLE)
    now = utcnow()
    with store.session() as session, session.begin():
        run = store.require_run(session, run_name)
        run.cancelled_at = None
        if cost_cap_usd is not None:
            run.cost_cap_usd = cost_cap_usd or None  # 0 lifts the cap
        report = ControlReport(run_name)
        report.jobs = session.execute(
            update(Job).where(Job.run_name == run_name, Job.state.in_(states))
            .values(state=JobState.queued, enqueued_at=now, finished_at=None, published_at=None,
                    due_at=None, error=None)
        ).rowcount
    pending = _unpublished(store, run_name)
    sent = publish_and_stamp(store, Job, lambda: publisher.publish_stored(store, pending))
    report.published = len(sent)
    return report


def _open(settings: Settings) -> Store:
    store = Store.open(settings)
    store.upgrade()
    return store


def _unpublished(store: Store, run_name: str) -> list[str]:
    with store.session() as session:
        return list(session.scalars(
            select(Job.id).where(Job.run_name == run_name, Job.state == JobState.queued,
                                 Job.published_at.is_(None), is_due())  # retries: when due
            .order_by(Job.enqueued_at, Job.id)))
