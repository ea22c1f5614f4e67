"""Container cleanup on the real Docker engine: what a dead or cut-off attempt left behind
goes, what a live attempt uses stays."""

import re
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from coopbench.job.setting import AGENT_SETTINGS
from coopbench.sandbox.cleanup import remove_orphans
from coopbench.store import Attempt, Evaluation, EvaluationState, Job, JobState, Store, utcnow
from coopbench.store.claims import claim_job
from scheduler.enqueue import enqueue_run
from tests.conftest import BASE_IMAGE
from tests.faults.conftest import ledger_request
from tests.support.containers import run_containers

pytestmark = pytest.mark.docker


@pytest.fixture
def labelled(docker_client):
    """Creates idle containers labelled as a job's; removes any left at the end."""
    made = []

    def create(run: str, job_id: str, attempt: str, start: bool = True) -> str:
        name = f"cleanup-test-{uuid.uuid4().hex[:10]}"
        container = docker_client.containers.create(
            BASE_IMAGE, entrypoint=["sleep", "infinity"], command=[], name=name,
            network_mode="none", labels={
                "coopbench.run": run, "coopbench.job": job_id, "coopbench.attempt": attempt,
                "coopbench.host": "test-host", "coopbench.worker": "test-worker",
                "coopbench.role": "agent1"})
        if start:
            container.start()
        made.append(container)
        return name

    yield create
    for container in made:
        try:
            container.remove(force=True)
        except Exception:
            pass


def names_of(docker_client, run: str) -> set[str]:
    return set(run_containers(docker_client, run))


def test_cleanup_removes_what_no_live_attempt_owns(settings, queue, docker_client, labelled):
    run = f"cleanup-{queue[-8:]}"
    request = ledger_request(run, "never-pulled-{slug}:task{task_id}", [(1, 2), (1, 3)],
                             list(AGENT_SETTINGS))
    enqueue_run(settings, request)
    done, expired, retaken, live, eval_expired, eval_live = [job.job_id for job in request.jobs()]
    store = Store(settings.database_url)
    now = utcnow()

    assert claim_job(store, expired, "dead-worker", lease_s=0.3)
    assert claim_job(store, retaken, "dead-worker", lease_s=0.3)
    live_claim = claim_job(store, live, "live-worker", lease_s=60)
    time.sleep(0.5)
    assert claim_job(store, retaken, "new-worker", lease_s=60).attempt_number == 2
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id.in_([done, eval_expired, eval_live]))
                        .values(state=JobState.done, finished_at=now))
        attempts = {j: Attempt(job_id=j, number=1, fencing_token=1, host="h", worker="w",
                               state="done", started_at=now, finished_at=now)
                    for j in (eval_expired, eval_live)}
        session.add_all(attempts.values())
        session.flush()
        for job_id, lease in ((eval_expired, now - timedelta(seconds=1)),
                              (eval_live, now + timedelta(seconds=60))):
            # standalone evaluations (`coopbench evaluate`) of finished jobs, on their own lease
            session.add(Evaluation(job_id=job_id, number=1, attempt_id=attempts[job_id].id,
                                   state=EvaluationState.running, test_filter="extended",
                                   fencing_token=1, lease_expires_at=lease, requested_at=now,
                                   started_at=now))
        # the live job's own evaluation stage, under the job's claim (token 0)
        session.add(Evaluation(job_id=live, number=1, attempt_id=live_claim.attempt_id,
                               state=EvaluationState.running, test_filter="extended",
                               requested_at=now, started_at=now))
        # an evaluation stage of the live job that an earlier claim abandoned
        session.add(Evaluation(job_id=live, number=2, attempt_id=live_claim.attempt_id,
                               state=EvaluationState.abandoned, test_filter="extended",
                               requested_at=now, started_at=now, finished_at=now))

    stale = {
        labelled(run, done, "1"),
        labelled(run, done, "e1", start=False),  # created, never started: any state goes
        labelled(run, expired, "1"),
        labelled(run, retaken, "1"),
        labelled(run, live, "e2"),
        labelled(run, eval_expired, "e1"),
    }
    kept = {
        labelled(run, retaken, "2"),
        labelled(run, live, "1"),
        labelled(run, live, "e1"),
        labelled(run, eval_live, "e1"),
    }
    unknown = labelled(run, str(uuid.uuid4()), "1")  # a job of another store, perhaps
    assert names_of(docker_client, run) == stale | kept | {unknown}

    assert remove_orphans(store, docker_client, host="another-host", run=run) == []
    assert sorted(remove_orphans(store, docker_client, run=run)) == sorted(stale)
    assert names_of(docker_client, run) == kept | {unknown}
    # A job unknown to this store: only once older than the caller allows.
    assert remove_orphans(store, docker_client, run=run, unknown_min_age_s=3600) == []
    assert remove_orphans(store, docker_client, run=run, unknown_min_age_s=0) == [unknown]
    assert names_of(docker_client, run) == kept


def test_sweep_cleanup_flag_removes_a_finished_jobs_container(settings, queue, docker_client,
                                                              labelled, cli):
    run = f"cleanup-cli-{queue[-8:]}"
    request = ledger_request(run, "never-pulled-{slug}:task{task_id}", [(1, 2)],
                             list(AGENT_SETTINGS)[:2])
    enqueue_run(settings, request)
    done, live = [job.job_id for job in request.jobs()]
    store = Store(settings.database_url)
    assert claim_job(store, live, "live-worker", lease_s=60)
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == done).values(state=JobState.done))
    orphan, used = labelled(run, done, "1"), labelled(run, live, "1")

    result = cli("sweep", "--once", "--cleanup")
    assert result.returncode == 0, result.stderr
    # At least ours: the engine may hold other stores' containers old enough to go too.
    assert int(re.search(r"containers_removed=(\d+)", result.stdout).group(1)) >= 1
    assert names_of(docker_client, run) == {used}
    assert orphan not in names_of(docker_client, run)
