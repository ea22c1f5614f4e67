"""Claim, heartbeat and fenced commit: how a delivery of a job's message gets to run it.

Celery over Redis delivers a message at least once. So a delivery first *claims* its job
with one conditional UPDATE: it wins only if the job is queued, or running under a lease
that has expired. Winning bumps ``fencing_token``; every later write of that delivery
(heartbeat, result) is conditional on the token it got. A duplicate delivery, or a worker
whose lease was taken over, matches no row and changes nothing.

Every time here is the database's (``clock.db_now``, in the statement), never the host's:
hosts whose clocks disagree still agree on whose lease has expired and what is due.
"""

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update

from coopbench.errors import LeaseLost
from coopbench.periodic import PeriodicThread
from coopbench.store.clock import db_now
from coopbench.store.engine import Store, host_name, retry_on_disconnect
from coopbench.store.models import Attempt, Evaluation, Job, Run
from coopbench.store.states import AttemptState, ErrorClass, EvaluationState, JobState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    job_id: str
    token: int
    attempt_id: int
    attempt_number: int
    worker: str
    # If this worker is lost, how long after its lease ends the next attempt waits: the
    # backoff an exception's retry would get.
    lost_backoff_s: float = 0.0

    @property
    def label(self) -> str:
        return f"job {self.job_id}"

    def renew(self, store: Store, lease_s: float) -> bool:
        return renew_lease(store, self, lease_s)


WORKER_LOST = "worker lost: its lease expired before the attempt ended"
RETRY_BACKOFF_CAP_S = 600.0


def retry_delay_s(base_s: float, attempt: int, cap_s: float = RETRY_BACKOFF_CAP_S) -> float:
    """The wait before the attempt after ``attempt``: exponential, with +-50% jitter so that
    jobs failed together do not retry together."""
    return min(base_s * 2 ** (attempt - 1), cap_s) * random.uniform(0.5, 1.5)


def is_due():
    """A job's next attempt may start now (its retry's backoff, if any, is over)."""
    return or_(Job.due_at.is_(None), Job.due_at <= db_now())


def is_expired():
    """A running job whose holder's lease ran out (a lost or cut-off worker)."""
    return and_(Job.state == JobState.running, Job.lease_expires_at < db_now())


@retry_on_disconnect
def claim_job(store: Store, job_id: str, worker: str, lease_s: float,
              max_attempts: int | None = None, retry_backoff_s: float = 0.0) -> Claim | None:
    """Take the job if nobody holds it and it is due; None if it is finished, taken, not
    yet due (a retry in its backoff: the sweeper publishes it again when due), or unknown.

    A job of a run whose spent cost has reached its cost cap is not started: it is
    cancelled instead (``coopbench retry`` puts it back once the cap is raised).

    ``max_attempts`` (``infra_retries + 1``) is the one retry budget: a job whose worker was
    lost (its lease expired) after its last allowed attempt is closed ``failed_infra``
    instead of being taken again, whatever delivered its message. A lost worker's job is
    taken over only after its lease *and* its backoff (``due_at``) are over.
    """
    taken_over = is_expired()
    if max_attempts is not None:  # a lost worker's job with no attempt left is closed below
        taken_over = and_(taken_over, Job.attempts < max_attempts)
    claimable = and_(or_(Job.state == JobState.queued, taken_over), is_due())
    with store.session() as session, session.begin():
        over_cap = _over_cost_cap(session, job_id)
        if over_cap:
            session.execute(update(Job).where(Job.id == job_id, Job.state == JobState.queued)
                            .values(state=JobState.cancelled, finished_at=db_now(), error=over_cap))
            return None
        taken = session.execute(
            update(Job)
            .where(Job.id == job_id, claimable)
            .values(
                state=JobState.running,
                lease_owner=worker,
                lease_expires_at=db_now(lease_s),
                heartbeat_at=db_now(),
                fencing_token=Job.fencing_token + 1,
                attempts=Job.attempts + 1,
                started_at=db_now(),
            )
            .returning(Job.fencing_token, Job.attempts)
        ).first()
        if taken is None:
            if max_attempts is not None:  # not taken: perhaps spent (off the claim's own path)
                _close_if_spent(session, job_id, max_attempts)
            return None
        token, number = taken
        # Known only now (the attempt's number): how long a retry waits if this worker is lost.
        lost_backoff_s = retry_delay_s(retry_backoff_s, number)
        session.execute(update(Job).where(Job.id == job_id)
                        .values(due_at=db_now(lease_s + lost_backoff_s)))
        # The holder of an expired lease is gone or cut off: its attempt failed for an
        # infrastructure reason, and counted against the budget.
        _close_lost_attempt(session, job_id)
        attempt = Attempt(
            job_id=job_id, number=number, fencing_token=token, host=host_name(),
            worker=worker, state=AttemptState.running, started_at=db_now(),
        )
        session.add(attempt)
        session.flush()
        return Claim(job_id, token, attempt.id, number, worker, lost_backoff_s)


def _close_lost_attempt(session, job_id: str) -> None:
    session.execute(
        update(Attempt)
        .where(Attempt.job_id == job_id, Attempt.state == AttemptState.running)
        .values(state=AttemptState.failed_infra, finished_at=db_now(),
                error_class=ErrorClass.infra, error=WORKER_LOST)
    )
    close_job_evaluations(session, job_id, EvaluationState.failed_infra, WORKER_LOST)


def _close_if_spent(session, job_id: str, max_attempts: int) -> bool:
    """Close the job ``failed_infra`` if its worker was lost on its last allowed attempt
    (at once: no retry follows, so there is no backoff to wait for)."""
    closed = session.execute(
        update(Job)
        .where(Job.id == job_id, is_expired(), Job.attempts >= max_attempts)
        .values(state=JobState.failed_infra, finished_at=db_now(), lease_owner=None,
                lease_expires_at=None, due_at=None,
                error=f"{WORKER_LOST}; its {max_attempts} attempts are spent (infra_retries)")
    )
    if closed.rowcount != 1:
        return False
    _close_lost_attempt(session, job_id)
    log.warning("job %s: worker lost on its last allowed attempt; failed_infra", job_id)
    return True


@retry_on_disconnect
def close_spent_jobs(store: Store, max_attempts: int) -> list[str]:
    """Close every job whose worker was lost on its last allowed attempt (the sweeper's part
    of the budget: such a job is never published again); their ids."""
    with store.session() as session, session.begin():
        candidates = session.scalars(select(Job.id).where(
            is_expired(), Job.attempts >= max_attempts)).all()
        return [job_id for job_id in candidates if _close_if_spent(session, job_id, max_attempts)]


def _over_cost_cap(session, job_id: str) -> str | None:
    """Why the job's run may not start another job (its cost cap is spent), or None."""
    run_name, cap = session.execute(
        select(Run.name, Run.cost_cap_usd).join(Job, Job.run_name == Run.name)
        .where(Job.id == job_id)
    ).one_or_none() or (None, None)
    if not cap:
        return None
    spent = session.scalar(select(func.coalesce(func.sum(Job.cost_usd), 0.0))
                           .where(Job.run_name == run_name)) or 0.0
    if spent < cap:
        return None
    return f"run cost cap reached: ${spent:.2f} spent of ${cap:.2f}"


def close_job_evaluations(session, job_id: str, state: str, error: str) -> None:
    """End the evaluation a job's own attempt was running: it has no lease of its own (a
    standalone evaluation has, and is left alone)."""
    session.execute(
        update(Evaluation)
        .where(Evaluation.job_id == job_id, Evaluation.state == EvaluationState.running,
               Evaluation.fencing_token == 0)
        .values(state=state, finished_at=db_now(), error=error)
    )


def renew_lease(store: Store, claim: Claim, lease_s: float) -> bool:
    """Extend the lease (and the due time of a retry should this worker be lost); False if
    the claim was lost (the job was taken over or finished)."""
    with store.session() as session, session.begin():
        renewed = session.execute(
            update(Job)
            .where(Job.id == claim.job_id, Job.fencing_token == claim.token,
                   Job.state == JobState.running)
            .values(lease_expires_at=db_now(lease_s), heartbeat_at=db_now(),
                    due_at=db_now(lease_s + claim.lost_backoff_s))
        )
        return renewed.rowcount == 1


def fenced_update(session, claim: Claim, release: bool = True, **values) -> None:
    """Update the job only if our claim still holds; raise LeaseLost otherwise.

    ``release`` gives the lease up (the job is finishing); without it the job stays ours.
    """
    if release:
        values = {"due_at": None, **values, "lease_owner": None, "lease_expires_at": None}
    done = session.execute(
        update(Job)
        .where(Job.id == claim.job_id, Job.fencing_token == claim.token,
               Job.state == JobState.running)
        .values(**values)
    )
    if done.rowcount != 1:
        raise LeaseLost(f"job {claim.job_id}: claim {claim.token} was taken over")


@dataclass(frozen=True)
class EvaluationClaim:
    """A standalone evaluation's claim: the same protocol as a job's, on its own row."""

    evaluation_id: int
    job_id: str
    token: int
    worker: str

    @property
    def label(self) -> str:
        return f"evaluation {self.evaluation_id} of job {self.job_id}"

    def renew(self, store: Store, lease_s: float) -> bool:
        with store.session() as session, session.begin():
            renewed = session.execute(
                update(Evaluation)
                .where(Evaluation.id == self.evaluation_id, Evaluation.fencing_token == self.token,
                       Evaluation.state == EvaluationState.running)
                .values(lease_expires_at=db_now(lease_s))
            )
            return renewed.rowcount == 1


@retry_on_disconnect
def claim_evaluation(store: Store, evaluation_id: int, worker: str,
                     lease_s: float) -> EvaluationClaim | None:
    """Take a queued evaluation (or one whose holder's lease expired); None otherwise."""
    claimable = or_(
        Evaluation.state == EvaluationState.queued,
        and_(Evaluation.state == EvaluationState.running, Evaluation.lease_expires_at < db_now()),
    )
    with store.session() as session, session.begin():
        taken = session.execute(
            update(Evaluation)
            .where(Evaluation.id == evaluation_id, claimable)
            .values(state=EvaluationState.running, lease_owner=worker,
                    lease_expires_at=db_now(lease_s),
                    fencing_token=Evaluation.fencing_token + 1, started_at=db_now(),
                    host=host_name(), worker=worker)
        )
        if taken.rowcount != 1:
            return None
        job_id, token = session.execute(
            select(Evaluation.job_id, Evaluation.fencing_token)
            .where(Evaluation.id == evaluation_id)
        ).one()
        return EvaluationClaim(evaluation_id, job_id, token, worker)


def fenced_evaluation_update(session, claim: EvaluationClaim, **values) -> None:
    done = session.execute(
        update(Evaluation)
        .where(Evaluation.id == claim.evaluation_id, Evaluation.fencing_token == claim.token,
               Evaluation.state == EvaluationState.running)
        .values(lease_owner=None, lease_expires_at=None, **values)
    )
    if done.rowcount != 1:
        raise LeaseLost(f"{claim.label}: claim {claim.token} was taken over")


class Heartbeat:
    """Renews a claim's lease every third of its length, in a background thread.

    ``lost`` is set when a renewal finds the claim gone; the job runner checks it.
    """

    def __init__(self, store: Store, claim: Claim, lease_s: float,
                 on_lost: Callable[[], None] | None = None):
        self.store, self.claim, self.lease_s = store, claim, lease_s
        self.on_lost = on_lost  # e.g. stop the job's containers at once (a cancel, a takeover)
        self.lost = threading.Event()
        # claim: a Claim or an EvaluationClaim
        self._thread = PeriodicThread(f"heartbeat-{claim.job_id[:8]}", lease_s / 3, self._beat)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._thread.stop(None)

    def _call_on_lost(self) -> None:
        try:
            if self.on_lost is not None:
                self.on_lost()
        except Exception:  # stopping containers is best effort; the cleanup sweeps the rest
            log.exception("%s: stopping after the lease was lost failed", self.claim.label)

    def _beat(self) -> bool:
        """One renewal; False (the end of the heartbeat) once the claim is gone. A database
        blip raises, is logged, and the next renewal tries again until the lease runs out."""
        if self.claim.renew(self.store, self.lease_s):
            return True
        log.warning("%s: lease lost", self.claim.label)
        self.lost.set()
        self._call_on_lost()
        return False
