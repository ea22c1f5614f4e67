"""``coopbench evaluate``: queue new evaluations of a run's finished agents, one Celery
message per pair, without running any agent again.

As with enqueue, rows are committed first and published after; an evaluation committed but
not published is published by the next ``evaluate`` of the run.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import select

from coopbench.config import Settings
from coopbench.evaluation.patches import TestFilter
from coopbench.store import Evaluation, EvaluationState, Job, JobState, Store, utcnow
from coopbench.store.published import evaluation_task_id, publish_and_stamp
from workers.publish import Publisher

log = logging.getLogger(__name__)

PENDING = (EvaluationState.queued, EvaluationState.running)


@dataclass
class EvaluateReport:
    run: str
    test_filter: str
    requested: int = 0  # new evaluations queued
    pending: int = 0  # already queued or running, left alone
    up_to_date: int = 0  # evaluated with this filter already (use --force to redo)
    without_agents: int = 0  # no finished agents to evaluate (queued, running, failed first)
    published: int = 0


def request_evaluations(settings: Settings, run_name: str, test_filter: str | None = None,
                        force: bool = False) -> EvaluateReport:
    store, publisher = Store.open(settings), Publisher(settings)
    store.check()
    publisher.check()
    store.upgrade()
    with store.session() as session, session.begin():
        run = store.require_run(session, run_name)
        wanted = test_filter or TestFilter.of_run(run.config).value
        report = EvaluateReport(run_name, wanted)
        _queue(session, run_name, wanted, force, report)
    unpublished = _unpublished(store, run_name)
    sent = publish_and_stamp(store, Evaluation, lambda: publisher.publish_evaluations(
        [(task_id, eid) for eid, task_id in unpublished]))
    report.published = len(sent)
    return report


def _queue(session, run_name: str, test_filter: str, force: bool, report: EvaluateReport) -> None:
    jobs = session.scalars(select(Job).where(Job.run_name == run_name).order_by(Job.id)).all()
    evaluations = _by_job(session, run_name)
    now = utcnow()
    for job in jobs:
        if job.agents_attempt_id is None or job.state in (JobState.queued, JobState.running):
            report.without_agents += 1
            continue
        mine = evaluations.get(job.id, [])
        if any(e.state in PENDING for e in mine):
            report.pending += 1
            continue
        current = next((e for e in mine if e.id == job.evaluation_id), None)
        if not force and current is not None and current.test_filter == test_filter:
            report.up_to_date += 1
            continue
        session.add(Evaluation(
            job_id=job.id, number=max((e.number for e in mine), default=0) + 1,
            attempt_id=job.agents_attempt_id, state=EvaluationState.queued,
            test_filter=test_filter, requested_at=now,
        ))
        report.requested += 1


def _by_job(session, run_name: str) -> dict[str, list[Evaluation]]:
    rows = session.scalars(
        select(Evaluation).join(Job, Job.id == Evaluation.job_id).where(Job.run_name == run_name)
    ).all()
    grouped: dict[str, list[Evaluation]] = {}
    for row in rows:
        grouped.setdefault(row.job_id, []).append(row)
    return grouped


def _unpublished(store: Store, run_name: str) -> list[tuple[int, str]]:
    """(evaluation id, Celery task id) of the run's queued evaluations not yet published."""
    with store.session() as session:
        rows = session.execute(
            select(Evaluation.id, Evaluation.job_id, Evaluation.number)
            .join(Job, Job.id == Evaluation.job_id)
            .where(Job.run_name == run_name, Evaluation.state == EvaluationState.queued,
                   Evaluation.published_at.is_(None))
            .order_by(Evaluation.id)
        ).all()
    return [(eid, evaluation_task_id(job_id, number)) for eid, job_id, number in rows]
