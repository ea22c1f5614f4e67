"""Claims on a real store (SQLite and PostgreSQL): one winner, leases, fencing."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from coopbench.errors import LeaseLost
from coopbench.store import Attempt, Job, JobState, Run, utcnow
from coopbench.store.claims import (
    WORKER_LOST,
    Heartbeat,
    claim_job,
    close_spent_jobs,
    fenced_update,
    renew_lease,
)
from coopbench.store.clock import database_now
from coopbench.store.published import take_due_retries
from coopbench.store.results import record_retry


def _add_job(store, job_id="job-1"):
    with store.session() as session, session.begin():
        session.add(Run(name="r", created_at=utcnow(), dataset="d", agent="oracle", model=None,
                        settings=["solo"], step_limit=1, cost_limit_usd=0, image_template="t",
                        config={}))
        session.add(Job(id=job_id, run_name="r", repo="x_task", task_id=1, features=[1, 2],
                        setting="solo", state=JobState.queued, enqueued_at=utcnow()))
    return job_id


def test_only_one_of_many_concurrent_claims_wins(store):
    job_id = _add_job(store)
    with ThreadPoolExecutor(8) as pool:
        claims = list(pool.map(lambda i: claim_job(store, job_id, f"w{i}", 60), range(8)))
    winners = [c for c in claims if c is not None]
    assert len(winners) == 1
    with store.session() as session:
        job = session.get(Job, job_id)
        assert (job.state, job.fencing_token, job.attempts) == ("running", 1, 1)
        assert job.lease_owner == winners[0].worker
        assert len(session.scalars(select(Attempt)).all()) == 1


def test_expired_lease_is_taken_over_and_fences_the_old_holder(store):
    job_id = _add_job(store)
    first = claim_job(store, job_id, "w1", lease_s=0.2)
    assert claim_job(store, job_id, "w2", lease_s=60) is None  # lease still valid
    time.sleep(0.4)
    second = claim_job(store, job_id, "w2", lease_s=60)
    assert second is not None and second.token == first.token + 1
    assert not renew_lease(store, first, 60)  # the old holder's heartbeat finds it gone
    with store.session() as session, session.begin(), pytest.raises(LeaseLost):
        fenced_update(session, first, state=JobState.done)
    with store.session() as session, session.begin():
        fenced_update(session, second, state=JobState.done)
    with store.session() as session:
        states = [a.state for a in session.scalars(select(Attempt).order_by(Attempt.number))]
        assert states == ["failed_infra", "running"]  # a lost worker: counted, and said
        assert session.get(Job, job_id).state == JobState.done


def test_a_job_whose_worker_keeps_dying_ends_failed_infra_after_its_budget(store):
    """Every path to a new attempt counts: here each claim's worker is lost (its lease
    runs out), as when a job kills its worker; the claim that would start attempt
    ``max_attempts + 1`` closes the job instead."""
    job_id = _add_job(store)
    for number in (1, 2, 3):
        claim = claim_job(store, job_id, f"w{number}", lease_s=0.05, max_attempts=3)
        assert claim is not None and claim.attempt_number == number
        time.sleep(0.1)
    assert claim_job(store, job_id, "w4", lease_s=60, max_attempts=3) is None
    assert claim_job(store, job_id, "w5", lease_s=60, max_attempts=3) is None  # and never again
    with store.session() as session:
        job = session.get(Job, job_id)
        attempts = session.scalars(select(Attempt).order_by(Attempt.number)).all()
    assert (job.state, job.attempts, job.lease_owner) == ("failed_infra", 3, None)
    assert "3 attempts are spent" in job.error
    assert [(a.state, a.error_class, a.error) for a in attempts] == [
        ("failed_infra", "infra", WORKER_LOST)] * 3


def test_the_sweeper_closes_a_spent_job_instead_of_ringing_for_it(store):
    spent, young = _add_job(store, "spent"), "young"
    with store.session() as session, session.begin():
        session.add(Job(id=young, run_name="r", repo="x_task", task_id=1, features=[1, 3],
                        setting="solo", state=JobState.queued, enqueued_at=utcnow()))
    for worker in ("w1", "w2"):  # "spent": two attempts, both workers lost
        assert claim_job(store, spent, worker, lease_s=0.05, max_attempts=2)
        time.sleep(0.1)
    assert claim_job(store, young, "w1", lease_s=0.05, max_attempts=2)
    time.sleep(0.1)
    assert close_spent_jobs(store, max_attempts=2) == [spent]  # "young" has a retry left
    with store.session() as session:
        assert {j.id: j.state for j in session.scalars(select(Job))} == {
            spent: "failed_infra", young: "running"}


def test_finished_job_is_never_claimed_again(store):
    job_id = _add_job(store)
    claim = claim_job(store, job_id, "w1", 60)
    with store.session() as session, session.begin():
        fenced_update(session, claim, state=JobState.done)
    assert claim_job(store, job_id, "w2", 60) is None


def test_heartbeat_keeps_the_lease_alive_and_notices_loss(store):
    job_id = _add_job(store)
    claim = claim_job(store, job_id, "w1", lease_s=0.6)
    with Heartbeat(store, claim, lease_s=0.6) as heartbeat:
        time.sleep(1.5)  # longer than the lease: only renewals keep it
        assert claim_job(store, job_id, "w2", 60) is None
        with store.session() as session, session.begin():  # someone else takes the job over
            session.execute(update(Job).values(fencing_token=Job.fencing_token + 1))
        assert heartbeat.lost.wait(2)


def test_a_lost_workers_job_waits_its_backoff_after_the_lease(store):
    """Taken over only once the lease *and* the backoff a retry would get are over."""
    job_id = _add_job(store)
    first = claim_job(store, job_id, "w1", lease_s=0.2, retry_backoff_s=1.0)
    assert 0.5 <= first.lost_backoff_s <= 1.5  # the first retry's backoff, +-50 %
    assert renew_lease(store, first, 0.2)  # the heartbeat moves the due time with the lease
    expired_at = time.monotonic() + 0.2
    while claim_job(store, job_id, "w2", lease_s=60) is None:
        time.sleep(0.05)
    waited = time.monotonic() - expired_at
    assert waited >= first.lost_backoff_s - 0.1, waited
    assert waited < first.lost_backoff_s + 1.0, waited


def test_a_retry_is_due_in_the_store_and_published_once(store):
    """record_retry puts the job back with a due time: no claim before it, one pass of
    take_due_retries after it (a second pass, or another worker's, finds nothing)."""
    job_id = _add_job(store)
    claim = claim_job(store, job_id, "w1", lease_s=60)
    assert record_retry(store, claim, "InfraError: docker away", delay_s=1.0)
    assert take_due_retries(store) == []
    assert claim_job(store, job_id, "w2", lease_s=60) is None  # an early message does nothing
    time.sleep(1.1)
    with ThreadPoolExecutor(4) as pool:  # four workers' passes at once
        taken = list(pool.map(lambda _: take_due_retries(store), range(4)))
    assert sorted(map(len, taken)) == [0, 0, 0, 1] and taken[taken.index([job_id])] == [job_id]
    second = claim_job(store, job_id, "w2", lease_s=60)
    assert second is not None and second.attempt_number == 2


def test_leases_are_the_databases_clock_not_the_hosts(store, monkeypatch):
    """A host whose clock is an hour off neither takes a live lease nor misjudges its own:
    nothing in a claim reads the host's clock (were it still to, the skew set here would
    reach it: the claim module's own ``utcnow``, as it once imported it)."""
    import coopbench.store.claims as claims
    job_id = _add_job(store)
    claim_job(store, job_id, "w1", lease_s=60)
    skewed = utcnow() + timedelta(hours=1)
    monkeypatch.setattr(claims, "utcnow", lambda: skewed, raising=False)
    assert claim_job(store, job_id, "w2", lease_s=60) is None  # an hour ahead: still live
    with store.session() as session:
        job = session.get(Job, job_id)
        lease_left = (job.lease_expires_at - database_now(session)).total_seconds()
    assert 55 < lease_left <= 60
