"""The sweeper: rings the doorbell again for work whose message is gone.

The store is the truth and a message only a doorbell, so nothing is lost while the store
knows what is still to do. One pass:

- a job ``queued`` whose retry came due (``due_at``: retries wait in the store, not in
  delayed messages) is published;
- a job ``running`` whose lease expired (its worker died or was cut off) and whose backoff
  is over gets a new message, unless one is already waiting in the queue: the claim lets
  the new delivery take it over; one on its last allowed attempt is closed ``failed_infra``;
- a job ``queued`` and due whose message is neither waiting in the queue nor delivered and
  unacknowledged (never published, or lost with a Redis that restarted without persistence)
  is published again;
- the same two rules for standalone evaluations (``coopbench evaluate``), whose task id is
  ``<job id>-e<number>``. A job's own evaluation stage has no message nor lease of its own
  (``fencing_token`` 0): the job's rules cover it.

Two sweepers at once are harmless: a pass holds a short Redis lock, and even without it a
second message for the same job finds it claimed and does nothing.
"""

import logging
import time
from dataclasses import dataclass
from typing import Protocol

import redis
from sqlalchemy import select

from coopbench.config import Settings
from coopbench.store import Evaluation, EvaluationState, Job, JobState, Store
from coopbench.store.claims import close_spent_jobs, is_due, is_expired
from coopbench.store.clock import db_now
from coopbench.store.published import evaluation_task_id, publish_and_stamp
from scheduler.broker_contents import KombuRedisLayout, read_broker
from workers.celeryconfig import celery_config
from workers.publish import Publisher

log = logging.getLogger(__name__)

# Redis key of the pass lock, per queue (one queue is one deployment's jobs).
LOCK_KEY = "coopbench:sweep-lock:{queue}"
LOCK_TTL_S = 120  # longer than any pass; a crashed sweeper's lock frees itself
LOOK_AGAIN_AFTER_S = 0.5  # before a job that looks lost is published again (see _sweep)


class Doorbell(Protocol):
    """What the sweeper needs of a publisher (``workers.publish.Publisher``)."""

    def publish_stored(self, store: Store, job_ids: list[str]) -> list[str]: ...

    def publish_due_retries(self, store: Store) -> list[str]: ...

    def publish_evaluations(self, evaluations: list[tuple[str, int]]) -> list[int]: ...


@dataclass
class SweepReport:
    retries_due: int = 0  # queued retries whose backoff is over
    republished_expired: int = 0  # running jobs whose lease expired
    republished_lost: int = 0  # queued jobs with no message in the broker (never sent or lost)
    evaluations_republished: int = 0  # standalone evaluations, either reason
    closed_spent: int = 0  # expired on their last allowed attempt: closed failed_infra
    skipped: bool = False  # another sweeper held the lock: this pass did nothing

    def summary(self) -> str:
        if self.skipped:
            return "skipped: another sweeper holds the lock"
        return (f"retries_due={self.retries_due} "
                f"republished_expired={self.republished_expired} "
                f"republished_lost={self.republished_lost} "
                f"evaluations_republished={self.evaluations_republished} "
                f"closed_spent={self.closed_spent}")


def sweep_pass(settings: Settings, store: Store, broker: redis.Redis) -> SweepReport:
    """One pass with the deployment's own publisher and broker layout (``coopbench sweep``)."""
    layout = KombuRedisLayout.from_options(celery_config(settings)["broker_transport_options"])
    # A fresh publisher per pass: its connection is new after a Redis restart.
    return sweep_once(store, broker, settings.queue, Publisher(settings), layout,
                      max_attempts=settings.infra_retries + 1)


def sweep_once(store: Store, broker: redis.Redis, queue: str, doorbell: Doorbell,
               layout: KombuRedisLayout | None = None,
               max_attempts: int | None = None) -> SweepReport:
    """One pass, under the sweep lock; ``skipped`` if another sweeper holds it. With
    ``max_attempts``, an expired job on its last allowed attempt is closed, not published."""
    lock = broker.lock(LOCK_KEY.format(queue=queue), timeout=LOCK_TTL_S, blocking=False)
    if not lock.acquire():
        return SweepReport(skipped=True)
    try:
        return _sweep(store, broker, queue, doorbell, layout, max_attempts)
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:  # expired meanwhile; the next pass is harmless
            log.warning("the sweep lock expired before the pass ended")


def _sweep(store: Store, broker: redis.Redis, queue: str, doorbell: Doorbell,
           layout: KombuRedisLayout | None, max_attempts: int | None) -> SweepReport:
    report = SweepReport()
    if max_attempts is not None:  # the retry budget: these are finished, not re-published
        report.closed_spent = len(close_spent_jobs(store, max_attempts))
    report.retries_due = len(doorbell.publish_due_retries(store))
    # Store first, broker second: a message consumed in between belongs to a job that is
    # then claimed (running, lease live) and is left alone by the re-check below.
    expired, queued = _expired_jobs(store), _queued_jobs(store)
    expired_evals, queued_evals = _expired_evaluations(store), _queued_evaluations(store)
    contents = read_broker(broker, queue, layout)

    lost = [jid for jid in queued if not contents.holds(jid)]
    # A message already waiting will do; one that is unacknowledged is likely the dead
    # worker's, restored only after the visibility timeout (hours), so ring again.
    expired = [jid for jid in expired if jid not in contents.waiting]
    lost, expired = _still_needing_a_message(store, lost, expired)
    if lost:
        # kombu delivers in two steps (pop from the queue, then add to the unacked hash): a
        # message read between them looks lost. It is in the hash a moment later, or its job
        # claimed or finished: look again after a pause, as a worker on a loaded host can take
        # that long between the two (seen in CI: a job published twice).
        time.sleep(LOOK_AGAIN_AFTER_S)
        again = read_broker(broker, queue, layout)
        lost, _ = _still_needing_a_message(store, [j for j in lost if not again.holds(j)], [])
    report.republished_lost = len(_publish_jobs(store, doorbell, lost))
    report.republished_expired = len(_publish_jobs(store, doorbell, expired))

    # Not re-checked: evaluations are few, and a second message finds the first's claim.
    evaluations = [(task_id, eid) for task_id, eid in queued_evals if not contents.holds(task_id)]
    evaluations += [(task_id, eid) for task_id, eid in expired_evals
                    if task_id not in contents.waiting]
    report.evaluations_republished = len(_publish_evaluations(store, doorbell, evaluations))
    if (report.republished_lost or report.republished_expired or report.evaluations_republished
            or report.closed_spent or report.retries_due):
        log.info("sweep: %s", report.summary())
    return report


def _expired_jobs(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(
            select(Job.id).where(is_expired(), is_due()).order_by(Job.lease_expires_at)))


def _queued_jobs(store: Store) -> list[str]:
    with store.session() as session:
        return list(session.scalars(
            select(Job.id).where(Job.state == JobState.queued, is_due())
            .order_by(Job.enqueued_at, Job.id)))


def _still_needing_a_message(store: Store, lost: list[str],
                             expired: list[str]) -> tuple[list[str], list[str]]:
    """Drop jobs claimed or finished while the broker was read."""
    if not lost and not expired:
        return lost, expired
    with store.session() as session:
        still_queued = set(session.scalars(
            select(Job.id).where(Job.id.in_(lost), Job.state == JobState.queued)))
        still_expired = set(session.scalars(
            select(Job.id).where(Job.id.in_(expired), is_expired())))
    return ([j for j in lost if j in still_queued], [j for j in expired if j in still_expired])


def _queued_evaluations(store: Store) -> list[tuple[str, int]]:
    with store.session() as session:
        rows = session.execute(
            select(Evaluation.id, Evaluation.job_id, Evaluation.number)
            .where(Evaluation.state == EvaluationState.queued).order_by(Evaluation.id))
        return [(evaluation_task_id(job_id, number), eid) for eid, job_id, number in rows]


def _expired_evaluations(store: Store) -> list[tuple[str, int]]:
    """Standalone evaluations (a token of their own) whose holder's lease expired."""
    with store.session() as session:
        rows = session.execute(
            select(Evaluation.id, Evaluation.job_id, Evaluation.number)
            .where(Evaluation.state == EvaluationState.running, Evaluation.fencing_token > 0,
                   Evaluation.lease_expires_at < db_now())
            .order_by(Evaluation.id))
        return [(evaluation_task_id(job_id, number), eid) for eid, job_id, number in rows]


def _publish_jobs(store: Store, doorbell: Doorbell, job_ids: list[str]) -> list[str]:
    if not job_ids:
        return []
    return publish_and_stamp(store, Job, lambda: doorbell.publish_stored(store, job_ids))


def _publish_evaluations(store: Store, doorbell: Doorbell,
                         evaluations: list[tuple[str, int]]) -> list[int]:
    if not evaluations:
        return []
    return publish_and_stamp(store, Evaluation, lambda: doorbell.publish_evaluations(evaluations))

