"""Writing what a job's stages produced, each in one transaction that commits only if the
writer's claim still holds (see ``claims``).

A job has two stages. The agents' stage ends with ``record_agents``: their runs, patches and
trajectories are kept, and the job remembers that attempt, so that no retry or
re-evaluation ever runs (and pays for) the agents again. The evaluation stage ends with
``record_job_evaluated`` (inside the job) or ``record_evaluation_done`` (a standalone
``coopbench evaluate``); either makes that evaluation the job's current one.
"""

import json
import logging
from datetime import datetime

from sqlalchemy import func, select, update

from coopbench.errors import LeaseLost
from coopbench.store.claims import (
    Claim,
    EvaluationClaim,
    close_job_evaluations,
    fenced_evaluation_update,
    fenced_update,
)
from coopbench.store.clock import db_now
from coopbench.store.engine import Store, host_name, retry_on_disconnect, utcnow
from coopbench.store.eval_outcome import EvalOutcome
from coopbench.store.models import AgentRun, Artifact, Attempt, Evaluation, Job
from coopbench.store.states import AttemptState, ErrorClass, EvalStatus, EvaluationState, JobState

log = logging.getLogger(__name__)


@retry_on_disconnect
def record_agents(store: Store, claim: Claim, job_values: dict, agent_runs: list[AgentRun],
                  artifacts: dict[str, str]) -> None:
    """The agents' stage is over: keep its outcome; the job goes on (still running)."""
    now = db_now()
    with store.session() as session, session.begin():
        fenced_update(session, claim, release=False, agents_attempt_id=claim.attempt_id,
                      **job_values)
        for run in agent_runs:
            run.attempt_id = claim.attempt_id
            session.add(run)
        _add_artifacts(session, claim.job_id, claim.attempt_id, None, artifacts, now)


@retry_on_disconnect
def start_evaluation(store: Store, claim: Claim, agents_attempt_id: int, test_filter: str) -> Evaluation:
    """The evaluation row of a job's own evaluation stage, under the job's claim."""
    now = utcnow()
    with store.session() as session, session.begin():
        fenced_update(session, claim, release=False, lease_owner=claim.worker)  # still ours?
        evaluation = Evaluation(
            job_id=claim.job_id, number=next_evaluation_number(session, claim.job_id),
            attempt_id=agents_attempt_id, state=EvaluationState.running, test_filter=test_filter,
            requested_at=now, started_at=now, host=host_name(), worker=claim.worker,
        )
        session.add(evaluation)
        session.flush()
        session.expunge(evaluation)
        return evaluation


def next_evaluation_number(session, job_id: str) -> int:
    latest = session.scalar(select(func.max(Evaluation.number)).where(Evaluation.job_id == job_id))
    return (latest or 0) + 1


@retry_on_disconnect
def record_job_evaluated(store: Store, claim: Claim, evaluation: Evaluation,
                         outcome: EvalOutcome) -> None:
    """The job's evaluation stage is over, and with it the job."""
    now = db_now()
    with store.session() as session, session.begin():
        fenced_update(session, claim, state=JobState.done, finished_at=now, error=None,
                      evaluation_id=evaluation.id, **_job_outcome(outcome))
        session.execute(update(Evaluation).where(Evaluation.id == evaluation.id)
                        .values(state=EvaluationState.done, finished_at=now, **_outcome(outcome)))
        _add_evaluation_artifacts(session, evaluation, outcome, now)
        _finish_attempt(session, claim, AttemptState.done, now)


@retry_on_disconnect
def record_evaluation_done(store: Store, claim: EvaluationClaim, evaluation: Evaluation,
                           outcome: EvalOutcome) -> None:
    """A standalone evaluation is over: it becomes the job's current evaluation."""
    now = db_now()
    with store.session() as session, session.begin():
        fenced_evaluation_update(session, claim, state=EvaluationState.done, finished_at=now,
                                 **_outcome(outcome))
        _add_evaluation_artifacts(session, evaluation, outcome, now)
        # A job whose own evaluation could not run (failed_infra) is done once one has.
        session.execute(
            update(Job)
            .where(Job.id == claim.job_id, Job.state.in_([JobState.done, JobState.failed_infra]))
            .values(state=JobState.done, error=None, finished_at=now, evaluation_id=evaluation.id,
                    **_job_outcome(outcome))
        )


@retry_on_disconnect
def record_evaluation_failed(store: Store, claim: EvaluationClaim, state: EvaluationState,
                             error: str) -> None:
    try:
        with store.session() as session, session.begin():
            fenced_evaluation_update(session, claim, state=state, finished_at=db_now(), error=error)
    except LeaseLost:
        log.warning("%s: failed after its claim was taken over: %s", claim.label, error)


@retry_on_disconnect
def record_done(store: Store, claim: Claim, job_values: dict, artifacts: dict[str, str]) -> None:
    """A one-stage job (the gold check) is over."""
    now = db_now()
    with store.session() as session, session.begin():
        fenced_update(session, claim, state=JobState.done, finished_at=now, error=None, **job_values)
        _add_artifacts(session, claim.job_id, claim.attempt_id, None, artifacts, now)
        _finish_attempt(session, claim, AttemptState.done, now)


@retry_on_disconnect
def record_failed(store: Store, claim: Claim, state: JobState, error_class: ErrorClass, error: str,
                  artifacts: dict[str, str] | None = None) -> None:
    """The attempt failed; ``artifacts`` are what it leaves as evidence (kept with it)."""
    now = db_now()
    _close_failed_attempt(store, claim, now, state, error_class, error, artifacts,
                          state=state, finished_at=now)


@retry_on_disconnect
def record_retry(store: Store, claim: Claim, error: str, delay_s: float,
                 artifacts: dict[str, str] | None = None) -> bool:
    """The attempt failed for an infrastructure reason and the job has retries left: it goes
    back to queued, due ``delay_s`` from now (the sweeper publishes it then), the failed
    attempt kept with its evidence. False if the claim was gone (cancelled, taken over):
    nothing to re-queue then."""
    return _close_failed_attempt(store, claim, db_now(), AttemptState.failed_infra,
                                 ErrorClass.infra, error, artifacts, state=JobState.queued,
                                 published_at=None, due_at=db_now(delay_s))


def _close_failed_attempt(store: Store, claim: Claim, now: datetime, attempt_state: str,
                          error_class: str, error: str, artifacts: dict[str, str] | None,
                          **job_values) -> bool:
    """Close the attempt with its evidence and set the job's ``job_values``, under our claim;
    False (the attempt closed as abandoned) if the claim was gone."""
    try:
        with store.session() as session, session.begin():
            fenced_update(session, claim, error=error, **job_values)
            _finish_attempt(session, claim, attempt_state, now, error_class, error)
            _add_artifacts(session, claim.job_id, claim.attempt_id, None, artifacts or {}, now)
            close_job_evaluations(session, claim.job_id, EvaluationState.failed_infra, error)
        return True
    except LeaseLost:
        _abandon(store, claim, error)  # not the retrying wrapper: our caller's retry covers it
        return False


@retry_on_disconnect
def record_abandoned(store: Store, claim: Claim, reason: str) -> None:
    """Our claim was taken over: close our attempt, leave the job to its new holder."""
    _abandon(store, claim, reason)


def _abandon(store: Store, claim: Claim, reason: str) -> None:
    with store.session() as session, session.begin():
        _finish_attempt(session, claim, AttemptState.abandoned, db_now(), ErrorClass.infra, reason)


def _outcome(outcome: EvalOutcome) -> dict:
    return {"merge_status": outcome.merge_status, "merge_strategy": outcome.merge_strategy,
            "naive_conflict": outcome.naive_conflict, "feature_results": outcome.feature_results,
            "both_passed": outcome.both_passed, "error": outcome.error}


def _job_outcome(outcome: EvalOutcome) -> dict:
    return {"eval_status": EvalStatus.error if outcome.error else EvalStatus.done,
            "both_passed": outcome.both_passed, "merge_status": outcome.merge_status}


def _add_evaluation_artifacts(session, evaluation: Evaluation, outcome: EvalOutcome, now) -> None:
    files = {"eval.json": _dumps(outcome.eval_json)}
    prefixed = {evaluation_artifact_name(evaluation.number, name): text for name, text in files.items()}
    _add_artifacts(session, evaluation.job_id, evaluation.attempt_id, evaluation.id, prefixed, now)


def evaluation_artifact_name(number: int, name: str) -> str:
    return f"eval/{number}/{name}"


def _add_artifacts(session, job_id: str, attempt_id: int, evaluation_id: int | None,
                   artifacts: dict[str, str], now) -> None:
    for name, text in artifacts.items():
        data, size = Artifact.compress(text)
        session.add(Artifact(job_id=job_id, attempt_id=attempt_id, evaluation_id=evaluation_id,
                             name=name, data_gz=data, size_bytes=size, created_at=now))


def _finish_attempt(session, claim: Claim, state: str, now, error_class=None, error=None) -> None:
    session.execute(
        update(Attempt)
        .where(Attempt.id == claim.attempt_id)
        .values(state=state, finished_at=now, error_class=error_class, error=error)
    )


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, default=str)
